// Request bodies at the edge: size capped before parsing, gzip-encoded bodies inflated under the same cap,
// and the format decided from Content-Type (or sniffed when it is missing).
import { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Format } from '../codecs/negotiate';
import { refuse, Reply } from './errors';

/** A body read within limits, with its format. */
export type BodyResult = { readonly text: string; readonly format: Format } | { readonly reply: Reply };

/** Reads the whole body (at most `maxBytes`, also after gunzip) and decides JSON or XML. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) return { reply: refuse(413, `Request body larger than ${maxBytes} bytes`) };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return { reply: refuse(413, `Request body larger than ${maxBytes} bytes`) };
    chunks.push(chunk);
  }
  let raw = Buffer.concat(chunks, size);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'gzip') {
    try {
      raw = gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch {
      return { reply: refuse(400, 'Request body is not valid gzip or inflates past the size limit') };
    }
  } else if (encoding !== 'identity') {
    return { reply: refuse(415, `Unsupported Content-Encoding ${encoding}`) };
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
