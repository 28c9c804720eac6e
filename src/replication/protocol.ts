// The peer replication wire format (POST /peerreplication/batch): ReplicationList in, ReplicationListResponse out,
// shaped exactly as Netflix servers send and expect them, so mixed clusters replicate both ways.

/**
 * Replicated actions, spelled as Eureka spells them, plus MetadataUpdate: metadata set through the REST API, which
 * Eureka replicates as a Register and which is sent so only to peers known to be zone-registry servers (they answer
 * with SERVER_IDENTITY_HEADER), so that they keep it across the instance's re-registrations as the server that took it
 * does. A Java peer would refuse the whole batch over an action it does not know.
 */
export const REPLICATION_ACTIONS = ['Register', 'Heartbeat', 'Cancel', 'StatusUpdate', 'DeleteStatusOverride', 'MetadataUpdate'] as const;
export type ReplicationAction = (typeof REPLICATION_ACTIONS)[number];

/** Header with which a zone-registry server answers a batch (its identity): the peer understands MetadataUpdate. */
export const SERVER_IDENTITY_HEADER = 'x-registry-server';

/** One item of a batch as it travels (null fields omitted; lastDirtyTimestamp is a JSON number here). */
export interface ReplicationItem {
  appName: string;
  id: string;
  lastDirtyTimestamp?: number;
  overriddenStatus?: string;
  status?: string;
  /**
   * Full instance without wrapper; already-encoded JSON when sending. Register needs it; Cancel, StatusUpdate,
   * DeleteStatusOverride and MetadataUpdate carry it too (Eureka's ReplicationInstance allows it on every action and
   * ignores it), for its lastUpdatedTimestamp: when the change happened at the server that took it.
   */
  instanceInfo?: unknown;
  /** The entries set (MetadataUpdate only). */
  metadata?: Record<string, string>;
  /**
   * 'down' on a Register whose DOWN is the sender's health-check verdict (the instance itself reports UP); absent: the
   * sender holds no such verdict. Sent to zone-registry peers only, like MetadataUpdate.
   */
  health?: 'down';
  action: ReplicationAction;
}

/** Per-item result, same order as the request. */
export interface ReplicationItemResult {
  statusCode: number;
  /** The receiver's newer instance, on 409. */
  responseEntity?: unknown;
}

export interface ReplicationListResponse {
  responseList: ReplicationItemResult[];
}

/** An item whose instanceInfo is pre-encoded JSON text (so a register is not serialised twice). */
export interface OutgoingItem extends Omit<ReplicationItem, 'instanceInfo' | 'metadata'> {
  instanceJson?: string;
  metadata?: Readonly<Record<string, string>>;
}

/** Encodes one item of a batch in the field order Java peers write. */
export function encodeReplicationItem(i: OutgoingItem): string {
  let s = `{"appName":${JSON.stringify(i.appName)},"id":${JSON.stringify(i.id)}`;
  if (i.lastDirtyTimestamp !== undefined) s += `,"lastDirtyTimestamp":${i.lastDirtyTimestamp}`;
  if (i.overriddenStatus !== undefined) s += `,"overriddenStatus":"${i.overriddenStatus}"`;
  if (i.status !== undefined) s += `,"status":"${i.status}"`;
  if (i.instanceJson !== undefined) s += `,"instanceInfo":${i.instanceJson}`;
  if (i.metadata !== undefined) s += `,"metadata":${JSON.stringify(i.metadata)}`;
  if (i.health !== undefined) s += `,"health":"${i.health}"`;
  return s + `,"action":"${i.action}"}`;
}

/** Bytes a batch body adds around its items: the wrapper and the commas between them. */
export const batchEnvelopeBytes = (items: number): number => '{"replicationList":[]}'.length + Math.max(0, items - 1);

/** A batch body from items already encoded with {@link encodeReplicationItem}. */
export const replicationListOf = (encodedItems: readonly string[]): string => `{"replicationList":[${encodedItems.join(',')}]}`;

/** Encodes a batch body in the field order Java peers write. */
export function encodeReplicationList(items: readonly OutgoingItem[]): string {
  return replicationListOf(items.map(encodeReplicationItem));
}
