// Kept bytes own their memory: a slice of a larger buffer is copied, a buffer that owns its memory is kept as it is.
import { keep, keptBuffer, keptConcat } from '../../src/codecs/kept-bytes';

const ownsExactly = (b: Buffer): boolean => b.byteOffset === 0 && b.buffer.byteLength === b.length;

describe('kept bytes', () => {
  it('copies a slice of a larger buffer into memory of its own, the same bytes', () => {
    const slab = Buffer.from('0123456789abcdef');
    const slice = slab.subarray(4, 9);
    const kept = keep(slice);
    expect(kept).not.toBe(slice);
    expect(ownsExactly(kept)).toBe(true);
    expect(kept.toString()).toBe('45678');
    slab.fill(0x2e);
    expect(kept.toString()).toBe('45678');
  });

  it('keeps a buffer that already owns exactly its memory without copying', () => {
    const own = Buffer.allocUnsafeSlow(40).fill(7);
    expect(keep(own)).toBe(own);
  });

  it('copies a small pooled buffer, which shares its slab with others', () => {
    const pooled = Buffer.from('pooled');
    expect(ownsExactly(pooled)).toBe(false);
    expect(ownsExactly(keep(pooled))).toBe(true);
  });

  it('joins buffers into one of its own memory', () => {
    const joined = keptConcat([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde').subarray(1)], 4);
    expect(joined.toString()).toBe('abde');
    expect(ownsExactly(joined)).toBe(true);
    expect(ownsExactly(keptBuffer(100))).toBe(true);
  });
});
