// Turns the security settings into what the server needs: the HTTP checks, the TLS key pair, and how to reach peers
// (credentials, CA). Every file is read and checked here, at start; a problem is a ConfigError naming the setting.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, Settings } from '../config/settings';
import { CredentialVerifier, CredentialWarning, loadCredentials } from './credentials';
import { AddressMatcher } from '../codecs/address-set';
import { BasicCredentials } from '../codecs/url-credentials';

/** Security of the HTTP layer, as the composition root derives it from the settings. */
export interface HttpSecurity {
  /** Verifies credentials; absent: authentication is off (everything is allowed). */
  readonly verifier?: CredentialVerifier;
  /** With authentication on: registry reads (and /metrics) need no credentials. */
  readonly anonymousReads: boolean;
  /** Token bucket for GET /apps over the whole server; 0: off. */
  readonly fullFetchesPerSec: number;
  /** Token bucket per client address over every Eureka route; 0: off. */
  readonly requestsPerClientPerSec: number;
  /** The addresses peers connect from: with authentication off, how a peer is recognised; absent: none. */
  readonly peerAddresses?: AddressMatcher;
  /** With authentication off: peer-only requests are honoured only from peerAddresses (false: from anyone). */
  readonly peerAddressCheck?: boolean;
  /**
   * Set when peers are found through DNS: asks for the peer name to be resolved again soon (a batch came from an
   * address not known yet, likely a server that has just appeared); such a batch is answered 503, not 403.
   */
  readonly resolvePeersSoon?: () => void;
}

/** Whether a security configuration does anything at all (the HTTP layer builds no guard otherwise). */
export const isActive = (s: HttpSecurity | undefined): s is HttpSecurity =>
  s !== undefined && (s.verifier !== undefined || s.fullFetchesPerSec > 0 || s.requestsPerClientPerSec > 0);

/** How this server authenticates to its peers and checks their certificates. */
export interface PeerTransportSecurity {
  /** Sent as Basic auth to every peer whose URL carries no user:password@ of its own. */
  readonly credentials?: BasicCredentials;
  /** CA bundle (PEM) https peers are verified against, in place of the system's CAs. */
  readonly ca?: Buffer;
}

/** Everything security-related the composition root wires in. */
export interface ServerSecurity {
  readonly http: HttpSecurity;
  /** Key pair of an https server; absent: plain http. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly peers: PeerTransportSecurity;
  /** Credentials file entries that work but should be upgraded (legacy password hashes), to log at start. */
  readonly warnings: readonly CredentialWarning[];
}

type SecuritySettings = Pick<
  Settings,
  | 'authEnabled'
  | 'authFile'
  | 'authAnonymousReads'
  | 'peerUsername'
  | 'peerPassword'
  | 'tlsCertFile'
  | 'tlsKeyFile'
  | 'peerCaFile'
  | 'rateLimitFullFetchesPerSec'
  | 'rateLimitRequestsPerClientPerSec'
>;

/** Reads the credentials, key pair and CA files the settings name; throws ConfigError naming the setting. */
export function securityFromSettings(s: SecuritySettings): ServerSecurity {
  let verifier: CredentialVerifier | undefined;
  let warnings: readonly CredentialWarning[] = [];
  if (s.authEnabled) {
    if (!s.authFile) throw new ConfigError('Invalid setting authFile: required when authEnabled is true (a JSON credentials file, see README "Security")');
    const credentials = loadCredentials(s.authFile);
    verifier = new CredentialVerifier(credentials);
    warnings = credentials.warnings;
  }

  if (!s.tlsCertFile !== !s.tlsKeyFile) {
    throw new ConfigError(`Invalid setting ${s.tlsCertFile ? 'tlsKeyFile' : 'tlsCertFile'}: tlsCertFile and tlsKeyFile go together (both for https, neither for http)`);
  }
  let tls: ServerSecurity['tls'];
  if (s.tlsCertFile) {
    tls = { cert: readSettingFile('tlsCertFile', s.tlsCertFile), key: readSettingFile('tlsKeyFile', s.tlsKeyFile) };
    try {
      createSecureContext(tls);
    } catch (e) {
      throw new ConfigError(`Invalid setting tlsCertFile/tlsKeyFile (${s.tlsCertFile}, ${s.tlsKeyFile}): ${(e as Error).message}`);
    }
  }

  let ca: Buffer | undefined;
  if (s.peerCaFile) {
    ca = readSettingFile('peerCaFile', s.peerCaFile);
    if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`Invalid setting peerCaFile: ${s.peerCaFile} holds no PEM certificate`);
    try {
      createSecureContext({ ca });
    } catch (e) {
      throw new ConfigError(`Invalid setting peerCaFile (${s.peerCaFile}): ${(e as Error).message}`);
    }
  }

  if (s.peerPassword && !s.peerUsername) throw new ConfigError('Invalid setting peerPassword: set peerUsername too');
  if (s.peerUsername.includes(':')) throw new ConfigError('Invalid setting peerUsername: must not contain ":"');
  const credentials = s.peerUsername ? { username: s.peerUsername, password: s.peerPassword } : undefined;

  return {
    http: {
      verifier,
      anonymousReads: s.authAnonymousReads,
      fullFetchesPerSec: s.rateLimitFullFetchesPerSec,
      requestsPerClientPerSec: s.rateLimitRequestsPerClientPerSec,
    },
    tls,
    peers: { credentials, ca },
    warnings,
  };
}

function readSettingFile(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`Invalid setting ${setting}: cannot read ${file}: ${(e as Error).message}`);
  }
}
