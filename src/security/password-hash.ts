// Salted scrypt password hashes in one self-describing string, `scrypt$N$r$p$<salt base64>$<hash base64>`: making one
// (the hash-password command), reading one from the credentials file with bounded parameters, and checking a password
// against one on libuv's thread pool, never on the event loop.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** A parsed scrypt hash: the cost parameters, the salt and the derived key. */
export interface ScryptHash {
  /** CPU/memory cost: a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/**
 * Defaults: N=2^14, r=8, p=1, as Node's crypto.scrypt and scrypt's paper for interactive logins; 16 MiB and about
 * 40 ms of one core per verification, paid once per distinct Authorization header (verified ones are remembered).
 */
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1, saltBytes: 16, hashBytes: 32 } as const;

/** Least work (N·r·p) a hash may ask for: the defaults'. */
export const MIN_SCRYPT_WORK = SCRYPT_DEFAULTS.N * SCRYPT_DEFAULTS.r * SCRYPT_DEFAULTS.p;
/** Most work (N·r·p) a hash may ask for: 8 × the defaults', about a third of a second; a file cannot ask for minutes. */
export const MAX_SCRYPT_WORK = 8 * MIN_SCRYPT_WORK;
/** Most memory a hash may ask for (128·N·r bytes): 64 MiB. */
export const MAX_SCRYPT_MEMORY_BYTES = 64 * 1024 * 1024;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const INTEGER = /^[1-9][0-9]{0,9}$/;

/** Reads `scrypt$N$r$p$salt$hash`; a string saying what is wrong when it is malformed or out of bounds. */
export function parseScryptHash(text: string): ScryptHash | string {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'must be "scrypt$N$r$p$<salt base64>$<hash base64>" (made by `zone-registry hash-password`)';
  const [, nText, rText, pText, saltText, hashText] = parts;
  if (!INTEGER.test(nText) || !INTEGER.test(rText) || !INTEGER.test(pText)) return 'N, r and p must be positive whole numbers';
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  if (N < 2 || (N & (N - 1)) !== 0) return `N must be a power of two, not ${N}`;
  const work = N * r * p;
  if (work < MIN_SCRYPT_WORK) return `N·r·p is ${work}, below ${MIN_SCRYPT_WORK} (N=16384, r=8, p=1): too cheap to guess against`;
  if (work > MAX_SCRYPT_WORK) return `N·r·p is ${work}, above ${MAX_SCRYPT_WORK}: each verification would take too long`;
  if (128 * N * r > MAX_SCRYPT_MEMORY_BYTES) return `128·N·r is ${128 * N * r} bytes, above ${MAX_SCRYPT_MEMORY_BYTES}`;
  if (!BASE64.test(saltText) || !BASE64.test(hashText)) return 'salt and hash must be base64';
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < 8 || salt.length > 64) return `the salt must be 8 to 64 bytes, not ${salt.length}`;
  if (hash.length < 16 || hash.length > 64) return `the hash must be 16 to 64 bytes, not ${hash.length}`;
  return { N, r, p, salt, hash };
}

/** The string form of a hash, as parseScryptHash reads it. */
export function formatScryptHash(h: ScryptHash): string {
  return `scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
}

function derive(password: string, h: Pick<ScryptHash, 'N' | 'r' | 'p' | 'salt'>, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: what these parameters need (OpenSSL counts 128·r·(N+p+2)) plus slack; parseScryptHash bounds it.
    const maxmem = 128 * h.r * (h.N + h.p + 2) + 1024 * 1024;
    scrypt(password, h.salt, bytes, { N: h.N, r: h.r, p: h.p, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes a password with a fresh random salt and the default parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const params = { N: SCRYPT_DEFAULTS.N, r: SCRYPT_DEFAULTS.r, p: SCRYPT_DEFAULTS.p, salt };
  return formatScryptHash({ ...params, hash: await derive(password, params, SCRYPT_DEFAULTS.hashBytes) });
}

/** True when `password` matches `h`; runs on the thread pool, compares in constant time. */
export async function verifyScrypt(password: string, h: ScryptHash): Promise<boolean> {
  return timingSafeEqual(await derive(password, h, h.hash.length), h.hash);
}
