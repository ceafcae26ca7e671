/**
 * Why a connection through a proxy failed. `kind` lets the UI and the tests tell the cases apart without
 * matching message text:
 * - 'connect': the proxy itself could not be reached (refused, unreachable, reset before it answered);
 * - 'auth': the proxy wants credentials or refused ours (HTTP 407, SOCKS5 method/user-password refusals);
 * - 'refused': the proxy answered but would not connect us to the server (non-2xx status, SOCKS reply code);
 * - 'protocol': the proxy's answer is not the protocol we speak (garbage, over-long header, wrong version);
 * - 'timeout': the proxy step did not finish within the handshake timeout.
 */
export type ProxyErrorKind = 'connect' | 'auth' | 'refused' | 'protocol' | 'timeout';

export class ProxyError extends Error {
  readonly kind: ProxyErrorKind;
  constructor(kind: ProxyErrorKind, message: string) {
    super(message);
    this.name = 'ProxyError';
    this.kind = kind;
  }
}

/** Bytes from a proxy shown in an error: printable ASCII only, bounded, so garbage cannot flood a log line. */
export function printable(bytes: Buffer | string, max = 120): string {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
