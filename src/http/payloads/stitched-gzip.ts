// One gzip member made of pieces compressed apart: raw DEFLATE pieces that end on a byte boundary (sync flush), stored
// blocks for short text, and a CRC-32 combined from the pieces' own. A piece may be compressed against the bytes that
// precede it in the stream (a preset dictionary): a decoder's window holds them, so back-references into them are valid. Several members would be shorter to write, but
// Java's GZIPInputStream (every JDK release: JDK-7036144 was fixed, then reverted) stops after a member whenever its
// source has no byte available at that instant, as a socket often has not, and so truncates silently.
import { constants, crc32 as zlibCrc32, createDeflateRaw, DeflateRaw, deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { keep, keptConcat } from '../../codecs/kept-bytes';

/** The 10-byte gzip header Node's gzip writes: deflate, no name, no time, Unix. */
export const GZIP_HEADER: Buffer = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

/** zlib's default level: the smallest output worth its time, for what is compressed once. */
export const THOROUGH_LEVEL = 6;
/**
 * The level for what a change recompresses, paid per change rather than once: zlib's fast strategy (levels 1-3) takes
 * about half the time of level 6 for 15 % more bytes on instance JSON (a 60,000-instance registry in 100-instance
 * pieces: 934 against 820 KB).
 */
export const FAST_LEVEL = 3;

const SYNC = { finishFlush: constants.Z_SYNC_FLUSH };
const MAX_STORED_BYTES = 0xffff;

/** Bytes of history a DEFLATE piece can refer to (a 32 KiB window). */
export const DEFLATE_WINDOW_BYTES = 32 * 1024;

/** `data` as DEFLATE stored blocks (no compression), the last one final when `final`. Bytes: data + 5 per 64 KiB. */
export function storedBlocks(data: Buffer, final: boolean): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / MAX_STORED_BYTES));
  const out = Buffer.allocUnsafe(data.length + 5 * blocks);
  let at = 0;
  for (let b = 0; b < blocks; b++) {
    const chunk = data.subarray(b * MAX_STORED_BYTES, (b + 1) * MAX_STORED_BYTES);
    out[at] = final && b === blocks - 1 ? 1 : 0;
    out.writeUInt16LE(chunk.length, at + 1);
    out.writeUInt16LE(~chunk.length & 0xffff, at + 3);
    at += 5 + chunk.copy(out, at + 5);
  }
  return out;
}

const options = (dictionary: Buffer | undefined, level: number): object => (dictionary === undefined ? { ...SYNC, level } : { ...SYNC, level, dictionary });

/**
 * Raw DEFLATE of `data`, not final and ending on a byte boundary, so that more pieces may follow. `dictionary`: the
 * bytes that come right before it in the stream (at most DEFLATE_WINDOW_BYTES), or none; `level`: zlib's.
 */
export function deflatePieceSync(data: Buffer, dictionary?: Buffer, level = THOROUGH_LEVEL): Buffer {
  return deflateRawSync(data, options(dictionary, level));
}

/** {@link deflatePieceSync} on the thread pool. */
export function deflatePiece(data: Buffer, dictionary?: Buffer, level = THOROUGH_LEVEL): Promise<Buffer> {
  return new Promise((resolve, reject) => deflateRaw(data, options(dictionary, level), (error, out) => (error ? reject(error) : resolve(out))));
}

/** Runs jobs (work on the thread pool) at most `limit` at once, the others in turn as those finish. */
export class Throttle {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.waiting.shift()?.();
          });
      };
      if (this.running < this.limit) start();
      else this.waiting.push(start);
    });
  }
}

/**
 * Compresses pieces as {@link deflatePieceSync} does, on a few zlib streams kept open (one queue each, at most
 * `lanesPerLevel` per zlib level) rather than a zlib stream per piece. A stream's JavaScript objects are held by its
 * native handle, so V8's young collections keep them, and the buffers they hold, until a full collection: one stream
 * per piece, on a server whose registry changes all day, is a steady stream of promoted buffers, and promoted buffers
 * are what starts V8's full collections of the whole heap. A piece after a dictionary is the dictionary written and
 * flushed (its output dropped), then the piece written and flushed from the same stream: its back-references into
 * the dictionary are valid wherever the dictionary's bytes come right before it. Output: owned memory (kept bytes).
 */
export class PieceDeflater {
  private readonly lanes = new Map<number, DeflateLane[]>();
  private readonly oneShots: Throttle;
  private closed = false;

  constructor(private readonly lanesPerLevel = 2) {
    this.oneShots = new Throttle(lanesPerLevel);
  }

  /**
   * A piece of `data` after `dictionary` (none: a first piece), at zlib `level`: on the least busy stream of the
   * level, or with `burst` on a stream of its own, `lanesPerLevel` at most at once. A stream kept open
   * takes a piece after a dictionary two writes, each a trip to the thread pool and back through the event loop's
   * stream machinery; a stream of its own takes one trip. Under a burst of changes (a failure storm: a busy event
   * loop, many pieces a document) those trips are what readers wait for (fetches p99 4 s against 11 s in one
   * storm), and buffers promoted by short-lived streams are the lesser cost.
   */
  deflate(data: Buffer, dictionary: Buffer | undefined, level: number, burst = false): Promise<Buffer> {
    if (this.closed || burst) return this.oneShots.run(() => deflatePiece(data, dictionary, level).then(keep));
    let lanes = this.lanes.get(level);
    if (lanes === undefined) this.lanes.set(level, (lanes = []));
    let lane = lanes.find((l) => l.idle);
    if (lane === undefined && lanes.length < this.lanesPerLevel) lanes.push((lane = new DeflateLane(level)));
    lane ??= lanes.reduce((a, b) => (b.load < a.load ? b : a));
    return lane.push(data, dictionary);
  }

  /** Closes the streams once their queues are done; later pieces are compressed one stream each. */
  close(): void {
    this.closed = true;
    for (const lanes of this.lanes.values()) for (const lane of lanes) lane.close();
    this.lanes.clear();
  }
}

interface DeflateJob {
  readonly data: Buffer;
  readonly dictionary: Buffer | undefined;
  readonly resolve: (out: Buffer) => void;
  readonly reject: (error: unknown) => void;
}

// Output buffer of a deflater's stream: a piece's compressed bytes in one chunk (zlib takes a trip to the thread pool
// per chunk it fills).
const OUTPUT_CHUNK_BYTES = 64 * 1024;

// One zlib stream and the pieces waiting for it, compressed one after the other.
class DeflateLane {
  private stream: DeflateRaw | undefined;
  private chunks: Buffer[] = [];
  private readonly queue: DeflateJob[] = [];
  private current: DeflateJob | undefined;
  private closing = false;

  constructor(private readonly level: number) {}

  get idle(): boolean {
    return this.current === undefined;
  }

  get load(): number {
    return this.queue.length + (this.current === undefined ? 0 : 1);
  }

  push(data: Buffer, dictionary: Buffer | undefined): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ data, dictionary, resolve, reject });
      if (this.current === undefined) this.next();
    });
  }

  close(): void {
    this.closing = true;
    if (this.current === undefined) this.stream?.destroy();
  }

  private next(): void {
    const job = this.queue.shift();
    this.current = job;
    if (job === undefined) {
      if (this.closing) this.stream?.destroy();
      return;
    }
    const stream = this.open();
    stream.reset();
    this.chunks = [];
    // Each write is compressed and sync-flushed in one trip to the thread pool. The dictionary's callback comes before
    // any output of the piece, which takes a trip of its own after it.
    if (job.dictionary !== undefined && job.dictionary.length > 0) {
      stream.write(job.dictionary, () => {
        if (this.current === job) this.chunks = [];
      });
    }
    stream.write(job.data, () => {
      if (this.current !== job) return;
      let bytes = 0;
      for (const c of this.chunks) bytes += c.length;
      const out = keptConcat(this.chunks, bytes);
      this.chunks = [];
      job.resolve(out);
      this.next();
    });
  }

  private open(): DeflateRaw {
    if (this.stream !== undefined) return this.stream;
    // Pieces are at most a few tens of KB compressed: one output chunk each, one trip to the pool per write.
    const stream = createDeflateRaw({ level: this.level, flush: constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK_BYTES });
    stream.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    stream.on('error', (error: unknown) => {
      // The job under way fails, the stream is dropped, and the queue goes on with a new one.
      if (this.stream === stream) this.stream = undefined;
      stream.destroy();
      const job = this.current;
      this.current = undefined;
      this.chunks = [];
      job?.reject(error);
      this.next();
    });
    this.stream = stream;
    return stream;
  }
}

const inflateOptions = (dictionary: Buffer | undefined): object => (dictionary === undefined ? SYNC : { ...SYNC, dictionary });

/**
 * What a piece decodes to: its stored blocks' bytes, then what {@link deflatePieceSync} compressed. `dictionary`: the
 * bytes the decoder holds before the piece (those it was compressed against, less any its stored blocks write).
 */
export function inflatePieceSync(piece: Buffer, dictionary?: Buffer): Buffer {
  return inflateRawSync(piece, inflateOptions(dictionary));
}

/** {@link inflatePieceSync} on the thread pool. */
export function inflatePiece(piece: Buffer, dictionary?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => inflateRaw(piece, inflateOptions(dictionary), (error, out) => (error ? reject(error) : resolve(out))));
}

/** The 8-byte gzip trailer: CRC-32 and length (mod 2^32) of the uncompressed bytes. */
export function gzipTrailer(crc: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(bytes % 0x1_0000_0000, 4);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// CRC-32 (the gzip polynomial), and combining two CRCs without the bytes (zlib's crc32_combine_gen / _op).

const POLY = 0xedb88320;
let table: Uint32Array | undefined;

/** CRC-32 of `data` continuing from `value`, in JavaScript: for Node before 20.15, which has no zlib.crc32 (slower). */
export function crc32Portable(data: Buffer, value: number): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `data`, continuing from `value` (the CRC of what came before; 0 to start). */
export const crc32: (data: Buffer, value?: number) => number =
  typeof zlibCrc32 === 'function' ? (data, value = 0) => zlibCrc32(data, value) : (data, value = 0) => crc32Portable(data, value);

// a × b modulo the CRC polynomial (bit-reflected); a is never 0 here (powers of x).
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    if (m === 0) break;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

// x^(2^k) modulo the polynomial, k = 0…31.
const X2N: readonly number[] = (() => {
  const out = [0x40000000];
  for (let k = 1; k < 32; k++) out.push(multModP(out[k - 1], out[k - 1]));
  return out;
})();

/** The operator that appends `bytes` bytes to a CRC (crc32_combine_gen): computed once per piece, used by {@link crc32Combine}. */
export function crc32Shift(bytes: number): number {
  let p = 0x80000000;
  let k = 3;
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = multModP(X2N[k & 31], p);
  return p;
}

/** CRC-32 of A followed by B, from CRC(A), CRC(B) and B's {@link crc32Shift}. */
export function crc32Combine(crcA: number, crcB: number, shiftB: number): number {
  return (multModP(shiftB, crcA) ^ crcB) >>> 0;
}
