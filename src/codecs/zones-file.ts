// The zones file (zones.example.json): a region, its zones with their servers' base URLs, and settings shared by
// every server of the region. One reader for the servers (peers) and the client library (which servers to use).

/** A zones file as written: `zones` maps each zone to the base URLs of its servers; `$comment` is ignored. */
export interface ZonesFile {
  /** Region name (informational). */
  readonly region?: string;
  /** Zone name → base URLs of its servers, in preference order. */
  readonly zones: Readonly<Record<string, readonly string[]>>;
  /** The servers' settings; ignored by the client. */
  readonly settings?: unknown;
}

/** A zones file read and checked. */
export interface ZonesFileContents {
  readonly region: string | undefined;
  /** Zone name → normalised base URLs (ending in `/`), in file order; undefined when the file has no `zones`. */
  readonly zones: ReadonlyMap<string, readonly string[]> | undefined;
  /** The raw settings block ({} when absent); the server validates it setting by setting. */
  readonly settings: Record<string, unknown>;
}

/** The file's contents, or what is wrong with it (a phrase for the caller to prefix with the file's name). */
export type ZonesFileReading = { readonly contents: ZonesFileContents } | { readonly error: string };

const KEYS = ['region', 'zones', 'settings', '$comment'];

/** Whether `url` can be a server's base URL: http(s) with a host. */
export const isServerUrl = (url: unknown): url is string => typeof url === 'string' && /^https?:\/\/[^/]+/.test(url);

/** A server's base URL ending in `/`, the form every URL comparison uses. */
export const normaliseServerUrl = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

/** Checks a parsed zones file: known keys, a region string, non-empty zones of http(s) URLs none listed twice, a settings object. */
export function readZonesFile(json: unknown): ZonesFileReading {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { error: 'expected a JSON object' };
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!KEYS.includes(key)) return { error: `unknown key "${key}" (expected region, zones, settings)` };
  if (obj.region !== undefined && (typeof obj.region !== 'string' || obj.region === '')) return { error: '"region" must be a non-empty string' };
  let zones: Map<string, string[]> | undefined;
  if (obj.zones !== undefined) {
    if (typeof obj.zones !== 'object' || obj.zones === null || Array.isArray(obj.zones)) return { error: '"zones" must map zone names to lists of server URLs' };
    zones = new Map();
    const seen = new Set<string>();
    for (const [zone, urls] of Object.entries(obj.zones as Record<string, unknown>)) {
      if (!Array.isArray(urls) || urls.length === 0) return { error: `zone "${zone}" must list at least one server URL` };
      const list: string[] = [];
      for (const url of urls as unknown[]) {
        if (!isServerUrl(url)) return { error: `zone "${zone}" has an invalid server URL ${JSON.stringify(url)}` };
        const normalised = normaliseServerUrl(url);
        if (seen.has(normalised)) return { error: `server URL ${normalised} is listed twice` };
        seen.add(normalised);
        list.push(normalised);
      }
      zones.set(zone, list);
    }
  }
  const settings = obj.settings ?? {};
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) return { error: '"settings" must be an object' };
  return { contents: { region: obj.region as string | undefined, zones, settings: settings as Record<string, unknown> } };
}
