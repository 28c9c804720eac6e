// Credentials in server URLs (http://user:pass@host:8761/eureka/, as Spring, the zones file and the admin CLI's
// --server write them): split off for sending as Basic auth, and removed or masked in anything shown.

/** Basic credentials. */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

// The userinfo ends at the last `@` of the authority, as WHATWG URL (and so axios) reads it: a raw `@` in a
// password must not leave part of the password in what is shown.
const USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)@/;

/** The URL without its user:password@ part (the rest of the string untouched). */
export function stripCredentials(url: string): string {
  return url.replace(USERINFO, '$1');
}

/** The URL's user:password (percent-decoded), if it has any, and the URL without them. */
export function splitCredentials(url: string): { readonly url: string; readonly credentials?: BasicCredentials } {
  const m = USERINFO.exec(url);
  if (!m) return { url };
  const userinfo = m[2];
  const colon = userinfo.indexOf(':');
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
  return { url: m[1] + url.slice(m[0].length), credentials: { username, password } };
}

/** The URL's userinfo as it may be shown: `user:***@` (user name as written), `user@`, or '' when it has none. */
export function maskedUserinfo(url: string): string {
  const m = USERINFO.exec(url);
  if (!m) return '';
  const colon = m[2].indexOf(':');
  const user = colon < 0 ? m[2] : m[2].slice(0, colon);
  const hasPassword = colon >= 0 && colon < m[2].length - 1;
  return hasPassword ? `${user}:***@` : `${user}@`;
}

/** The value of an Authorization header for Basic credentials. */
export const basicAuthorization = (c: BasicCredentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
