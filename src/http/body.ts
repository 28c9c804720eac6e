// Request bodies at the edge: size capped before parsing, gzip-encoded bodies inflated on the thread pool under the
// same cap, the format decided from Content-Type (or sniffed when it is missing), and the rest of a body the reply
// did not wait for read and discarded, within bounds, so that the client reads the reply.
import { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { Format } from '../codecs/negotiate';
import { CLIENT_CLOSED, refuse, Reply } from './errors';

/** A body read within limits, with its format. */
export type BodyResult = { readonly text: string; readonly format: Format } | { readonly reply: Reply };

/** How much of a body the reply did not wait for is read and discarded before the connection is cut. */
export interface DrainLimits {
  /** Bytes read after the reply at most. */
  readonly maxBytes: number;
  /** Milliseconds after the reply at most. */
  readonly timeoutMs: number;
}

const tooLarge = (maxBytes: number): { reply: Reply } => ({ reply: refuse(413, `Request body larger than ${maxBytes} bytes`) });
const BAD_GZIP = { reply: refuse(400, 'Request body is not valid gzip or inflates past the size limit') } as const;
const CLOSED = { reply: CLIENT_CLOSED } as const;

/** Reads the whole body (at most `maxBytes`, also after gunzip) and decides JSON or XML. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) return tooLarge(maxBytes);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') return { reply: refuse(415, `Unsupported Content-Encoding ${encoding}`) };
  const collected = await collect(req, maxBytes);
  if (!Buffer.isBuffer(collected)) return collected;
  let raw = collected;
  if (encoding === 'gzip') {
    const inflated = await inflate(raw, maxBytes);
    if (inflated === undefined) return BAD_GZIP;
    raw = inflated;
  }
  const text = raw.toString('utf8');
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('json')) return { text, format: 'json' };
  if (type.includes('xml')) return { text, format: 'xml' };
  if (type === '' || type.startsWith('text/plain') || type.startsWith('application/octet-stream')) {
    const first = text.trimStart()[0];
    if (first === '{' || first === '[') return { text, format: 'json' };
    if (first === '<') return { text, format: 'xml' };
  }
  return { reply: refuse(415, 'Content-Type must be application/json or application/xml') };
}

// The body's bytes; or 413 past maxBytes, with the stream paused and the connection left open (the reply must reach
// the client before the rest of the body is drained); or CLIENT_CLOSED when the client went away mid-body.
function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer | { reply: Reply }> {
  if (req.destroyed) return Promise.resolve(CLOSED);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Once the body ended or the client went away, no listener of these runs again (a 'close' after the end resolves
    // nothing), so they are left to go with the request; only past the limit is the rest of the body not theirs to
    // read. No 'error' listener: a request emits 'error' only to listeners, and 'close' in any case.
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        resolve(tooLarge(maxBytes));
      } else {
        chunks.push(chunk);
      }
    };
    // Most bodies arrive in one chunk: it is used as it is, not copied (a copy is a buffer that only a full
    // collection frees, and buffers are what makes V8 collect the whole heap).
    const onEnd = (): void => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', () => resolve(CLOSED));
  });
}

// Inflates on libuv's thread pool; undefined for bad gzip or output past maxBytes.
function inflate(raw: Buffer, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => gunzip(raw, { maxOutputLength: maxBytes }, (error, out) => resolve(error ? undefined : out)));
}

/** True when `req` still has body bytes to come that no one read: a reply sent now must drain them first. */
export function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.readableEnded) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Sends `body` after the head already written, then reads and discards the rest of the request body and only then
 * ends the response. Clients that send the whole body before reading (Java's HttpURLConnection and Apache
 * HttpClient) and clients that read while sending (Node) both get the reply: closing with unread bytes in the socket
 * makes the kernel answer with a reset, and a client that meets it on a write drops the reply it has not read yet.
 * Past `limits.maxBytes` the server stops reading, so the client's sends stall while it can still read the reply;
 * `limits.timeoutMs` after the reply the connection is destroyed.
 */
export function endAfterDrain(req: IncomingMessage, res: ServerResponse, body: string | Buffer | readonly Buffer[] | undefined, limits: DrainLimits): void {
  if (isParts(body)) writeParts(res, body);
  else if (body !== undefined && body.length > 0) res.write(body);
  else res.flushHeaders();
  let drained = 0;
  const release = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
  };
  const onData = (chunk: Buffer): void => {
    drained += chunk.length;
    if (drained <= limits.maxBytes) return;
    req.off('data', onData);
    req.pause();
  };
  const onEnd = (): void => {
    clearTimeout(timer);
    release();
    res.end();
  };
  const onClose = (): void => {
    clearTimeout(timer);
    release();
  };
  const timer = setTimeout(() => {
    release();
    req.socket.destroy();
  }, limits.timeoutMs);
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
  req.resume();
}

/** Whether a body is a list of buffers (the full registry's segments) rather than one string or buffer. */
export function isParts(body: string | Buffer | readonly Buffer[] | undefined): body is readonly Buffer[] {
  return Array.isArray(body);
}

/**
 * Writes buffers one after the other without copying them into one: corked, so the socket gets them in one vectored
 * write rather than one write each.
 */
export function writeParts(res: ServerResponse, parts: readonly Buffer[]): void {
  res.cork();
  for (const part of parts) res.write(part);
  res.uncork();
}
