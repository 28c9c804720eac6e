// Per-record encoding cache shared by the JSON and XML codecs, and the piece list documents are assembled in.
// A record's encoding is split around its lastRenewalTimestamp, which heartbeats move without a new record, and
// kept as bytes: a full-registry payload is then one allocation and a copy per piece, not a 100 MB string
// concatenated, flattened and re-encoded (which at 100,000 instances cost seconds, mostly in garbage collection).
import { InstanceRecord, InstanceView } from '../domain/model';

/** Encodes a record as the text before and after its lastRenewalTimestamp. */
export type FragmentEncoder = (record: InstanceRecord) => readonly [string, string];

/** The pieces of a document, joined once at the end into a string or bytes. */
export class Pieces {
  private readonly parts: (string | Buffer)[] = [];

  add(piece: string | Buffer): this {
    this.parts.push(piece);
    return this;
  }

  toString(): string {
    return this.parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('');
  }

  toBuffer(): Buffer {
    let length = 0;
    for (const p of this.parts) length += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
    const out = Buffer.allocUnsafe(length);
    let offset = 0;
    for (const p of this.parts) {
      if (typeof p === 'string') {
        offset += out.write(p, offset);
      } else {
        // TypedArray#set: a plain memory copy (Buffer#copy validates its arguments on every call).
        out.set(p, offset);
        offset += p.length;
      }
    }
    return out;
  }
}

/** Encodes instances once per record, splicing in the current renewal time. */
export interface SplicedEncoder {
  /** The instance as text. */
  text(view: InstanceView): string;
  /** Appends the instance to a document. */
  write(view: InstanceView, out: Pieces): void;
}

export function splicedEncoder(encode: FragmentEncoder): SplicedEncoder {
  const cache = new WeakMap<InstanceRecord, readonly [Buffer, Buffer]>();
  const fragments = (record: InstanceRecord): readonly [Buffer, Buffer] => {
    let pair = cache.get(record);
    if (!pair) {
      const [head, tail] = encode(record);
      pair = [Buffer.from(head), Buffer.from(tail)];
      cache.set(record, pair);
    }
    return pair;
  };
  return {
    text: (view) => {
      const [head, tail] = fragments(view.record);
      return head.toString('utf8') + view.lastRenewalTimestamp + tail.toString('utf8');
    },
    write: (view, out) => {
      const [head, tail] = fragments(view.record);
      out.add(head).add(String(view.lastRenewalTimestamp)).add(tail);
    },
  };
}
