// Loads the configuration once, validated: embedded defaults < config file (--config) < environment < flags.
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { ConfigError, defaultSettings, envName, flagName, parseSetting, SettingName, Settings, SETTINGS } from './settings';
import { parseZonesFile, PeerSet, resolvePeers, Topology } from './zones';

/** The validated configuration a server starts from. */
export interface Config {
  readonly settings: Settings;
  readonly topology: Topology;
  /** This server's URL in the zones file, and its peers. */
  readonly peerSet: PeerSet;
  /** The file it was read from, if any. */
  readonly file?: string;
}

const FLAG_TO_SETTING = new Map(Object.keys(SETTINGS).map((name) => [flagName(name), name as SettingName]));

/** Splits `--name value` / `--name=value` flags; `--config` is returned apart. */
function parseFlags(argv: readonly string[]): { config?: string; values: [SettingName, string][] } {
  const values: [SettingName, string][] = [];
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`Flag --${flag} needs a value`);
    if (flag === 'config') {
      config = value;
      continue;
    }
    const name = FLAG_TO_SETTING.get(flag);
    if (!name) throw new ConfigError(`Unknown flag --${flag}`);
    values.push([name, value]);
  }
  return { config, values };
}

/** Builds the configuration from flags and environment; throws ConfigError naming the bad setting. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const flags = parseFlags(argv);
  const settings: Record<string, unknown> = { ...defaultSettings() };
  const file = flags.config ?? env.EUREKA_CONFIG;
  let topology: Topology = { region: undefined, zones: new Map() };
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`Cannot read config file ${file}: ${(e as Error).message}`);
    }
    const parsed = parseZonesFile(json, file);
    topology = parsed.topology;
    for (const [name, raw] of Object.entries(parsed.settings)) settings[name] = parseSetting(name, raw, `config file ${file}`);
    if (topology.region !== undefined && parsed.settings.region === undefined) settings.region = topology.region;
  }
  if (env.PORT !== undefined) settings.port = parseSetting('port', env.PORT, 'environment PORT');
  for (const name of Object.keys(SETTINGS)) {
    const value = env[envName(name)];
    if (value !== undefined) settings[name] = parseSetting(name, value, `environment ${envName(name)}`);
  }
  for (const [name, value] of flags.values) settings[name] = parseSetting(name, value, `flag --${flagName(name)}`);
  if (settings.zoneFile) settings.zone = readZoneFile(settings.zoneFile as string);
  const result = settings as Settings;
  if (result.minRenewalIntervalSecs > result.maxRenewalIntervalSecs) {
    throw new ConfigError(`Invalid setting minRenewalIntervalSecs: ${result.minRenewalIntervalSecs} is above maxRenewalIntervalSecs (${result.maxRenewalIntervalSecs})`);
  }
  if (topology.zones.size > 0 && !topology.zones.has(result.zone)) {
    throw new ConfigError(`Invalid setting zone: "${result.zone}" is not one of the zones in ${file} (${[...topology.zones.keys()].join(', ')})`);
  }
  const peerSet = resolvePeers(topology, result.zone, result.port, result.selfUrl, localHostNames());
  return { settings: result, topology, peerSet, file };
}

/** The zone written in `file` (blanks around it trimmed); throws ConfigError when it cannot be read or is blank. */
function readZoneFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`Cannot read zoneFile ${file}: ${(e as Error).message}`);
  }
  const zone = text.trim();
  if (zone === '' || /\s/.test(zone)) throw new ConfigError(`Invalid zoneFile ${file}: expected one zone name, got ${JSON.stringify(text.slice(0, 100))}`);
  return zone;
}

/** Names and addresses this machine answers to, for finding itself among its peers (zones file, peer DNS records). */
export function localHostNames(): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname()];
  for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) names.push(a.address);
  return names;
}
