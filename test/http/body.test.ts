// readBody on in-memory requests: gzip inflated off the event loop under the cap, a body over the cap left unread
// and the stream open, a request that closes mid-body answered as "client closed".
import { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readBody } from '../../src/http/body';

/** A stand-in for an IncomingMessage: a stream with headers. */
function fakeRequest(headers: IncomingHttpHeaders): PassThrough & { headers: IncomingHttpHeaders } {
  return Object.assign(new PassThrough(), { headers });
}

const asRequest = (r: PassThrough): IncomingMessage => r as unknown as IncomingMessage;

describe('readBody', () => {
  describe('gzip', () => {
    it('inflates on the thread pool: the event loop runs other callbacks before the body is ready', async () => {
      const text = JSON.stringify({ instance: { pad: 'x'.repeat(4 * 1024 * 1024) } });
      const req = fakeRequest({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
      const events: string[] = [];
      const read = readBody(asRequest(req), 8 * 1024 * 1024).then((r) => {
        events.push('body');
        return r;
      });
      // Registered after readBody's own listener: runs once the last byte is in, before any inflation finished.
      req.on('end', () => setImmediate(() => events.push('immediate')));
      req.end(gzipSync(text));
      const result = await read;
      expect(result).toEqual({ text, format: 'json' });
      expect(events).toEqual(['immediate', 'body']);
    });

    it('answers 400 to gzip that inflates past maxBytes', async () => {
      const req = fakeRequest({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
      const read = readBody(asRequest(req), 2048);
      req.end(gzipSync('x'.repeat(100_000)));
      const result = await read;
      expect('reply' in result && result.reply.status).toBe(400);
    });

    it('answers 400 to bytes that are not gzip', async () => {
      const req = fakeRequest({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
      const read = readBody(asRequest(req), 2048);
      req.end(Buffer.from('{"not":"gzip"}'));
      const result = await read;
      expect('reply' in result && result.reply.status).toBe(400);
    });
  });

  describe('limits', () => {
    it('answers 413 past maxBytes and leaves the rest unread, the stream paused and open', async () => {
      const req = fakeRequest({ 'content-type': 'application/json' });
      const read = readBody(asRequest(req), 1024);
      req.write(Buffer.alloc(2048, 'x'));
      const result = await read;
      expect('reply' in result && result.reply.status).toBe(413);
      expect(req.destroyed).toBe(false);
      expect(req.isPaused()).toBe(true);
      expect(req.listenerCount('data')).toBe(0);
    });

    it('answers 415 to an unknown Content-Encoding without reading the body', async () => {
      const req = fakeRequest({ 'content-type': 'application/json', 'content-encoding': 'br' });
      const result = await readBody(asRequest(req), 1024);
      expect('reply' in result && result.reply.status).toBe(415);
      expect(req.listenerCount('data')).toBe(0);
    });
  });

  describe('closed requests', () => {
    it('answers 499 (client closed) when the request closes mid-body', async () => {
      const req = fakeRequest({ 'content-type': 'application/json' });
      const read = readBody(asRequest(req), 1024);
      req.write('{"instance":');
      req.destroy();
      const result = await read;
      expect('reply' in result && result.reply.status).toBe(499);
    });

    it('answers 499 when the request was already gone', async () => {
      const req = fakeRequest({ 'content-type': 'application/json' });
      req.destroy();
      const result = await readBody(asRequest(req), 1024);
      expect('reply' in result && result.reply.status).toBe(499);
    });
  });
});
