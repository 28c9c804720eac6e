// Runs of a document's parts: the same bytes as the parts in order, runs within their size, head and tail as they are,
// and a change re-joins only the runs around the parts it changed.
import fc from 'fast-check';
import { RunJoiner } from '../../../src/http/payloads/joined-runs';

const RUN = 64;
const total = (parts: readonly Buffer[]): number => parts.reduce((n, p) => n + p.length, 0);
const part = (size: number, fill: number): Buffer => Buffer.alloc(size, fill % 256);

type Edit = { readonly kind: 'replace' | 'insert' | 'remove'; readonly at: number; readonly size: number };
const edit = fc.record({ kind: fc.constantFrom('replace' as const, 'insert' as const, 'remove' as const), at: fc.nat(), size: fc.integer({ min: 1, max: 3 * RUN }) });

// Head and tail change with every version, as a document's do.
function apply(middle: Buffer[], e: Edit, version: number): Buffer[] {
  const out = middle.slice();
  const at = out.length === 0 ? 0 : e.at % out.length;
  if (e.kind === 'insert' || out.length === 0) out.splice(at, 0, part(e.size, version));
  else if (e.kind === 'replace') out[at] = part(e.size, version);
  else out.splice(at, 1);
  return out;
}
const framed = (middle: readonly Buffer[], version: number): Buffer[] => [part(3, version), ...middle, part(2, version + 1)];

describe('RunJoiner', () => {
  it('writes the same bytes in order, runs within their size, head and tail as they are', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2 * RUN }), { maxLength: 40 }), fc.array(edit, { maxLength: 30 }), (sizes, edits) => {
        const joiner = new RunJoiner({ runBytes: RUN, oneBufferMaxBytes: 0 });
        let middle = sizes.map((s, i) => part(s, i));
        for (let v = 0; v <= edits.length; v++) {
          if (v > 0) middle = apply(middle, edits[v - 1], v);
          const parts = framed(middle, v);
          const out = joiner.join(parts);
          expect(Buffer.concat(out as Buffer[]).equals(Buffer.concat(parts))).toBe(true);
          expect(out[0]).toBe(parts[0]);
          expect(out[out.length - 1]).toBe(parts[parts.length - 1]);
          // A buffer larger than a run is a part written as it is.
          for (const b of out.slice(1, -1)) if (b.length > RUN) expect(parts).toContain(b);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('re-joins, after one part changed, no more than the runs around it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: RUN }), { minLength: 2, maxLength: 60 }), fc.array(edit, { minLength: 1, maxLength: 20 }), (sizes, edits) => {
        const joiner = new RunJoiner({ runBytes: RUN, oneBufferMaxBytes: 0 });
        let middle = sizes.map((s, i) => part(s, i));
        let before = new Set(joiner.join(framed(middle, 0)));
        edits.forEach((e, n) => {
          const v = n + 1;
          middle = apply(middle, e, v);
          const parts = framed(middle, v);
          const out = joiner.join(parts);
          const inputs = new Set(parts);
          // Bytes copied for this version: new joined buffers (not a part written as it is, nor one kept from before).
          const copied = total(out.slice(1, -1).filter((b) => !before.has(b) && !inputs.has(b)));
          expect(copied).toBeLessThanOrEqual(3 * RUN + e.size);
          before = new Set(out);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a run while its parts come again, and counts the bytes it joined', () => {
    const joiner = new RunJoiner({ runBytes: RUN, oneBufferMaxBytes: 0 });
    const middle = Array.from({ length: 8 }, (_, i) => part(20, i));
    const first = joiner.join(framed(middle, 0));
    // Runs of three parts (60 bytes): 8 parts make runs of 3, 3 and 2.
    expect(first.slice(1, -1).map((b) => b.length)).toEqual([60, 60, 40]);
    expect(joiner.bytes).toBe(160);
    middle[4] = part(20, 99);
    const second = joiner.join(framed(middle, 1));
    expect(second[1]).toBe(first[1]);
    expect(second[2]).not.toBe(first[2]);
    expect(second[3]).toBe(first[3]);
  });

  it('answers a small document as one buffer of its own, and a single part as it is', () => {
    const joiner = new RunJoiner({ runBytes: RUN, oneBufferMaxBytes: 100 });
    const parts = [part(10, 1), part(20, 2), part(30, 3)];
    const one = joiner.body(parts, 60) as Buffer;
    expect(Buffer.isBuffer(one)).toBe(true);
    expect(one.equals(Buffer.concat(parts))).toBe(true);
    expect(one.buffer.byteLength).toBe(60);
    expect(joiner.bytes).toBe(60);
    expect(joiner.body([parts[2]], 30)).toBe(parts[2]);
    expect(joiner.bytes).toBe(0);
    const many = Array.from({ length: 10 }, (_, i) => part(30, i));
    expect(Array.isArray(joiner.body(many, 300))).toBe(true);
  });
});
