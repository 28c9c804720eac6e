// Bytes kept for a long time (cached payloads, their segments and DEFLATE pieces) get memory of their own. Node hands
// out small buffers as slices of a shared pool slab (64 KB on Node 24) and zlib returns its output as a slice of its
// 16 KB working chunk: one kept slice would keep the whole slab or chunk alive, and with it bytes that were garbage a
// moment later, in resident memory and in V8's count of external memory (which starts full collections).

/** `bytes` itself when it owns its memory exactly, else a copy that does. */
export function keep(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

/** The buffers joined into one that owns its memory; `bytes`: their total length. */
export function keptConcat(list: readonly Buffer[], bytes: number): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  for (const b of list) at += b.copy(out, at);
  return out;
}

/** Memory of its own for `bytes` bytes, to be filled and then kept. */
export const keptBuffer = (bytes: number): Buffer => Buffer.allocUnsafeSlow(bytes);
