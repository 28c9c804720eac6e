// Peers found through DNS (setting peerDnsName): the name's SRV records (target and port), or else its A/AAAA records
// with this server's own port, each a peer; this server recognises itself among them and leaves itself out. A failed
// resolution, or an answer with no records, keeps the last peer set: with the headless Service's
// publishNotReadyAddresses a running server always lists at least itself, so an empty answer is a DNS fault.
import { Resolver } from 'node:dns/promises';
import { Logger } from '../observability/logger';
import { canonicalAddress } from '../codecs/address-set';
import { DiscoveredPeer, PeerMembership } from './peer-membership';

/** The part of node:dns/promises' Resolver peer discovery uses (tests point one at a DNS server of their own). */
export interface PeerResolver {
  resolveSrv(name: string): Promise<readonly { readonly name: string; readonly port: number }[]>;
  resolve4(name: string): Promise<readonly string[]>;
  resolve6(name: string): Promise<readonly string[]>;
}

/** A resolver on the system's DNS servers, giving up on a query after `timeoutMs` (two tries). */
export function systemPeerResolver(timeoutMs: number): Resolver {
  return new Resolver({ timeout: timeoutMs, tries: 2 });
}

/** Who this server is, to find itself among the records. */
export interface SelfIdentity {
  /** The port this server listens on (known once it listens). */
  readonly port: number;
  /** Its host names and addresses (lower-cased): the host name, localhost, the interfaces' addresses. */
  readonly hosts: ReadonlySet<string>;
}

/** One resolution of the peer DNS name: the peers it lists (self left out) and whether self was among them; or why not. */
export type PeerDnsAnswer = { readonly kind: 'peers'; readonly peers: readonly DiscoveredPeer[]; readonly selfListed: boolean } | { readonly kind: 'failed'; readonly reason: string };

/** DNS errors that mean the name exists but has no records of the type asked, or does not exist. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

/** Resolves `name` once into peer URLs under `scheme` (http or https); never rejects. */
export async function resolvePeerDns(resolver: PeerResolver, name: string, scheme: string, self: SelfIdentity): Promise<PeerDnsAnswer> {
  let srv: readonly { readonly name: string; readonly port: number }[] = [];
  try {
    srv = await resolver.resolveSrv(name);
  } catch (e) {
    if (!NO_RECORDS.has(codeOf(e))) return { kind: 'failed', reason: `SRV ${name}: ${messageOf(e)}` };
  }
  const candidates: { host: string; port: number; addresses: readonly string[] }[] = [];
  if (srv.length > 0) {
    const targets = await Promise.all(srv.map(async (r) => ({ host: hostOf(r.name), port: r.port, addresses: await addressesOf(resolver, hostOf(r.name)) })));
    candidates.push(...targets.filter((t) => t.host !== '' && t.port > 0));
  } else {
    const found = await addressRecords(resolver, name);
    if ('failed' in found) return { kind: 'failed', reason: found.failed };
    for (const address of found.addresses) candidates.push({ host: address, port: self.port, addresses: [] });
  }
  if (candidates.length === 0) return { kind: 'failed', reason: `${name} has no SRV, A or AAAA records` };
  let selfListed = false;
  const peers = new Map<string, DiscoveredPeer>();
  for (const c of candidates) {
    if (isSelf(c, self)) {
      selfListed = true;
      continue;
    }
    const url = `${scheme}://${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}/eureka/`;
    if (!peers.has(url)) peers.set(url, { url, addresses: c.addresses });
  }
  return { kind: 'peers', peers: [...peers.values()], selfListed };
}

/** Shortest time between two resolutions asked for by refreshSoon, ms. */
export const REFRESH_SOON_MIN_MS = 2000;

/** Settings of {@link PeerDiscovery}. */
export interface PeerDiscoveryOptions {
  readonly name: string;
  /** http, or https when this region runs TLS. */
  readonly scheme: string;
  /** This server's identity; read at each resolution (the port is known once the server listens). */
  readonly self: () => SelfIdentity;
}

/** Keeps the membership's discovered peers in step with the peer DNS name; `refresh()` resolves it once more. */
export class PeerDiscovery {
  private inFlight: Promise<void> | undefined;
  private failing = false;
  private answered = false;
  private warnedSelfMissing = false;
  private closed = false;
  private lastSoonMs = -Infinity;

  constructor(
    private readonly resolver: PeerResolver,
    private readonly membership: PeerMembership,
    private readonly options: PeerDiscoveryOptions,
    private readonly logger: Logger,
  ) {}

  /** Resolves the name and applies the answer; one resolution at a time (a call meanwhile joins it); never rejects. */
  refresh(): Promise<void> {
    this.inFlight ??= this.resolve().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Resolves again unless a resolution started less than REFRESH_SOON_MIN_MS before `nowMs` (ms): what strangers'
   * requests may trigger is bounded.
   */
  refreshSoon(nowMs: number): void {
    if (nowMs - this.lastSoonMs < REFRESH_SOON_MIN_MS) return;
    this.lastSoonMs = nowMs;
    void this.refresh();
  }

  /** Whether the name has resolved once (until then an empty peer set means "unknown", not "alone"). */
  get hasAnswered(): boolean {
    return this.answered;
  }

  /** Stops applying answers (one in flight is dropped). */
  close(): void {
    this.closed = true;
  }

  private async resolve(): Promise<void> {
    const answer = await resolvePeerDns(this.resolver, this.options.name, this.options.scheme, this.options.self()).catch(
      (e: unknown): PeerDnsAnswer => ({ kind: 'failed', reason: messageOf(e) }),
    );
    if (this.closed) return;
    if (answer.kind === 'failed') {
      // Logged once per run of failures: a DNS outage must not flood the log every refresh.
      if (!this.failing) this.logger.warn('cannot resolve the peer DNS name: keeping the peers of the last good answer', { name: this.options.name, reason: answer.reason, peers: this.membership.urls.length });
      this.failing = true;
      return;
    }
    if (this.failing) this.logger.info('peer DNS name resolves again', { name: this.options.name });
    this.failing = false;
    this.answered = true;
    if (!answer.selfListed && !this.warnedSelfMissing) {
      this.warnedSelfMissing = true;
      this.logger.warn('this server is not among the peer DNS records (or does not recognise itself there): check the name, or that its port and host name match a record', { name: this.options.name, port: this.options.self().port });
    }
    const change = this.membership.setDiscovered(answer.peers);
    for (const url of change.added) this.logger.info('peer added (DNS)', { peer: url, name: this.options.name });
    for (const url of change.removed) this.logger.info('peer removed (DNS)', { peer: url, name: this.options.name });
  }
}

// A record is this server when its port is ours and its host is one of our names or resolves to one of our addresses.
function isSelf(c: { host: string; port: number; addresses: readonly string[] }, self: SelfIdentity): boolean {
  if (c.port !== self.port) return false;
  if (self.hosts.has(c.host) || c.addresses.some((a) => self.hosts.has(a))) return true;
  // A StatefulSet pod's record is <pod>.<service>.<namespace>.svc…; the pod's host name is <pod>.
  const dot = c.host.indexOf('.');
  return dot > 0 && canonicalAddress(c.host) === undefined && self.hosts.has(c.host.slice(0, dot));
}

// The addresses of a record's target (an IP literal is its own address); none when it does not resolve.
async function addressesOf(resolver: PeerResolver, host: string): Promise<readonly string[]> {
  const literal = canonicalAddress(host);
  if (literal !== undefined) return [literal];
  const found = await addressRecords(resolver, host);
  return 'failed' in found ? [] : found.addresses;
}

async function addressRecords(resolver: PeerResolver, name: string): Promise<{ readonly addresses: readonly string[] } | { readonly failed: string }> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses: string[] = [];
  const errors: string[] = [];
  for (const [type, result] of [['A', v4], ['AAAA', v6]] as const) {
    if (result.status === 'fulfilled') addresses.push(...result.value.map((a) => canonicalAddress(a) ?? a));
    else if (!NO_RECORDS.has(codeOf(result.reason))) errors.push(`${type} ${name}: ${messageOf(result.reason)}`);
  }
  if (addresses.length === 0 && errors.length > 0) return { failed: errors.join('; ') };
  return { addresses };
}

function hostOf(target: string): string {
  return target.replace(/\.$/, '').toLowerCase();
}

function codeOf(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
