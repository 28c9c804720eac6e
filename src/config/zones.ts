// The zones file: a region, its zones with their servers' URLs, and settings shared by every server of the region.
// zones.example.json is one; a server's own zone comes from the `zone` setting.
import { ConfigError } from './settings';

/** The region's layout as the zones file describes it. */
export interface Topology {
  readonly region: string | undefined;
  /** Zone name → base URLs of its servers (e.g. http://host:8761/eureka/), in file order. */
  readonly zones: ReadonlyMap<string, readonly string[]>;
}

/** Validates the file's shape; returns the topology and the raw settings block. */
export function parseZonesFile(json: unknown, file: string): { topology: Topology; settings: Record<string, unknown> } {
  const fail = (what: string): never => {
    throw new ConfigError(`Invalid config file ${file}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('expected a JSON object');
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!['region', 'zones', 'settings', '$comment'].includes(key)) fail(`unknown key "${key}" (expected region, zones, settings)`);
  if (obj.region !== undefined && (typeof obj.region !== 'string' || obj.region === '')) fail('"region" must be a non-empty string');
  const zones = new Map<string, string[]>();
  const seen = new Set<string>();
  if (obj.zones !== undefined) {
    if (typeof obj.zones !== 'object' || obj.zones === null || Array.isArray(obj.zones)) fail('"zones" must map zone names to lists of server URLs');
    for (const [zone, urls] of Object.entries(obj.zones as Record<string, unknown>)) {
      if (!Array.isArray(urls) || urls.length === 0) fail(`zone "${zone}" must list at least one server URL`);
      const list: string[] = [];
      for (const url of urls as unknown[]) {
        if (typeof url !== 'string' || !/^https?:\/\/[^/]+/.test(url)) fail(`zone "${zone}" has an invalid server URL ${JSON.stringify(url)}`);
        const normalised = (url as string).endsWith('/') ? (url as string) : `${url}/`;
        if (seen.has(normalised)) fail(`server URL ${normalised} is listed twice`);
        seen.add(normalised);
        list.push(normalised);
      }
      zones.set(zone, list);
    }
  }
  const settings = obj.settings ?? {};
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) fail('"settings" must be an object');
  return { topology: { region: obj.region as string | undefined, zones }, settings: settings as Record<string, unknown> };
}
