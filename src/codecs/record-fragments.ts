// Per-record encoding cache shared by the JSON and XML codecs, and the piece list documents are assembled in.
// A record's encoding is split around its lastRenewalTimestamp, which heartbeats move without a new record, and kept
// as two flat strings with their UTF-8 size: a full-registry payload is then one allocation and one copy per piece,
// not a 100 MB string concatenated, flattened and re-encoded (which at 100,000 instances cost seconds, mostly in
// garbage collection). Strings rather than Buffers: a small Buffer is carved from Node's 8 KB pool, which reserves
// 4 bytes per character to decide whether it fits, so each record held ~1.6 × its encoded size plus its Buffer objects.
import { InstanceRecord, InstanceView } from '../domain/model';
import { keptBuffer } from './kept-bytes';

/** Encodes a record as the text before and after its lastRenewalTimestamp. */
export type FragmentEncoder = (record: InstanceRecord) => readonly [string, string];

/** The pieces of a document, joined once at the end into a string or bytes. */
export class Pieces {
  private readonly parts: string[] = [];
  // UTF-8 size of each part; negative (one's complement) when the part is not pure ASCII.
  private readonly sizes: number[] = [];
  private bytes = 0;

  /** Appends text. */
  add(piece: string): this {
    return this.addMeasured(piece, Buffer.byteLength(piece));
  }

  /** Appends text whose UTF-8 size (bytes) the caller already knows. */
  addMeasured(piece: string, bytes: number): this {
    this.parts.push(piece);
    this.sizes.push(bytes === piece.length ? bytes : ~bytes);
    this.bytes += bytes;
    return this;
  }

  toString(): string {
    return this.parts.join('');
  }

  /** The pieces as one buffer of its own memory (see kept-bytes.ts): every caller keeps it as a cached payload. */
  toBuffer(): Buffer {
    const out = keptBuffer(this.bytes);
    let offset = 0;
    for (let i = 0; i < this.parts.length; i++) {
      const size = this.sizes[i];
      // Pure ASCII is the same bytes in Latin-1, which is a plain copy; anything else is UTF-8 encoded.
      if (size >= 0) offset += out.write(this.parts[i], offset, size, 'latin1');
      else offset += out.write(this.parts[i], offset, ~size, 'utf8');
    }
    return out;
  }
}

/** Which end of an application a run of its instances is (both for the whole application). */
export interface ApplicationPart {
  readonly first: boolean;
  readonly last: boolean;
}

/** The whole application as one run. */
export const WHOLE_APPLICATION: ApplicationPart = Object.freeze({ first: true, last: true });

/** Encodes instances once per record, splicing in the current renewal time. */
export interface SplicedEncoder {
  /** The instance as text. */
  text(view: InstanceView): string;
  /**
   * Appends the instance to a document. `remember` false: the record's encoding is used when already held but not
   * kept when made (the caller holds the bytes itself, as the full registry's segments do).
   */
  write(view: InstanceView, out: Pieces, remember?: boolean): void;
}

interface Fragments {
  readonly head: string;
  readonly headBytes: number;
  readonly tail: string;
  readonly tailBytes: number;
}

export function splicedEncoder(encode: FragmentEncoder): SplicedEncoder {
  const cache = new WeakMap<InstanceRecord, Fragments>();
  const fragments = (record: InstanceRecord, remember = true): Fragments => {
    let cached = cache.get(record);
    if (!cached) {
      const [head, tail] = encode(record);
      // Measuring flattens the concatenations in place, so only the flat text is held, not the tree of its parts.
      cached = { head, headBytes: Buffer.byteLength(head), tail, tailBytes: Buffer.byteLength(tail) };
      if (remember) cache.set(record, cached);
    }
    return cached;
  };
  return {
    text: (view) => {
      const f = fragments(view.record);
      return f.head + view.lastRenewalTimestamp + f.tail;
    },
    write: (view, out, remember) => {
      const f = fragments(view.record, remember);
      const renewal = String(view.lastRenewalTimestamp);
      out.addMeasured(f.head, f.headBytes).addMeasured(renewal, renewal.length).addMeasured(f.tail, f.tailBytes);
    },
  };
}
