import { EventEmitter } from 'node:events';
import type { FrameReceiver, Port } from '../ports/port.ts';
import { isTransientView, keepFrame } from '../ports/port.ts';
import { openTransport, tunnelStream } from './transport.ts';
import type { Transport } from './transport.ts';
import { getHello, login } from './handshake.ts';
import { Session } from './session.ts';
import type { CascadeOptions } from './options.ts';
import type { CascadeStatus, CascadeState, CascadeError } from './status.ts';
import { emptyCounters } from './status.ts';
import { ServerError } from '../protocol/errors.ts';
import { retryDelayClass } from '../protocol/error-codes.ts';
import { grantedConnections } from '../protocol/login.ts';
import type { Hello } from '../protocol/login.ts';
import type { TlsFacts } from './transport.ts';
import { CertificateChangedError, CertificateUntrustedError, checkServerCertificate, describeCertificate, normalizeFingerprint, trustModeOf } from './trust.ts';
import type { CertificateTrustedEvent, TrustMode } from './trust.ts';
import { ProxyError } from './proxy/proxy-error.ts';
import { describeProxy } from './proxy/proxy-options.ts';
import { cipherOfferOf } from './tls-cipher.ts';
import type { TlsCipherOffer } from './tls-cipher.ts';

const MAX_FRAME = 1600;
/** Local send queue bounds (the stock session's: 1024 blocks / 2.56 MB, docs/protocol-notes.md §7.4). */
const MAX_QUEUED_FRAMES = 1024;
const MAX_QUEUED_BYTES = 2_560_000;
const LONG_RETRY_MS = 60_000;

/**
 * A cascade link to a stock SoftEther VPN Server, seen from the rest of the program as one Port:
 * `write` sends frames to the server's hub, the receiver gets frames from it.
 *
 * Lifecycle (docs/protocol-notes.md §9): log in, run the session until it ends, wait 10 s +-20 % (60 s after "hub busy"-type
 * errors), log in again — forever, also after authentication errors. Owns: the retry timer, the per-batch flush
 * (setImmediate) and the bounded local send queue; the Session owns its own ticker and connections.
 *
 * Server certificate trust (trust.ts): checked right after TLS on the first connection, before any request is
 * sent; a refused certificate is an attempt failure like any other (logged, retried every 10 s, never connects).
 *
 * Events: 'state' (status), 'log' (line), 'connections' (counts), 'certificate-trusted' (CertificateTrustedEvent:
 * store its fingerprint as the cascade's `serverCertSha256`).
 */
export class Cascade extends EventEmitter implements Port {
  readonly name: string;
  readonly options: CascadeOptions;
  #receiver: FrameReceiver | null = null;
  #state: CascadeState = 'idle';
  #session: Session | null = null;
  #connectingTransport: Transport | null = null;
  #lastError: CascadeError | null = null;
  #connectedSince: number | null = null;
  #nextAttemptAt: number | null = null;
  #attempts = 0;
  #sessions = 0;
  #counters = emptyCounters();
  #hello: Hello | null = null;
  #tls: TlsFacts | null = null;
  /** Set once the server has refused ChaCha20-Poly1305 alone: from then on this cascade offers the usual list. */
  #chachaRefused = false;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #wakeRetry: (() => void) | null = null;
  #stopped = true;
  #abort: AbortController | null = null;
  #loop: Promise<void> | null = null;
  /** The administrator asked to log in again now: the next attempt skips the 10 s spacing once. */
  #reconnectRequested = false;
  /** The fingerprint trusted now: from the options, recorded on first use, or accepted through trustServerCertificate. */
  #trustedSha256: string | null;
  /** Exceptions thrown by this cascade's event listeners: caught (they must never stop the reconnect loop), counted. */
  #listenerErrors = 0;

  constructor(options: CascadeOptions, name = 'cascade') {
    super();
    this.options = options;
    this.name = name;
    this.#trustedSha256 = options.serverCertSha256;
  }

  get trustMode(): TrustMode {
    return trustModeOf(this.options, this.#trustedSha256);
  }

  /**
   * The explicit "accept this certificate" action (API method, UI button, `link --pin`): from now on exactly this
   * fingerprint is trusted. A cascade waiting after a refused certificate tries again at once. Emits
   * 'certificate-trusted' (reason 'accepted'). Throws ConfigError for a malformed fingerprint (nothing changes).
   */
  trustServerCertificate(sha256: string): void {
    const fp = normalizeFingerprint(sha256);
    this.#trustedSha256 = fp;
    const known = this.#tls?.certSha256 === fp ? describeCertificate(this.#tls.certDer) : { subject: '', validTo: '' };
    this.#log(`server certificate SHA-256 ${fp} accepted`);
    this.#emitSafe('certificate-trusted', { sha256: fp, reason: 'accepted', ...known } satisfies CertificateTrustedEvent);
    if (this.#state === 'waiting' && this.#lastError?.kind?.startsWith('certificate')) this.#wakeRetry?.();
  }

  // ---- Port ----

  setReceiver(receiver: FrameReceiver | null): void {
    this.#receiver = receiver;
  }

  write(frames: readonly Buffer[]): void {
    const c = this.#counters;
    if (this.#state !== 'online') {
      c.drops.offline += frames.length;
      return;
    }
    for (const f of frames) {
      if (f.length > MAX_FRAME) {
        c.drops.oversize++;
        continue;
      }
      if (this.#queue.length >= MAX_QUEUED_FRAMES || this.#queuedBytes + f.length > MAX_QUEUED_BYTES) {
        c.drops.queueFull++;
        continue;
      }
      // No copy of a frame valid until the end of the turn: the queue is flushed within this event-loop turn
      // (setImmediate) and the encoder copies the frames into the record. A frame valid only during this call (read
      // from another tunnel into its connection's read buffer) is copied (see the Port contract, port.ts).
      this.#queue.push(isTransientView(f) ? keepFrame(f) : f);
      this.#queuedBytes += f.length;
    }
    if (!this.#flushScheduled && this.#queue.length > 0) {
      this.#flushScheduled = true;
      // Coalesce everything written during this event-loop turn into one record (one TLS write).
      setImmediate(this.#flush);
    }
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    const frames = this.#queue;
    if (frames.length === 0) return;
    this.#queue = [];
    const bytes = this.#queuedBytes;
    this.#queuedBytes = 0;
    const s = this.#session;
    if (!s || s.ended) {
      this.#counters.drops.offline += frames.length;
      return;
    }
    this.#counters.framesOut += frames.length;
    this.#counters.bytesOut += bytes;
    s.send(frames);
  };

  // ---- lifecycle ----

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#abort = new AbortController();
    if (!this.options.checkServerCert) {
      this.#log('WARNING: the server certificate is NOT checked (accept any): anyone on the path can pose as the server and relay the login');
    }
    if (this.options.proxy.type !== 'direct') this.#log(`using proxy ${describeProxy(this.options.proxy)}`);
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort?.abort();
    this.#connectingTransport?.destroy();
    this.#session?.end(new Error('stopped'));
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    await this.#loop;
    this.#setState('stopped');
  }

  /**
   * The operator's "reconnect now": end the current session (graceful close of every connection) or cut the
   * retry wait short, and log in again at once. Does nothing while a login is already in progress or when stopped.
   */
  reconnectNow(): void {
    if (this.#stopped) return;
    if (this.#session && !this.#session.ended) {
      this.#reconnectRequested = true;
      this.#session.end(new Error('reconnect requested by the administrator'));
    } else if (this.#wakeRetry) {
      this.#reconnectRequested = true;
      this.#wakeRetry();
    }
  }

  status(): CascadeStatus {
    const s = this.#session;
    const counts = s && !s.ended ? s.connectionCounts() : { total: 0, up: 0, down: 0, connecting: 0 };
    const w = s?.welcome;
    return {
      // Log listeners can run while the last connection is being torn down, before the state moves on.
      state: this.#state === 'online' && counts.total === 0 ? 'connecting' : this.#state,
      lastError: this.#lastError,
      connectedSince: this.#connectedSince ? new Date(this.#connectedSince).toISOString() : null,
      nextAttemptAt: this.#nextAttemptAt ? new Date(this.#nextAttemptAt).toISOString() : null,
      attempts: this.#attempts,
      sessions: this.#sessions,
      connections: { ...counts, granted: s?.granted ?? 0, requested: this.options.maxConnections },
      traffic: structuredClone(this.#counters),
      negotiated: w
        ? {
            sessionName: w.sessionName,
            connectionName: w.connectionName,
            maxConnection: s!.granted,
            useEncrypt: w.useEncrypt,
            useCompress: w.useCompress,
            halfConnection: w.halfConnection,
            qos: w.qos,
            timeoutMs: w.timeoutMs,
            vlanId: w.vlanId,
            policy: { ...w.policy },
          }
        : null,
      server: this.#hello ? { product: this.#hello.serverStr, version: this.#hello.version, build: this.#hello.build } : null,
      tls: this.#tls ? { version: this.#tls.version, cipher: this.#tls.cipher } : null,
      serverCertSha256: this.#tls?.certSha256 ?? null,
      certificateTrust: { mode: this.trustMode, trustedSha256: this.options.checkServerCert ? this.#trustedSha256 : null },
      listenerErrors: this.#listenerErrors,
    };
  }

  /** The DER certificate the server presented on the current (or last) login; null before any. */
  serverCertificate(): Buffer | null {
    return this.#tls?.certDer ?? null;
  }

  /** Per-connection details for diagnostics. */
  connections() {
    return this.#session && !this.#session.ended ? this.#session.connectionDetails() : [];
  }

  #setState(state: CascadeState): void {
    // Never claim "online" without a TCP connection up.
    if (state === 'online' && (!this.#session || this.#session.connectionCounts().total === 0)) state = 'connecting';
    const changed = state !== this.#state;
    this.#state = state;
    if (changed) this.#emitSafe('state', this.status());
  }

  #log(line: string): void {
    this.#emitSafe('log', line);
  }

  /**
   * Every event of the cascade goes out through here. Listeners run synchronously inside the engine (in the run
   * loop, in socket callbacks); one that throws must not reject the run loop (the cascade would never reconnect)
   * nor look like a protocol error of a TCP connection. It is counted (status().listenerErrors) and, unless it was
   * a 'log' listener that failed, logged.
   */
  #emitSafe(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      this.#listenerErrors++;
      if (event !== 'log') this.#log(`a '${event}' listener threw: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  #fail(e: unknown): void {
    const err = e as Error;
    this.#lastError = {
      message: err.message,
      ...(err instanceof ServerError ? { code: err.code, kind: 'server' as const } : {}),
      ...(err instanceof ProxyError ? { kind: 'proxy' as const, proxyFailure: err.kind } : {}),
      ...(err instanceof CertificateChangedError
        ? { kind: 'certificate-changed' as const, certificate: { expected: err.expected, presented: err.presented } }
        : {}),
      ...(err instanceof CertificateUntrustedError ? { kind: 'certificate-untrusted' as const, certificate: { expected: null, presented: err.presented } } : {}),
      at: new Date().toISOString(),
    };
    this.#log(`error: ${err.message}`);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let longWait = false;
      this.#attempts++;
      // Logins are spaced 10 s +-20 % apart (60 s after "hub busy"-type errors), counted from the START of the
      // previous attempt: a login that fails fast is retried 8-12 s later, and a session that was up for a
      // while and then lost is logged in again at once.
      const attemptStartedAt = Date.now();
      this.#setState('connecting');
      try {
        // #connectOnce resolves as soon as the session is up, with a promise of its end inside an object: an async
        // function that returned the bare promise would be resolved BY it, i.e. only when the session ended.
        const { ended } = await this.#connectOnce();
        const reason = await ended;
        if (!this.#stopped) this.#fail(reason);
      } catch (e) {
        if (!this.#stopped) {
          this.#fail(e);
          longWait = e instanceof ServerError && retryDelayClass(e.code) === 'long';
        }
      }
      this.#session = null;
      this.#connectedSince = null;
      if (this.#stopped) break;
      const spacing = longWait ? LONG_RETRY_MS : this.options.retryIntervalMs * (0.8 + Math.random() * 0.4);
      const delay = this.#reconnectRequested ? 0 : Math.max(0, attemptStartedAt + spacing - Date.now());
      this.#reconnectRequested = false;
      this.#nextAttemptAt = Date.now() + delay;
      this.#setState('waiting');
      this.#log(`reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await new Promise<void>((resolve) => {
        this.#wakeRetry = resolve;
        this.#retryTimer = setTimeout(resolve, delay);
      });
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      this.#wakeRetry = null;
      this.#nextAttemptAt = null;
      this.#reconnectRequested = false;
    }
  }

  /** What this cascade's connections offer: its option, else the process's choice, unless the server refused it. */
  #cipherOffer(): TlsCipherOffer {
    if (this.#chachaRefused) return 'server';
    return cipherOfferOf(this.options);
  }

  /** Logs in on a first connection; resolves, once the session runs, with a promise of the session's end. */
  async #connectOnce(): Promise<{ ended: Promise<Error> }> {
    const o = this.options;
    const via = o.proxy.type === 'direct' ? '' : ` through ${describeProxy(o.proxy)}`;
    this.#log(`connecting to ${o.host}:${o.port}${via} hub ${o.hub} as ${o.username}`);
    const offer = this.#cipherOffer();
    const transport = await openTransport({
      host: o.host,
      port: o.port,
      timeoutMs: o.handshakeTimeoutMs,
      detachable: !o.encrypt,
      proxy: o.proxy,
      offer,
      ...(o.caCertsPem ? { ca: o.caCertsPem } : {}),
      ...(this.#abort ? { signal: this.#abort.signal } : {}),
    });
    if (transport.facts.offerRefused) {
      this.#chachaRefused = true;
      this.#log(`the server refused ChaCha20-Poly1305 (${transport.facts.offerRefused}); offering its usual ciphers from now on`);
    }
    this.#connectingTransport = transport;
    try {
      if (this.#stopped) throw new Error('stopped');
      this.#tls = transport.facts;
      // Before any request leaves: a refused certificate never sees the hello request, let alone a password proof.
      const firstUse = this.trustMode === 'first-use';
      checkServerCertificate(transport.facts, this.trustMode, this.#trustedSha256, { plain: o.auth.type === 'plain', allowOverUnverified: o.allowPlainOverUnverified });
      const hostHeader = o.host;
      const hello = await getHello(transport.tls, hostHeader, o.handshakeTimeoutMs);
      this.#hello = hello;
      const qos = o.qos && o.maxConnections >= 2;
      const { welcome, rest } = await login(transport.tls, hostHeader, {
        hub: o.hub,
        username: o.username,
        auth: o.auth,
        identity: o.identity,
        maxConnection: o.maxConnections,
        useEncrypt: o.encrypt,
        useCompress: o.compress,
        halfConnection: o.halfDuplex,
        qos,
      }, hello, o.handshakeTimeoutMs);
      if (welcome.useEncrypt !== o.encrypt) {
        throw new Error(`server answered use_encrypt=${welcome.useEncrypt ? 1 : 0} to a request for ${o.encrypt ? 1 : 0}`);
      }
      if (this.#stopped) throw new Error('stopped');
      if (firstUse && this.trustMode === 'first-use') {
        // Trust on first use: the first certificate that got us logged in is the one from now on.
        this.#trustedSha256 = transport.facts.certSha256;
        this.#log(`server certificate SHA-256 ${transport.facts.certSha256} trusted on first use`);
        this.#emitSafe('certificate-trusted', {
          sha256: transport.facts.certSha256,
          reason: 'first-use',
          ...describeCertificate(transport.facts.certDer),
        } satisfies CertificateTrustedEvent);
      }
      const { socket, initial } = tunnelStream(transport, rest, o.encrypt);
      this.#connectingTransport = null;
      const granted = grantedConnections(welcome, o.maxConnections);
      let resolveEnd!: (e: Error) => void;
      const ended = new Promise<Error>((r) => (resolveEnd = r));
      const c = this.#counters;
      const session = new Session({
        options: o,
        offer: this.#cipherOffer(),
        welcome,
        granted,
        certDer: transport.facts.certDer,
        hostHeader,
        first: { socket, initial },
        callbacks: {
          onFrames: (frames) => {
            c.framesIn += frames.length;
            for (const f of frames) c.bytesIn += f.length;
            try {
              this.#receiver?.(frames);
            } catch (e) {
              // A fault on the local side must not look like a protocol error of this TCP connection (closing it
              // uncleanly would make the server drop the whole session): count it, say it, go on.
              c.drops.localError += frames.length;
              this.#log(`local side failed to take ${frames.length} frame(s): ${(e as Error).message}`);
            }
          },
          onDrop: (reason, n) => {
            if (reason === 'no-connection') c.drops.offline += n;
            else c.drops[reason] += n;
          },
          onChange: () => {
            const current = this.#session; // not yet set while the Session constructor adds its first connection
            if (!current || current.ended) return;
            const counts = current.connectionCounts();
            this.#setState(counts.total > 0 ? 'online' : 'connecting');
            this.#emitSafe('connections', counts);
          },
          onOrphaned: (reason) => {
            this.#fail(new Error(`${reason}; resuming the session`));
          },
          onLog: (line) => this.#log(line),
          onEnd: (reason) => {
            this.#log(`session ${welcome.sessionName} ended: ${reason.message}`);
            resolveEnd(reason);
          },
        },
      });
      this.#session = session;
      if (session.ended) return { ended };
      this.#sessions++;
      this.#attempts = 0; // a session is established (docs/protocol-notes.md §9): before 'online' is announced
      this.#connectedSince = Date.now();
      this.#log(
        `online: session ${welcome.sessionName}, ${granted} connection(s) granted, timeout ${welcome.timeoutMs / 1000} s, ` +
          `${transport.facts.version} ${transport.facts.cipher}, server ${hello.serverStr} build ${hello.build}`,
      );
      this.#setState('online');
      return { ended };
    } catch (e) {
      transport.destroy();
      throw e;
    } finally {
      this.#connectingTransport = null;
    }
  }
}
