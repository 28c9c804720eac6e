// Choosing one instance among candidates: round-robin, random, weighted (metadata `weight`) or zone-aware (own zone
// first). Randomness is injected so tests can seed it.
import { RegistryInstance, zoneOf } from './instance';

/** How {@link Selector.choose} picks an instance. */
export type SelectionStrategy = 'round-robin' | 'random' | 'weighted' | 'zone-aware';

/**
 * An instance's weight: metadata `weight` as a non-negative number, default 1. A malformed or negative weight
 * counts as 1; 0 means "send nothing".
 */
export function weightOf(instance: RegistryInstance): number {
  const raw = instance.metadata['weight'];
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : 1;
}

/** Picks one of `candidates` with probability proportional to its weight; undefined when all weigh 0. */
export function pickWeighted(candidates: readonly RegistryInstance[], random: () => number): RegistryInstance | undefined {
  let total = 0;
  for (const c of candidates) total += weightOf(c);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const c of candidates) {
    const w = weightOf(c);
    if (w <= 0) continue;
    if (point < w) return c;
    point -= w;
  }
  // Rounding: the last instance with weight.
  return [...candidates].reverse().find((c) => weightOf(c) > 0);
}

/** Picks one candidate uniformly; undefined for none. */
export function pickRandom<T>(candidates: readonly T[], random: () => number): T | undefined {
  if (candidates.length === 0) return undefined;
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}

/**
 * The zone-aware candidates: those in `zone` when there are any, else all of them. Without a zone, all of them.
 */
export function preferZone(candidates: readonly RegistryInstance[], zone: string | undefined): readonly RegistryInstance[] {
  if (zone === undefined) return candidates;
  const local = candidates.filter((c) => zoneOf(c) === zone);
  return local.length > 0 ? local : candidates;
}

/** Stateful picker: keeps a round-robin position per key. */
export class Selector {
  private readonly positions = new Map<string, number>();

  constructor(
    private readonly random: () => number,
    /** The caller's zone, for 'zone-aware'. */
    private readonly zone: string | undefined,
  ) {}

  /**
   * Picks one of `candidates` (already filtered, in a stable order) by `strategy`. `key` names the round-robin
   * sequence (e.g. the app or VIP asked for). Zone-aware narrows to the own zone, then goes round-robin.
   */
  choose(key: string, candidates: readonly RegistryInstance[], strategy: SelectionStrategy): RegistryInstance | undefined {
    if (candidates.length === 0) return undefined;
    switch (strategy) {
      case 'random':
        return pickRandom(candidates, this.random);
      case 'weighted':
        return pickWeighted(candidates, this.random);
      case 'zone-aware':
        return this.roundRobin(`zone:${key}`, preferZone(candidates, this.zone));
      case 'round-robin':
        return this.roundRobin(`rr:${key}`, candidates);
      default:
        throw new Error(`Unknown selection strategy ${String(strategy)}`);
    }
  }

  private roundRobin(key: string, candidates: readonly RegistryInstance[]): RegistryInstance | undefined {
    if (candidates.length === 0) return undefined;
    const position = this.positions.get(key) ?? 0;
    this.positions.set(key, (position + 1) % Number.MAX_SAFE_INTEGER);
    return candidates[position % candidates.length];
  }
}
