/** What the cascade shows the world: the web UI, health checks and the CLI read this and nothing else. */
export type CascadeState = 'idle' | 'connecting' | 'online' | 'waiting' | 'stopped';

export interface CascadeError {
  message: string;
  /** SoftEther error code when the server said it, e.g. 9 for a wrong password. */
  code?: number;
  /** What failed, when known: for the UI (e.g. an "accept the new certificate" button on 'certificate-changed'). */
  kind?: 'server' | 'proxy' | 'certificate-changed' | 'certificate-untrusted';
  /** kind 'proxy': ProxyError's kind (connect, auth, refused, protocol, timeout). */
  proxyFailure?: string;
  /** kind 'certificate-*': the fingerprints (expected null when none was trusted, e.g. a CA failure). */
  certificate?: { expected: string | null; presented: string };
  at: string;
}

export interface CascadeCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  drops: {
    offline: number; // frames written while no session was up
    queueFull: number; // local send queue bound hit
    oversize: number; // > 1600 bytes, either direction
    backlog: number; // the chosen TCP connection was too far behind
    inflate: number; // compressed block that did not inflate
    localError: number; // the local side (hub/port) threw while taking frames from the server
  };
}

export interface CascadeStatus {
  state: CascadeState;
  /** "online" is only ever reported with at least one TCP connection up. */
  lastError: CascadeError | null;
  connectedSince: string | null;
  nextAttemptAt: string | null;
  attempts: number; // logins tried since the last established session
  sessions: number; // sessions established since start
  connections: { total: number; up: number; down: number; connecting: number; granted: number; requested: number };
  traffic: CascadeCounters;
  negotiated: {
    sessionName: string;
    connectionName: string;
    maxConnection: number;
    useEncrypt: boolean;
    useCompress: boolean;
    halfConnection: boolean;
    qos: boolean;
    timeoutMs: number;
    vlanId: number;
    /** The hub's policy for this session as the welcome gave it (`policy:<Name>` without the prefix). */
    policy: Record<string, number>;
  } | null;
  server: { product: string; version: number; build: number } | null;
  tls: { version: string; cipher: string } | null;
  /** SHA-256 of the certificate the server presented last. */
  serverCertSha256: string | null;
  /** How the server certificate is checked and the fingerprint trusted now (null: none yet, or not checked). */
  certificateTrust: { mode: 'ca' | 'fingerprint' | 'first-use' | 'accept-any'; trustedSha256: string | null };
  /** Exceptions thrown by the cascade's own event listeners ('state', 'log', ...): caught and counted. */
  listenerErrors?: number;
}

export function emptyCounters(): CascadeCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    drops: { offline: 0, queueFull: 0, oversize: 0, backlog: 0, inflate: 0, localError: 0 },
  };
}
