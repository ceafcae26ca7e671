/**
 * Which TLS cipher the cascade asks the server for.
 *
 * The stock server's own order wins (docs/protocol-notes.md §2.1, "TLS cipher"), and it puts AES-GCM first: with TLS 1.3
 * it picks TLS_AES_256_GCM_SHA384. On a CPU with AES instructions that is the fastest choice. On one without them,
 * like the Raspberry Pi 4's Cortex-A72, AES-GCM runs in plain software at a quarter of ChaCha20-Poly1305's speed
 * and the encryption alone caps the tunnel (bench/README.md, "A CPU without AES instructions"). The server accepts
 * ChaCha20-Poly1305 too, so a client that offers only that gets it; a server that refuses it is asked again with
 * the usual list (src/session/transport.ts).
 *
 * `SEBRIDGE_TLS_CIPHER`: `auto` (default: time both on this CPU once, offer ChaCha20-Poly1305 when it is clearly
 * faster), `server` (the usual list: the server's choice), `chacha20` (always offer ChaCha20-Poly1305 first).
 * Anything else is refused at start with the variable named.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from './config-error.ts';

export const TLS_CIPHER_POLICIES = ['auto', 'server', 'chacha20'] as const;
export type TlsCipherPolicy = (typeof TLS_CIPHER_POLICIES)[number];

/** What a cascade offers: the usual list (the server decides), or ChaCha20-Poly1305 alone. */
export type TlsCipherOffer = 'server' | 'chacha20';

/**
 * ChaCha20-Poly1305 in TLS 1.3 and, for servers that stop at TLS 1.2, with ECDHE and either kind of certificate.
 * Node hands the TLS_ names to OpenSSL's TLS 1.3 list and the others to its TLS 1.2 list.
 */
export const CHACHA20_CIPHERS = 'TLS_CHACHA20_POLY1305_SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-CHACHA20-POLY1305';

/** auto offers ChaCha20-Poly1305 only when it encrypts at least this many times as fast as AES-256-GCM. */
export const CHACHA20_ADVANTAGE = 1.5;

export function tlsCipherPolicy(value: string | undefined): TlsCipherPolicy {
  if (value === undefined || value === '') return 'auto';
  if ((TLS_CIPHER_POLICIES as readonly string[]).includes(value)) return value as TlsCipherPolicy;
  throw new ConfigError('SEBRIDGE_TLS_CIPHER', `must be one of ${TLS_CIPHER_POLICIES.join(', ')}, got "${value.slice(0, 40)}"`);
}

/** Encryption speed of the two AEADs the stock server offers, on this CPU, through Node's own OpenSSL. */
export interface AeadSpeeds {
  aes256GcmMBs: number;
  chacha20MBs: number;
}

const CHUNK = 16 * 1024; // one TLS record's worth
const ROUNDS = 3;
const CHUNKS_PER_ROUND = 16; // 256 KiB: ~0.25 ms with AES instructions, ~5 ms on a Cortex-A72 without them

function bestRate(algorithm: 'aes-256-gcm' | 'chacha20-poly1305', data: Buffer): number {
  const key = randomBytes(32);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    const c = algorithm === 'aes-256-gcm' ? createCipheriv(algorithm, key, randomBytes(12)) : createCipheriv(algorithm, key, randomBytes(12), { authTagLength: 16 });
    for (let i = 0; i < CHUNKS_PER_ROUND; i++) c.update(data);
    c.final();
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  return (CHUNK * CHUNKS_PER_ROUND * 1000) / Math.max(best, 1); // bytes per ns * 1000 = MB/s
}

/** Times both ciphers (a few milliseconds at most, the best of three rounds each). */
export function measureAeadSpeeds(): AeadSpeeds {
  const data = randomBytes(CHUNK);
  return { aes256GcmMBs: bestRate('aes-256-gcm', data), chacha20MBs: bestRate('chacha20-poly1305', data) };
}

export function offerFor(policy: TlsCipherPolicy, speeds: AeadSpeeds | undefined): TlsCipherOffer {
  if (policy !== 'auto') return policy;
  if (!speeds) return 'server';
  return speeds.chacha20MBs >= CHACHA20_ADVANTAGE * speeds.aes256GcmMBs ? 'chacha20' : 'server';
}

export interface TlsCipherChoice {
  policy: TlsCipherPolicy;
  offer: TlsCipherOffer;
  /** Only for auto: what the choice was made on. */
  speeds?: AeadSpeeds;
}

let processChoice: TlsCipherChoice | undefined;

/**
 * The choice for this process, from SEBRIDGE_TLS_CIPHER (measured once, on first use: the CPU does not change).
 * Throws a ConfigError naming the variable for an unknown value.
 */
export function processTlsCipherChoice(env: NodeJS.ProcessEnv = process.env): TlsCipherChoice {
  const policy = tlsCipherPolicy(env.SEBRIDGE_TLS_CIPHER);
  if (processChoice?.policy === policy) return processChoice;
  const speeds = policy === 'auto' ? measureAeadSpeeds() : undefined;
  processChoice = { policy, offer: offerFor(policy, speeds), ...(speeds ? { speeds } : {}) };
  return processChoice;
}

/** What a cascade with these options offers: its own setting, else the process's choice. */
export function cipherOfferOf(o: { tlsCipher?: TlsCipherOffer }): TlsCipherOffer {
  return o.tlsCipher ?? processTlsCipherChoice().offer;
}

/** One line for the start-up log. */
export function describeTlsCipherChoice(c: TlsCipherChoice): string {
  const measured = c.speeds
    ? ` (this CPU encrypts AES-256-GCM at ${c.speeds.aes256GcmMBs.toFixed(0)} MB/s, ChaCha20-Poly1305 at ${c.speeds.chacha20MBs.toFixed(0)} MB/s)`
    : '';
  const what = c.offer === 'chacha20' ? 'TLS: offering ChaCha20-Poly1305 only (the usual list if the server refuses it)' : "TLS: the server's cipher choice";
  return `${what}${measured}${c.policy === 'auto' ? '' : `, SEBRIDGE_TLS_CIPHER=${c.policy}`}`;
}
