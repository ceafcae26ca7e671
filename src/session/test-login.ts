import { openTransport } from './transport.ts';
import { getHello, login } from './handshake.ts';
import type { CascadeOptions } from './options.ts';
import { ServerError } from '../protocol/errors.ts';
import { ProxyError } from './proxy/proxy-error.ts';
import { CertificateChangedError, CertificateUntrustedError, checkServerCertificate, trustModeOf } from './trust.ts';
import { errorMessage } from '../protocol/error-codes.ts';
import { grantedConnections } from '../protocol/login.ts';
import { cipherOfferOf } from './tls-cipher.ts';

export interface TestLoginResult {
  ok: boolean;
  /** SoftEther error code (0 when ok; 1 for a connect/TLS failure without a server answer). */
  error: number;
  errorText: string;
  server: { product: string; version: number; build: number } | null;
  granted: number;
  certSha256: string | null;
  tls: { version: string; cipher: string } | null;
}

const GRACEFUL_CLOSE_MS = 2000;

/**
 * "Test connection": one real login with the given options on one TCP connection, then a graceful close
 * (TLS close_notify: an unclean end would make the server drop the session in a way that looks like a fault).
 * Tells what a cascade with these settings would meet: the server's product and build, the connection count it
 * grants, its certificate fingerprint, or the exact error. Never throws.
 */
export async function testLogin(o: CascadeOptions, signal?: AbortSignal): Promise<TestLoginResult> {
  const result: TestLoginResult = { ok: false, error: 0, errorText: '', server: null, granted: 0, certSha256: null, tls: null };
  let transport;
  try {
    transport = await openTransport({
      host: o.host,
      port: o.port,
      timeoutMs: o.handshakeTimeoutMs,
      detachable: false,
      proxy: o.proxy,
      // What the cascade would offer (tls-cipher.ts), so the cipher shown is the one it will get.
      offer: o.encrypt ? cipherOfferOf(o) : 'server',
      ...(o.caCertsPem ? { ca: o.caCertsPem } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    result.error = 1;
    result.errorText = `${errorMessage(1)} (${(e as Error).message})`;
    return result;
  }
  try {
    result.certSha256 = transport.facts.certSha256;
    result.tls = { version: transport.facts.version, cipher: transport.facts.cipher };
    // The same certificate rules as the cascade, before anything is sent: a changed certificate never sees a
    // password proof, and a plain-text password never goes to an unverified server.
    try {
      const f = transport.facts;
      checkServerCertificate(f, trustModeOf(o, o.serverCertSha256), o.serverCertSha256, { plain: o.auth.type === 'plain', allowOverUnverified: o.allowPlainOverUnverified });
    } catch (e) {
      if (!(e instanceof CertificateChangedError || e instanceof CertificateUntrustedError)) throw e;
      result.error = 85;
      result.errorText = `${errorMessage(85)} (${e.message})`;
      return result;
    }
    const hello = await getHello(transport.tls, o.host, o.handshakeTimeoutMs);
    result.server = { product: hello.serverStr, version: hello.version, build: hello.build };
    const { welcome } = await login(transport.tls, o.host, {
      hub: o.hub,
      username: o.username,
      auth: o.auth,
      // A different unique id than the cascade's own, so the test never looks like the running link logging in twice.
      identity: { ...o.identity, uniqueId: Buffer.from(o.identity.uniqueId.map((b) => b ^ 0x5a)) },
      maxConnection: o.maxConnections,
      useEncrypt: true,
      useCompress: false,
      halfConnection: false,
      qos: o.qos && o.maxConnections >= 2,
    }, hello, o.handshakeTimeoutMs);
    result.ok = true;
    result.granted = grantedConnections(welcome, o.maxConnections);
    return result;
  } catch (e) {
    if (e instanceof ServerError) {
      result.error = e.code;
      result.errorText = errorMessage(e.code);
    } else if (e instanceof ProxyError) {
      result.error = e.kind === 'auth' ? 19 : 18; // SoftEther's ERR_PROXY_AUTH_FAILED / ERR_PROXY_ERROR
      result.errorText = e.message;
    } else {
      result.error = 1;
      result.errorText = (e as Error).message;
    }
    return result;
  } finally {
    await closeGracefully(transport);
  }
}

async function closeGracefully(t: { tls: import('node:tls').TLSSocket; destroy(): void }): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      t.destroy();
      resolve();
    }, GRACEFUL_CLOSE_MS);
    t.tls.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    t.tls.on('error', () => {});
    t.tls.end();
  });
}
