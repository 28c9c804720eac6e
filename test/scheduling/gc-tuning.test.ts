import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import { countExternalMemoryInHeapLimit, EXTERNAL_MEMORY_FLAG, NO_PRETENURING_FLAG, stopAllocationSitePretenuring } from '../../src/scheduling/gc-tuning';

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

describe('stopAllocationSitePretenuring', () => {
  // A place that makes only objects that are kept: V8 decides to pretenure it within a few young collections, and
  // says so with --trace-pretenuring-statistics.
  const script = (setAtRuntime: boolean): string => `
    ${setAtRuntime ? `require('node:v8').setFlagsFromString(${JSON.stringify(NO_PRETENURING_FLAG)});` : ''}
    const kept = [];
    const make = (i) => ({ i, list: [i] });
    for (let i = 0; i < 3000000; i++) kept.push(make(i));
    process.stdout.write('kept ' + kept.length + '\\n');`;
  const tenured = (setAtRuntime: boolean): number => {
    const run = spawnSync(process.execPath, ['--trace-pretenuring', '--trace-pretenuring-statistics', '-e', script(setAtRuntime)], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('kept 3000000');
    return run.stdout.split('\n').filter((line) => line.includes('=> tenure')).length;
  };

  it('takes effect when set after the process started, as the command line entry sets it', () => {
    expect(tenured(false)).toBeGreaterThan(0);
    expect(tenured(true)).toBe(0);
  });

  it('sets that flag', () => {
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    try {
      stopAllocationSitePretenuring();
      expect(set).toHaveBeenCalledWith(NO_PRETENURING_FLAG);
    } finally {
      set.mockRestore();
    }
  });
});
