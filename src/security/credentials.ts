// The credentials file (setting authFile) and the principals it defines: users for HTTP Basic, tokens for Bearer.
// Passwords are salted scrypt hashes (legacy entries: SHA-256 digests, with a warning); tokens, high-entropy, SHA-256.
// A verified Authorization header is remembered (bounded), so the heartbeat path costs a Map lookup, never a hash.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/settings';
import { parseScryptHash, SCRYPT_DEFAULTS, ScryptHash, verifyScrypt } from './password-hash';

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

/** How a user's password is checked: a salted scrypt hash, or (legacy entries) an unsalted SHA-256 digest. */
export type PasswordCheck = { readonly scrypt: ScryptHash } | { readonly sha256: Buffer };

/** An entry of the file that still works but should be upgraded, for a warning at start. */
export interface CredentialWarning {
  readonly user: string;
  readonly message: string;
}

/** Parsed credentials: hashes and principals, nothing in clear; plus the entries to upgrade. */
export interface CredentialSet {
  readonly users: ReadonlyMap<string, { readonly password: PasswordCheck; readonly principal: Principal }>;
  readonly tokens: readonly { readonly digest: Buffer; readonly principal: Principal }[];
  readonly warnings: readonly CredentialWarning[];
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const USER_KEYS = new Set(['name', 'password', 'passwordSha256', 'passwordScrypt', 'roles', 'apps', '$comment']);
const PASSWORD_KEYS = ['password', 'passwordSha256', 'passwordScrypt'] as const;
const UPGRADE = 'replace it with "passwordScrypt": the line `zone-registry hash-password` prints for the password on its stdin';
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
  const users = new Map<string, { password: PasswordCheck; principal: Principal }>();
  const warnings: CredentialWarning[] = [];
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
    const password = passwordCheck(u, `user "${name}"`, fail);
    if (u.password !== undefined) warnings.push({ user: name, message: `user "${name}" has its password in clear in the credentials file; ${UPGRADE}` });
    if (u.passwordSha256 !== undefined) warnings.push({ user: name, message: `user "${name}" has an unsalted "passwordSha256"; ${UPGRADE}` });
    users.set(name, { password, principal: principalOf(u, name, `user "${name}"`, fail) });
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
  return { users, tokens, warnings };
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

function passwordCheck(entry: Record<string, unknown>, where: string, fail: (what: string) => never): PasswordCheck {
  const given = PASSWORD_KEYS.filter((k) => entry[k] !== undefined);
  if (given.length !== 1) return fail(`${where} needs exactly one of "passwordScrypt", "password" and "passwordSha256"`);
  if (given[0] !== 'passwordScrypt') return { sha256: secretDigest(entry, 'password', 'passwordSha256', where, fail) };
  const text = entry.passwordScrypt;
  if (typeof text !== 'string') return fail(`${where}.passwordScrypt must be a string`);
  const parsed = parseScryptHash(text);
  return typeof parsed === 'string' ? fail(`${where}.passwordScrypt ${parsed}`) : { scrypt: parsed };
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
/** Too many password verifications under way to start another: the caller should retry shortly (503). */
export const BUSY = 'busy' as const;

/** Bounds of a {@link CredentialVerifier}'s scrypt verifications. */
export interface VerifierOptions {
  /** Headers that failed a scrypt verification remembered, as digests (default 4096). */
  readonly maxFailures?: number;
  /** scrypt verifications running at once (default 2: libuv's pool has 4 threads, shared with fs, dns and zlib). */
  readonly maxRunning?: number;
  /** scrypt verifications waiting for a slot (default 32); beyond, identify answers BUSY at once. */
  readonly maxWaiting?: number;
  /** Checks a password against a hash (default: scrypt on the thread pool); tests hold it to observe the bounds. */
  readonly verifyPassword?: (password: string, hash: ScryptHash) => Promise<boolean>;
}

/** A password to check against a scrypt hash, for the principal it would prove (none: an unknown user). */
interface ScryptClaim {
  readonly password: string;
  readonly hash: ScryptHash;
  readonly principal: Principal | undefined;
}

/** Most characters of verified Authorization headers remembered in all (1 MiB of text: 4,096 headers of 256). */
export const MAX_REMEMBERED_CHARS = 1 << 20;

/**
 * Verifies Authorization headers against a credential set. A remembered header answers synchronously; a Basic header
 * of a scrypt user not seen yet answers a promise (scrypt runs on the thread pool, a few at a time, one run per
 * distinct header however many requests carry it), or BUSY when too many are under way.
 */
export class CredentialVerifier {
  // Raw header value → principal. Only successes are kept: a stream of wrong headers cannot grow it, only evict.
  private readonly verified = new Map<string, Principal>();
  // SHA-256 (base64) of headers that failed scrypt: the file does not change while running, so they always will.
  private readonly failed = new Set<string>();
  private readonly inFlight = new Map<string, Promise<Identity>>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  // Compared against when a user is unknown, so an unknown name costs what a wrong password costs.
  private readonly dummy = sha256('unknown user');
  private readonly dummyScrypt: ScryptHash | undefined;
  private readonly limits: Required<Omit<VerifierOptions, 'verifyPassword'>>;
  private readonly verifyPassword: (password: string, hash: ScryptHash) => Promise<boolean>;

  private rememberedChars = 0;

  /** @param maxCached verified headers remembered */
  constructor(
    private readonly credentials: CredentialSet,
    private readonly maxCached = 4096,
    options: VerifierOptions = {},
  ) {
    this.limits = { maxFailures: options.maxFailures ?? 4096, maxRunning: options.maxRunning ?? 2, maxWaiting: options.maxWaiting ?? 32 };
    this.verifyPassword = options.verifyPassword ?? verifyScrypt;
    const anyScrypt = [...credentials.users.values()].some((u) => 'scrypt' in u.password);
    const { N, r, p, saltBytes, hashBytes } = SCRYPT_DEFAULTS;
    this.dummyScrypt = anyScrypt ? { N, r, p, salt: Buffer.alloc(saltBytes), hash: Buffer.alloc(hashBytes) } : undefined;
  }

  /**
   * The principal behind `header` (the Authorization header's value), ANONYMOUS when absent, INVALID otherwise:
   * synchronously unless a scrypt verification is needed, BUSY when too many are under way.
   */
  identify(header: string | undefined): Identity | typeof BUSY | Promise<Identity> {
    if (header === undefined) return ANONYMOUS;
    const cached = this.verified.get(header);
    if (cached !== undefined) return cached;
    const result = this.verify(header);
    if (result === undefined) return INVALID;
    if ('hash' in result) return this.checkScrypt(header, result);
    this.remember(header, result);
    return result;
  }

  /** Verified headers remembered now (for tests). */
  get cacheSize(): number {
    return this.verified.size;
  }

  /** scrypt verifications running or waiting now (for tests). */
  get scryptPending(): number {
    return this.running + this.waiting.length;
  }

  // Bounded by count and by characters (a header may be up to Node's 16 KB): the oldest are forgotten first.
  private remember(header: string, principal: Principal): void {
    if (header.length > MAX_REMEMBERED_CHARS) return;
    while (this.verified.size > 0 && (this.verified.size >= this.maxCached || this.rememberedChars + header.length > MAX_REMEMBERED_CHARS)) {
      const oldest = this.verified.keys().next().value as string;
      this.verified.delete(oldest);
      this.rememberedChars -= oldest.length;
    }
    this.verified.set(header, principal);
    this.rememberedChars += header.length;
  }

  /** Characters of the verified headers remembered now (for tests). */
  get cacheChars(): number {
    return this.rememberedChars;
  }

  private checkScrypt(header: string, claim: ScryptClaim): Identity | typeof BUSY | Promise<Identity> {
    const key = sha256(header).toString('base64');
    if (this.failed.has(key)) return INVALID;
    const already = this.inFlight.get(header);
    if (already !== undefined) return already;
    if (this.running + this.waiting.length >= this.limits.maxRunning + this.limits.maxWaiting) return BUSY;
    const done = this.limited(() => this.verifyPassword(claim.password, claim.hash)).then(
      (ok): Identity => {
        this.inFlight.delete(header);
        if (ok && claim.principal !== undefined) {
          this.remember(header, claim.principal);
          return claim.principal;
        }
        if (this.failed.size >= this.limits.maxFailures) this.failed.delete(this.failed.values().next().value as string);
        this.failed.add(key);
        return INVALID;
      },
      (e: unknown) => {
        this.inFlight.delete(header);
        throw e;
      },
    );
    this.inFlight.set(header, done);
    return done;
  }

  // At most maxRunning tasks at once; a finishing task hands its slot to the next waiting one.
  private async limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limits.maxRunning) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.running--;
    }
  }

  private verify(header: string): Principal | ScryptClaim | undefined {
    const space = header.indexOf(' ');
    if (space < 0) return undefined;
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const user = this.credentials.users.get(decoded.slice(0, colon));
      const password = decoded.slice(colon + 1);
      if (user !== undefined && 'scrypt' in user.password) return { password, hash: user.password.scrypt, principal: user.principal };
      if (user === undefined && this.dummyScrypt !== undefined) return { password, hash: this.dummyScrypt, principal: undefined };
      const legacy = user !== undefined && 'sha256' in user.password ? user.password.sha256 : undefined;
      const ok = timingSafeEqual(sha256(password), legacy ?? this.dummy);
      return ok && user !== undefined && legacy !== undefined ? user.principal : undefined;
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
