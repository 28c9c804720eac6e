import { spawnSync } from 'node:child_process';
import { countExternalMemoryInHeapLimit, EXTERNAL_MEMORY_FLAG } from '../../src/scheduling/external-memory';

describe('countExternalMemoryInHeapLimit', () => {
  it('leaves a V8 older than 13 alone (it rejects the flag)', () => {
    expect(countExternalMemoryInHeapLimit('12.4.254.21-node.33')).toBe(false);
  });

  it('is a flag this runtime knows when its V8 is 13 or later', () => {
    const major = Number(process.versions.v8.split('.')[0]);
    // A flag V8 does not know makes node refuse to start.
    const run = spawnSync(process.execPath, [EXTERNAL_MEMORY_FLAG, '-e', '0'], { encoding: 'utf8' });
    if (major >= 13) expect(run.status).toBe(0);
    expect(countExternalMemoryInHeapLimit()).toBe(major >= 13);
  });
});
