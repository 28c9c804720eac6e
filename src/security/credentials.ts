// The credentials file (setting authFile) and the principals it defines: users for HTTP Basic, tokens for Bearer.
// Secrets are kept only as SHA-256 digests and compared with crypto.timingSafeEqual. A verified Authorization header
// is remembered (bounded), so the heartbeat path costs a Map lookup, never a hash.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/settings';

/** What a principal may do (see README "Security"). */
export type Role = 'client' | 'peer' | 'admin';

export const ROLES: readonly Role[] = ['client', 'peer', 'admin'];

/** Who made a request, once its credentials are verified. */
export interface Principal {
  /** The user's name, or `token#N` (N: position in the file's tokens, from 1) for a bearer token. */
  readonly name: string;
  readonly roles: ReadonlySet<Role>;
  /** Upper-cased app names a `client` may write; undefined: every app. */
  readonly apps: ReadonlySet<string> | undefined;
  readonly isAdmin: boolean;
  readonly isPeer: boolean;
  readonly isClient: boolean;
}

/** Parsed credentials: digests and principals, nothing in clear. */
export interface CredentialSet {
  readonly users: ReadonlyMap<string, { readonly digest: Buffer; readonly principal: Principal }>;
  readonly tokens: readonly { readonly digest: Buffer; readonly principal: Principal }[];
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const USER_KEYS = new Set(['name', 'password', 'passwordSha256', 'roles', 'apps', '$comment']);
const TOKEN_KEYS = new Set(['token', 'tokenSha256', 'roles', 'apps', '$comment']);

/** Validates a credentials document; throws ConfigError naming `source` (e.g. `setting authFile (path)`) and the entry. */
export function parseCredentials(json: unknown, source: string): CredentialSet {
  const fail = (what: string): never => {
    throw new ConfigError(`Invalid ${source}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('expected a JSON object with "users" and/or "tokens"');
  const doc = json as Record<string, unknown>;
  for (const key of Object.keys(doc)) if (!['users', 'tokens', '$comment'].includes(key)) fail(`unknown key "${key}" (expected users, tokens)`);
  const list = (key: 'users' | 'tokens'): Record<string, unknown>[] => {
    const value = doc[key] ?? [];
    if (!Array.isArray(value)) return fail(`"${key}" must be a list`);
    return value.map((entry, i) => (typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : fail(`${key}[${i}] must be an object`)));
  };
  const users = new Map<string, { digest: Buffer; principal: Principal }>();
  const tokens: { digest: Buffer; principal: Principal }[] = [];
  const tokenDigests = new Set<string>();

  list('users').forEach((u, i) => {
    const where = `users[${i}]`;
    for (const key of Object.keys(u)) if (!USER_KEYS.has(key)) fail(`${where} has an unknown key "${key}"`);
    if (typeof u.name !== 'string' || u.name === '') fail(`${where}.name must be a non-empty string`);
    const name = u.name as string;
    // Basic credentials are "name:password": a colon in the name cannot be sent.
    if (name.includes(':')) fail(`${where}.name must not contain ":"`);
    if (users.has(name)) fail(`user "${name}" is listed twice`);
    const digest = secretDigest(u, 'password', 'passwordSha256', `user "${name}"`, fail);
    users.set(name, { digest, principal: principalOf(u, name, `user "${name}"`, fail) });
  });
  list('tokens').forEach((t, i) => {
    const where = `tokens[${i}]`;
    for (const key of Object.keys(t)) if (!TOKEN_KEYS.has(key)) fail(`${where} has an unknown key "${key}"`);
    const digest = secretDigest(t, 'token', 'tokenSha256', where, fail);
    const hex = digest.toString('hex');
    if (tokenDigests.has(hex)) fail(`${where} repeats an earlier token`);
    tokenDigests.add(hex);
    tokens.push({ digest, principal: principalOf(t, `token#${i + 1}`, where, fail) });
  });
  if (users.size === 0 && tokens.length === 0) fail('it defines no users and no tokens');
  return { users, tokens };
}

/** Reads and validates the file; every problem is a ConfigError naming the setting and the path. */
export function loadCredentials(file: string): CredentialSet {
  const source = `setting authFile (${file})`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`Invalid setting authFile: cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`Invalid ${source}: not JSON (${(e as Error).message})`);
  }
  return parseCredentials(json, source);
}

function secretDigest(entry: Record<string, unknown>, clearKey: string, hashKey: string, where: string, fail: (what: string) => never): Buffer {
  const clear = entry[clearKey];
  const hashed = entry[hashKey];
  if ((clear === undefined) === (hashed === undefined)) return fail(`${where} needs exactly one of "${clearKey}" and "${hashKey}"`);
  if (clear !== undefined) {
    if (typeof clear !== 'string' || clear === '') return fail(`${where}.${clearKey} must be a non-empty string`);
    return sha256(clear);
  }
  if (typeof hashed !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hashed)) return fail(`${where}.${hashKey} must be 64 hex digits (the SHA-256 of the secret)`);
  return Buffer.from(hashed, 'hex');
}

function principalOf(entry: Record<string, unknown>, name: string, where: string, fail: (what: string) => never): Principal {
  const rawRoles = entry.roles;
  if (!Array.isArray(rawRoles) || rawRoles.length === 0) return fail(`${where}.roles must be a non-empty list of ${ROLES.join(', ')}`);
  const roles = new Set<Role>();
  for (const r of rawRoles) {
    if (!ROLES.includes(r as Role)) fail(`${where}.roles has ${JSON.stringify(r)}; expected ${ROLES.join(', ')}`);
    roles.add(r as Role);
  }
  let apps: Set<string> | undefined;
  if (entry.apps !== undefined) {
    if (!Array.isArray(entry.apps) || entry.apps.length === 0) return fail(`${where}.apps must be a non-empty list of app names (omit it for every app)`);
    if (!roles.has('client')) fail(`${where}.apps applies to the client role only`);
    apps = new Set();
    for (const a of entry.apps) {
      if (typeof a !== 'string' || a === '') fail(`${where}.apps must hold non-empty strings`);
      apps.add((a as string).toUpperCase());
    }
  }
  return { name, roles, apps, isAdmin: roles.has('admin'), isPeer: roles.has('peer'), isClient: roles.has('client') };
}

/** The outcome of reading an Authorization header. */
export type Identity = Principal | typeof ANONYMOUS | typeof INVALID;
/** No Authorization header. */
export const ANONYMOUS = 'anonymous' as const;
/** An Authorization header that names no valid credential (wrong secret, unknown user, unknown scheme, malformed). */
export const INVALID = 'invalid' as const;

/** Verifies Authorization headers against a credential set, remembering the ones that verified. */
export class CredentialVerifier {
  // Raw header value → principal. Only successes are kept: a stream of wrong headers cannot grow it, only evict.
  private readonly verified = new Map<string, Principal>();
  // Compared against when a user is unknown, so an unknown name costs what a wrong password costs.
  private readonly dummy = sha256('unknown user');

  constructor(
    private readonly credentials: CredentialSet,
    private readonly maxCached = 4096,
  ) {}

  /** The principal behind `header` (the Authorization header's value), ANONYMOUS when absent, INVALID otherwise. */
  identify(header: string | undefined): Identity {
    if (header === undefined) return ANONYMOUS;
    const cached = this.verified.get(header);
    if (cached !== undefined) return cached;
    const principal = this.verify(header);
    if (principal === undefined) return INVALID;
    if (this.verified.size >= this.maxCached) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(header, principal);
    return principal;
  }

  /** Verified headers remembered now (for tests). */
  get cacheSize(): number {
    return this.verified.size;
  }

  private verify(header: string): Principal | undefined {
    const space = header.indexOf(' ');
    if (space < 0) return undefined;
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const user = this.credentials.users.get(decoded.slice(0, colon));
      const presented = sha256(decoded.slice(colon + 1));
      const ok = timingSafeEqual(presented, user?.digest ?? this.dummy);
      return ok && user ? user.principal : undefined;
    }
    if (scheme === 'bearer') {
      if (value === '') return undefined;
      const presented = sha256(value);
      // Every token is compared (no early exit), so the time taken says nothing about which one matched.
      let found: Principal | undefined;
      for (const t of this.credentials.tokens) if (timingSafeEqual(presented, t.digest) && found === undefined) found = t.principal;
      return found;
    }
    return undefined;
  }
}
