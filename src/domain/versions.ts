// Which of two copies of an instance is newer, for the comparison between peers: the replication rule first (the
// newer lastDirtyTimestamp wins), then the time the change happened at the server that took it, then — for two
// copies changed in the same millisecond — a removal over a copy, and the larger fingerprint. Every server applies
// the same order, so repairs flow one way and stop.

/** A copy of an instance, or a removal remembered (tombstone), as peers compare them. */
export type InstanceVersion =
  | {
      readonly kind: 'instance';
      readonly lastDirtyTimestamp: number;
      /** When its content last changed, at the server that took the change (lastUpdatedTimestamp). */
      readonly at: number;
      /** Fingerprint of its agreed fields, 16 hex digits. */
      readonly fingerprint: string;
    }
  | {
      readonly kind: 'removed';
      /** lastDirtyTimestamp of the removed copy; undefined when unknown (a cancel that came before the copy). */
      readonly lastDirtyTimestamp: number | undefined;
      readonly at: number;
    };

/** Positive when `a` is newer than `b`, negative when older, 0 when they are the same copy. */
export function compareVersions(a: InstanceVersion, b: InstanceVersion): number {
  if (a.lastDirtyTimestamp !== undefined && b.lastDirtyTimestamp !== undefined && a.lastDirtyTimestamp !== b.lastDirtyTimestamp) {
    return a.lastDirtyTimestamp - b.lastDirtyTimestamp;
  }
  if (a.at !== b.at) return a.at - b.at;
  if (a.kind !== b.kind) return a.kind === 'removed' ? 1 : -1;
  if (a.kind === 'instance' && b.kind === 'instance') return a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0;
  return 0;
}
