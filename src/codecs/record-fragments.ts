// Per-record encoding cache shared by the JSON and XML codecs. A record's encoding is split around its
// lastRenewalTimestamp, which heartbeats move without a new record, so a full-registry rebuild is string
// concatenation, not re-serialisation.
import { InstanceRecord, InstanceView } from '../domain/model';

/** Encodes a record as the text before and after its lastRenewalTimestamp. */
export type FragmentEncoder = (record: InstanceRecord) => readonly [string, string];

/** An instance encoder that encodes each record once and splices the current renewal time in. */
export function splicedEncoder(encode: FragmentEncoder): (view: InstanceView) => string {
  const cache = new WeakMap<InstanceRecord, readonly [string, string]>();
  return (view) => {
    let pair = cache.get(view.record);
    if (!pair) {
      pair = encode(view.record);
      cache.set(view.record, pair);
    }
    return pair[0] + view.lastRenewalTimestamp + pair[1];
  };
}
