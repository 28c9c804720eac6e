import * as tickShape from '../../src/scheduling/tick-shape';
import { holdTickShape } from '../../src/scheduling/tick-shape';
import { compose } from '../../src/server';
import { defaultSettings } from '../../src/config/settings';
import { silentLogger } from '../../src/observability/logger';
import { waitFor } from '../helpers/wait';

const isTickObject = (o: object | undefined): boolean =>
  o !== undefined &&
  typeof (o as { callback?: unknown }).callback === 'function' &&
  Object.getOwnPropertySymbols(o).some((s) => s.description === 'async_id_symbol');

describe('holdTickShape', () => {
  it('holds one of Node\'s tick objects from the first tick on', async () => {
    const hold = holdTickShape(60_000);
    try {
      expect(hold.held()).toBeUndefined();
      await waitFor(() => hold.held() !== undefined, 'a tick object held', 5_000, 5);
      expect(isTickObject(hold.held())).toBe(true);
    } finally {
      hold.stop();
    }
  });

  it('replaces it with a fresh one every period, and lets it go when stopped', async () => {
    const hold = holdTickShape(10);
    try {
      await waitFor(() => hold.held() !== undefined, 'a tick object held', 5_000, 5);
      const first = hold.held();
      await waitFor(() => hold.held() !== first, 'a fresh tick object held', 5_000, 5);
      expect(isTickObject(hold.held())).toBe(true);
    } finally {
      hold.stop();
    }
    expect(hold.held()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 30));
    expect(hold.held()).toBeUndefined();
  });
});

describe('a composed server', () => {
  it('holds a tick object while it runs and lets it go when closed', async () => {
    const spy = jest.spyOn(tickShape, 'holdTickShape');
    try {
      const server = compose({ settings: defaultSettings(), peerSet: { self: undefined, peers: [] } }, { logger: silentLogger });
      expect(spy).toHaveBeenCalledTimes(1);
      const hold = spy.mock.results[0].value as ReturnType<typeof holdTickShape>;
      await waitFor(() => hold.held() !== undefined, 'a tick object held', 5_000, 5);
      await server.close();
      expect(hold.held()).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});
