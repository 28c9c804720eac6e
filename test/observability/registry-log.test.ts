// What the registry's events log: a line per change a server took, a peer's copy of what it already holds at debug.
import { registryEventLogger } from '../../src/observability/registry-log';
import { makeInstance } from '../helpers/instances';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { makeRegistry } from '../domain/registry-fixture';

describe('registryEventLogger', () => {
  it("logs registrations at info, and a peer's copy of an instance already held at debug", () => {
    const { registry } = makeRegistry();
    const logger = new RecordingLogger();
    registry.subscribe(registryEventLogger(logger));
    registry.register(makeInstance({ id: 'a' }));
    registry.register(makeInstance({ id: 'a' }));
    registry.register(makeInstance({ id: 'b' }), true);
    registry.register(makeInstance({ id: 'b' }), true);
    expect(logger.lines.map((l) => [l.level, l.message, l.fields?.id])).toEqual([
      ['info', 'registered', 'a'],
      ['info', 're-registered', 'a'],
      ['info', 'registered', 'b'],
      ['debug', 're-registered', 'b'],
    ]);
  });
});
