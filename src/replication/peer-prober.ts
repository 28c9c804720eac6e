// Live peer health: every interval each peer's readiness endpoint is asked, through the peer's own client (its
// credentials and CA), whether it answers, is ready, and how long that takes. State is kept per peer URL, from a peer
// list read every round: a peer that joins is probed from the next round, one that leaves is forgotten.
import { Clock } from '../domain/clock';
import { Logger } from '../observability/logger';
import { PeerProbeState, PeerProbeStats } from '../observability/server-status';
import { Scheduler } from '../scheduling/scheduler';
import { PeerClient, ProbeAnswer } from './peer-client';

/** Settings of the prober. */
export interface PeerProberOptions {
  /** Time between two probes of a peer, ms. */
  readonly intervalMs: number;
  /** Longest a probe may take, ms. */
  readonly timeoutMs: number;
}

type MutableStats = { -readonly [K in keyof PeerProbeStats]: PeerProbeStats[K] };

/** The state an answer (or its absence) puts a peer in, and why in words. */
export function probeVerdict(answer: ProbeAnswer): { state: Exclude<PeerProbeState, 'pending'>; error: string } {
  if (answer.kind === 'error') return { state: 'unreachable', error: answer.reason };
  const status = answer.status;
  if (status >= 200 && status < 300) return { state: 'ready', error: '' };
  if (status === 503) return { state: 'not-ready', error: '' };
  // A proxy in front of the peer answering for a peer it cannot reach.
  if (status === 502 || status === 504) return { state: 'unreachable', error: `answered ${status} (a proxy that cannot reach it)` };
  return { state: 'reachable', error: '' };
}

/** Probes each peer periodically and keeps what the last probe said, by peer URL. */
export class PeerProber {
  private readonly states = new Map<string, MutableStats>();
  private readonly inFlight = new Set<string>();
  private closed = false;

  constructor(
    private readonly peers: () => Iterable<PeerClient>,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
    private readonly options: PeerProberOptions,
    /** Monotonic time for round trips, ms; default performance.now. */
    private readonly elapsedMs: () => number = () => performance.now(),
  ) {}

  /** Probes every peer now, then every intervalMs. */
  start(): void {
    this.scheduler.every('probe-peers', this.options.intervalMs, () => void this.round());
    void this.round();
  }

  /** What the probes of the peer at `url` said; undefined for a peer not probed (its client cannot, or it is not listed). */
  statsFor(url: string): PeerProbeStats | undefined {
    return this.states.get(url);
  }

  /** Probes every listed peer whose previous probe is over; resolves when these probes are. */
  async round(): Promise<void> {
    if (this.closed) return;
    const listed = new Set<string>();
    const probes: Promise<void>[] = [];
    for (const client of this.peers()) {
      listed.add(client.url);
      if (client.probe === undefined) continue;
      if (!this.states.has(client.url)) this.states.set(client.url, pendingStats(this.clock.now()));
      if (!this.inFlight.has(client.url)) probes.push(this.probe(client));
    }
    for (const url of this.states.keys()) if (!listed.has(url)) this.states.delete(url);
    await Promise.all(probes);
  }

  close(): void {
    this.closed = true;
  }

  private async probe(client: PeerClient): Promise<void> {
    const url = client.url;
    this.inFlight.add(url);
    const startedAt = this.elapsedMs();
    let answer: ProbeAnswer;
    try {
      answer = await client.probe!(this.options.timeoutMs);
    } catch (e) {
      answer = { kind: 'error', reason: e instanceof Error ? e.message : String(e) };
    } finally {
      this.inFlight.delete(url);
    }
    const s = this.states.get(url);
    if (this.closed || s === undefined) return;
    const now = this.clock.now();
    const { state, error } = probeVerdict(answer);
    s.probes++;
    s.lastProbeAt = now;
    if (answer.kind === 'answer') {
      s.lastStatus = answer.status;
      if (state !== 'unreachable') {
        s.lastSeenAt = now;
        s.rttMs = Math.max(0, Math.round((this.elapsedMs() - startedAt) * 10) / 10);
      }
    }
    if (state === 'unreachable') {
      s.failures++;
      s.consecutiveFailures++;
      s.lastError = error;
    } else {
      s.consecutiveFailures = 0;
    }
    if (state !== s.state) {
      const wasUnreachable = s.state === 'unreachable';
      s.state = state;
      s.since = now;
      if (state === 'unreachable') this.logger.warn('peer unreachable', { peer: url, reason: error, lastSeenAt: s.lastSeenAt > 0 ? new Date(s.lastSeenAt).toISOString() : 'never' });
      else if (wasUnreachable) this.logger.info('peer reachable again', { peer: url, state, rttMs: s.rttMs });
    }
  }
}

function pendingStats(now: number): MutableStats {
  return { state: 'pending', since: now, lastProbeAt: 0, lastSeenAt: 0, rttMs: -1, lastStatus: 0, lastError: '', consecutiveFailures: 0, probes: 0, failures: 0 };
}
