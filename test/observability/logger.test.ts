// The server's log lines: their two formats, the level, and when they are written (at the end of the turn, errors at
// once), and a sink that fails never failing the caller.
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { createLogger, LineSink, PENDING_LIMIT } from '../../src/observability/logger';

const T = Date.parse('2026-12-03T12:55:58.136Z');
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A sink that keeps each write. */
function sink(): LineSink & { writes: string[]; lines(): string[] } {
  const writes: string[] = [];
  return { writes, write: (chunk: string) => writes.push(chunk), lines: () => writes.join('').split('\n').filter((l) => l !== '') };
}

describe('createLogger', () => {
  it('writes text lines: time, level, message, then fields as key=value with blanks and non-strings as JSON', async () => {
    const out = sink();
    const logger = createLogger({ level: 'info', format: 'text', out, now: () => T });
    logger.info('registered', { app: 'ORDERS', id: 'host 1', status: 'UP', replication: false, port: 8080, tags: { a: 1 } });
    logger.warn('no fields');
    await nextTurn();
    expect(out.lines()).toEqual([
      '2026-12-03T12:55:58.136Z INFO  registered app=ORDERS id="host 1" status=UP replication=false port=8080 tags={"a":1}',
      '2026-12-03T12:55:58.136Z WARN  no fields',
    ]);
  });

  it('writes JSON objects: timestamp, level, message, then the fields; a field named like the first three is kept under a leading _', async () => {
    const out = sink();
    const logger = createLogger({ level: 'debug', format: 'json', out, now: () => T });
    logger.debug('renewed', { app: 'ORDERS', level: 'mine', replication: true });
    logger.error('request failed', { error: 'line 1\nline 2' });
    await nextTurn();
    expect(out.lines().map((l) => JSON.parse(l))).toEqual([
      { timestamp: '2026-12-03T12:55:58.136Z', level: 'debug', message: 'renewed', app: 'ORDERS', _level: 'mine', replication: true },
      { timestamp: '2026-12-03T12:55:58.136Z', level: 'error', message: 'request failed', error: 'line 1\nline 2' },
    ]);
    expect(Object.keys(JSON.parse(out.lines()[0]))).toEqual(['timestamp', 'level', 'message', 'app', '_level', 'replication']);
  });

  it('writes an Error field as its stack, in both formats', async () => {
    const error = new Error('peer answered 500');
    const out = sink();
    createLogger({ level: 'info', format: 'json', out, now: () => T }).error('request failed', { error });
    createLogger({ level: 'info', format: 'text', out, now: () => T }).error('request failed', { error });
    await nextTurn();
    expect(JSON.parse(out.lines()[0]).error).toBe(error.stack);
    expect(out.writes.join('')).toContain(`error=${JSON.stringify(error.stack)}`);
  });

  it('writes nothing below its level', async () => {
    const out = sink();
    const logger = createLogger({ level: 'warn', format: 'text', out, now: () => T });
    logger.info('registered', { app: 'ORDERS' });
    logger.debug('request');
    logger.warn('peer is throttling replication');
    logger.error('request failed');
    await nextTurn();
    expect(out.lines().map((l) => l.slice(25))).toEqual(['WARN  peer is throttling replication', 'ERROR request failed']);
    expect(logger.debugEnabled).toBe(false);
    expect(createLogger({ level: 'debug', format: 'text', out }).debugEnabled).toBe(true);
  });

  it("writes a turn's lines in one write at its end, an error line and what came before it at once", async () => {
    const out = sink();
    const logger = createLogger({ level: 'info', format: 'text', out, now: () => T });
    logger.info('one');
    logger.info('two');
    expect(out.writes).toEqual([]);
    await nextTurn();
    expect(out.writes).toHaveLength(1);
    expect(out.lines().map((l) => l.slice(31))).toEqual(['one', 'two']);
    logger.info('three');
    logger.error('four');
    expect(out.writes).toHaveLength(2);
    expect(out.lines().map((l) => l.slice(31))).toEqual(['one', 'two', 'three', 'four']);
    await nextTurn();
    expect(out.writes).toHaveLength(2);
  });

  it('writes at once when a turn holds more than the pending limit', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', format: 'text', out, now: () => T });
    const message = 'x'.repeat(1000);
    for (let i = 0; i < PENDING_LIMIT / 1000 + 1; i++) logger.info(message);
    expect(out.writes.length).toBeGreaterThanOrEqual(1);
    expect(out.writes[0].length).toBeGreaterThanOrEqual(PENDING_LIMIT);
  });

  it('keeps the order of lines from two loggers on one sink', async () => {
    const out = sink();
    const a = createLogger({ level: 'info', format: 'text', out, now: () => T });
    const b = createLogger({ level: 'info', format: 'text', out, now: () => T });
    a.info('a1');
    b.info('b1');
    a.info('a2');
    await nextTurn();
    expect(out.lines().map((l) => l.slice(31))).toEqual(['a1', 'b1', 'a2']);
  });

  it('never throws for what JSON cannot hold, and stops writing once its sink fails', async () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const out = sink();
    const logger = createLogger({ level: 'info', format: 'json', out, now: () => T });
    expect(() => logger.info('odd fields', { cyclic, big: 10n })).not.toThrow();
    expect(() => createLogger({ level: 'info', format: 'text', out, now: () => T }).info('odd fields', { big: 10n, cyclic })).not.toThrow();
    await nextTurn();
    expect(out.lines()).toHaveLength(2);
    expect(JSON.parse(out.lines()[0])).toMatchObject({ message: 'odd fields', cyclic: '[object Object]', big: '10' });
    expect(out.lines()[1]).toContain('big="10"');

    // A stream whose reader is gone: its writes throw or it emits 'error' (EPIPE), and either stops the logging.
    const stream = Object.assign(new EventEmitter(), { writes: 0, write: () => stream.writes++ });
    const onStream = createLogger({ level: 'info', format: 'text', out: stream, now: () => T });
    onStream.error('first');
    expect(stream.writes).toBe(1);
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    onStream.error('second');
    expect(stream.writes).toBe(1);
    const throwing = { write: jest.fn(() => { throw new Error('EBADF'); }) };
    const onThrowing = createLogger({ level: 'info', format: 'text', out: throwing, now: () => T });
    expect(() => onThrowing.error('first')).not.toThrow();
    onThrowing.error('second');
    expect(throwing.write).toHaveBeenCalledTimes(1);
  });

  it('writes the lines pending when the process exits before the end of the turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logger-exit-'));
    try {
      const source = readFileSync(join(__dirname, '../../src/observability/logger.ts'), 'utf8');
      writeFileSync(join(dir, 'logger.js'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText);
      const script = "const { createLogger } = require('./logger.js'); const l = createLogger({ level: 'info', format: 'text' }); l.info('last words', { code: 2 }); process.exit(0);";
      const stdout = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(stdout).toMatch(/^\S+ INFO  last words code=2\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
