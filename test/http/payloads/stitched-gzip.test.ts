// Pieces stitched into one gzip member: stored blocks of any length, DEFLATE pieces with and without a dictionary
// of the bytes before them, and a CRC-32 combined from the pieces' own, as zlib computes it over the whole.
import { crc32 as zlibCrc32, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { crc32, crc32Combine, crc32Portable, crc32Shift, DEFLATE_WINDOW_BYTES, deflatePiece, deflatePieceSync, GZIP_HEADER, gzipTrailer, inflatePieceSync, PieceDeflater, storedBlocks } from '../../../src/http/payloads/stitched-gzip';

const bytes = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));
// Repetitive text, so that pieces refer back into the ones before them.
const text = fc.array(fc.constantFrom('{"app":"ORDERS",', '"status":"UP"}', ',', 'é€', '<x>'), { maxLength: 400 }).map((a) => Buffer.from(a.join('')));

// The bytes before each piece (at most a window), or none.
function dictionaries(plain: readonly Buffer[], withDictionary: boolean): (Buffer | undefined)[] {
  let seen = Buffer.alloc(0);
  return plain.map((p) => {
    const dictionary = withDictionary && seen.length > 0 ? seen.subarray(-DEFLATE_WINDOW_BYTES) : undefined;
    seen = Buffer.concat([seen, p]);
    return dictionary;
  });
}

function member(pieces: readonly Buffer[], plain: readonly Buffer[], withDictionary: boolean, last: Buffer): Buffer {
  const parts: Buffer[] = [GZIP_HEADER];
  let crc = 0;
  let seen = Buffer.alloc(0);
  const dictionary = dictionaries(plain, withDictionary);
  plain.forEach((p, i) => {
    parts.push(pieces[i] ?? deflatePieceSync(p, dictionary[i]));
    crc = crc32Combine(crc, crc32(p), crc32Shift(p.length));
    seen = Buffer.concat([seen, p]);
  });
  parts.push(storedBlocks(last, true), gzipTrailer(crc32(last, crc), seen.length + last.length));
  return Buffer.concat(parts);
}

describe('stitched gzip', () => {
  describe('crc32Combine', () => {
    it('gives the CRC-32 of the concatenation', () => {
      fc.assert(
        fc.property(bytes, bytes, (a, b) => {
          expect(crc32Combine(crc32(a), crc32(b), crc32Shift(b.length))).toBe(zlibCrc32(Buffer.concat([a, b])));
        }),
      );
    });

    it('shifts by lengths past 2^32 as by their parts one after the other', () => {
      const crc = crc32(Buffer.from('registry'));
      const inTwo = crc32Combine(crc32Combine(crc, 0, crc32Shift(2 ** 32)), 0, crc32Shift(2 ** 20 + 3));
      expect(crc32Combine(crc, 0, crc32Shift(2 ** 32 + 2 ** 20 + 3))).toBe(inTwo);
    });
  });

  describe('crc32Portable', () => {
    it('agrees with zlib', () => {
      fc.assert(fc.property(bytes, fc.nat(), (a, start) => expect(crc32Portable(a, start >>> 0)).toBe(zlibCrc32(a, start >>> 0))));
    });
  });

  describe('storedBlocks', () => {
    it('carries any bytes, in blocks of at most 64 KiB', () => {
      for (const size of [0, 1, 0xffff, 0x10000, 200_000]) {
        const data = Buffer.alloc(size, 'x');
        const zipped = Buffer.concat([GZIP_HEADER, storedBlocks(data, true), gzipTrailer(crc32(data), size)]);
        expect(gunzipSync(zipped).equals(data)).toBe(true);
      }
    });
  });

  describe('deflatePieceSync', () => {
    it('stitches into one member that decompresses to the pieces in order, with or without dictionaries', () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(bytes, text), { maxLength: 8 }), fc.boolean(), bytes, (plain, withDictionary, last) => {
          expect(gunzipSync(member([], plain, withDictionary, last)).equals(Buffer.concat([...plain, last]))).toBe(true);
        }),
      );
    });

    it('compresses better against the bytes before it', () => {
      const record = Buffer.from('{"instanceId":"i-1","app":"ORDERS","status":"UP","metadata":{"zone":"a"}},'.repeat(4));
      expect(deflatePieceSync(record, record).length).toBeLessThan(deflatePieceSync(record).length / 2);
    });
  });

  describe('PieceDeflater', () => {
    it('makes pieces that stitch as the one-shot ones do, from streams kept open, whatever the mix of levels, dictionaries and bursts', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.oneof(bytes, text), fc.constantFrom(1, 3, 6), fc.boolean()), { maxLength: 10 }), fc.boolean(), bytes, async (items, withDictionary, last) => {
          const plain = items.map(([p]) => p);
          const dictionary = dictionaries(plain, withDictionary);
          const deflater = new PieceDeflater(2);
          try {
            // All asked for at once: each level's streams queue them (or, in a burst, one-shot streams).
            const pieces = await Promise.all(items.map(([p, level, burst], i) => deflater.deflate(p, dictionary[i], level, burst)));
            expect(gunzipSync(member(pieces, plain, withDictionary, last)).equals(Buffer.concat([...plain, last]))).toBe(true);
            // Each decodes on its own after its dictionary (pieces are reused in other documents, after other pieces),
            // and is in memory of its own. Not always byte for byte the one-shot piece: a stream reset after another
            // piece may choose other matches than a new one (zlib's deflateReset), each as valid.
            items.forEach(([p], i) => {
              expect(inflatePieceSync(pieces[i], dictionary[i]).equals(p)).toBe(true);
              expect(pieces[i].byteOffset === 0 && pieces[i].buffer.byteLength === pieces[i].length).toBe(true);
            });
          } finally {
            deflater.close();
          }
        }),
        { numRuns: 150 },
      );
    });

    it('makes a piece that decodes on its own after another piece on the same stream', async () => {
      // Found by the property above: the second piece queued behind the first on one stream.
      const first = Buffer.from('{"app":"ORDERS",{"app":"ORDERS","status":"UP"}');
      const second = Buffer.from('é€{"app":"ORDERS",<x>"status":"UP"}<x>');
      const deflater = new PieceDeflater(1);
      try {
        const [a, b] = await Promise.all([deflater.deflate(first, undefined, 3), deflater.deflate(second, undefined, 3)]);
        expect(inflatePieceSync(a).equals(first)).toBe(true);
        expect(inflatePieceSync(b).equals(second)).toBe(true);
      } finally {
        deflater.close();
      }
    });

    it('compresses with one-shot streams once closed', async () => {
      const deflater = new PieceDeflater(1);
      const data = Buffer.from('segment '.repeat(1000));
      const before = await deflater.deflate(data, undefined, 6);
      deflater.close();
      expect((await deflater.deflate(data, undefined, 6)).equals(before)).toBe(true);
    });
  });

  describe('deflatePiece', () => {
    it('compresses as the inline one does', async () => {
      const data = Buffer.from('segment '.repeat(20_000));
      const dictionary = Buffer.from('segment segment');
      expect((await deflatePiece(data, dictionary)).equals(deflatePieceSync(data, dictionary))).toBe(true);
    });
  });
});
