import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import { applyGcSettings, countExternalMemoryInHeapLimit, EXTERNAL_MEMORY_FLAG, heapGrowingFlag, NO_PRETENURING_FLAG, PRETENURING_FLAG } from '../../src/scheduling/gc-tuning';

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

describe('applyGcSettings', () => {
  const run = (flags: string[], script: string) => {
    const out = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(out.status).toBe(0);
    return out.stdout;
  };

  // A place that makes only objects that are kept: within a few young collections V8 marks it as one to pretenure
  // ("maybe tenure", then "tenure"), and says so with --trace-pretenuring-statistics.
  const pretenured = (setAtRuntime: boolean): number => {
    const stdout = run(['--trace-pretenuring', '--trace-pretenuring-statistics'], `
      ${setAtRuntime ? `require('node:v8').setFlagsFromString(${JSON.stringify(NO_PRETENURING_FLAG)});` : ''}
      const kept = [];
      function make(i) { return { i, list: [i] }; }
      for (let r = 0; r < 50; r++) for (let i = 0; i < 100000; i++) kept.push(make(i));
      process.stdout.write('kept ' + kept.length + '\\n');`);
    expect(stdout).toContain('kept 5000000');
    return stdout.split('\n').filter((line) => /=> (maybe )?tenure$/.test(line)).length;
  };

  it('stops pretenuring when set after the process started, as the command line entry sets it', () => {
    expect(pretenured(false)).toBeGreaterThan(0);
    expect(pretenured(true)).toBe(0);
  });

  it('fixes the heap growing factor when set after the process started', () => {
    // V8 says which factor it set the old generation's limit with after each full collection.
    const factors = (percent: number): string[] =>
      run(['--trace-gc-verbose'], `
        require('node:v8').setFlagsFromString(${JSON.stringify(heapGrowingFlag(percent))});
        let kept = [];
        for (let r = 0; r < 40; r++) { for (let i = 0; i < 50000; i++) kept.push({ i, s: 'x' + i }); if (r % 3 === 0) kept = kept.slice(100000); }`)
        .split('\n')
        .flatMap((line) => /\[HeapController\] factor ([\d.]+)/.exec(line)?.[1] ?? []);
    expect(new Set(factors(100))).toEqual(new Set(['2.0']));
    expect(new Set(factors(200))).toEqual(new Set(['3.0']));
  });

  it('sets the flags the settings ask for', () => {
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    try {
      applyGcSettings({ gcPretenuring: false, gcHeapGrowingPercent: 100, gcCountsExternalMemory: false }, '13.6.233.10');
      expect(set.mock.calls.map((c) => c[0])).toEqual([NO_PRETENURING_FLAG, '--heap-growing-percent=100']);
      set.mockClear();
      applyGcSettings({ gcPretenuring: true, gcHeapGrowingPercent: 0, gcCountsExternalMemory: true }, '13.6.233.10');
      expect(set.mock.calls.map((c) => c[0])).toEqual([PRETENURING_FLAG, '--heap-growing-percent=0', EXTERNAL_MEMORY_FLAG]);
    } finally {
      set.mockRestore();
    }
  });
});
