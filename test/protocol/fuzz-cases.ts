/**
 * The fuzz cases for everything that parses bytes from the network (Pack, tunnel stream, HTTP answers), shared by
 * the quick pass in the normal suite (fuzz.test.ts) and the long run (scripts/fuzz-long.ts, >= 1 000 000 inputs).
 * The one property that matters: whatever arrives, the decoders either succeed or throw ProtocolError (or report a
 * documented drop), and what they buffer stays bounded.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { HttpResponseParser } from '../../src/protocol/http.ts';
import { decodePack, encodePack } from '../../src/protocol/pack.ts';
import { TUNNEL_LIMITS, TunnelDecoder, encodeFrames, encodeKeepAlive } from '../../src/protocol/tunnel.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const vectors = JSON.parse(fixture('vectors.json').toString('utf8'));

const packSeeds: Buffer[] = [
  'real_server_hello_pack.bin',
  'real_server_welcome_pack.bin',
  'real_cascade_login_pack.bin',
  'real_cascade_additional_connect_pack.bin',
  'admin_rpc_test_request_pack.bin',
  'real_admin_rpc_test_response_pack.bin',
].map(fixture);
packSeeds.push(Buffer.from(vectors.pack_small.hex, 'hex'));

const INTERESTING_U32 = [0, 1, 2, 3, 4, 8, 12, 13, 63, 64, 65, 512, 513, 1600, 1601, 3200, 3201, 65535, 65536, 65537, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'set'; pos: number; value: number }
  | { kind: 'u32'; pos: number; value: number }
  | { kind: 'truncate'; pos: number }
  | { kind: 'insert'; pos: number; bytes: Uint8Array }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'splice'; pos: number; other: number; from: number; len: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('u32' as const), pos: fc.nat(), value: fc.constantFrom(...INTERESTING_U32) }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('splice' as const), pos: fc.nat(), other: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
);

/** Applies mutations; `others` are the inputs a splice may borrow bytes from. */
function mutate(input: Buffer, mutations: readonly Mutation[], others: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = (n: number) => (b.length === 0 ? 0 : n % b.length);
    switch (m.kind) {
      case 'flip':
        if (b.length) b[at(m.pos)] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[at(m.pos)] = m.value;
        break;
      case 'u32':
        if (b.length >= 4) b.writeUInt32BE(m.value, Math.min(at(m.pos), b.length - 4));
        break;
      case 'truncate':
        b = b.subarray(0, at(m.pos));
        break;
      case 'insert': {
        const p = at(m.pos);
        b = Buffer.concat([b.subarray(0, p), m.bytes, b.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = at(m.pos);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + m.len)]);
        break;
      }
      case 'splice': {
        const src = others[m.other % others.length];
        const from = src.length ? m.from % src.length : 0;
        const p = at(m.pos);
        b = Buffer.concat([b.subarray(0, p), src.subarray(from, from + m.len), b.subarray(p)]);
        break;
      }
    }
  }
  return b;
}

const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 6 });

/** decodePack's contract: a Pack (which then round-trips through the encoder) or a ProtocolError('pack'). */
export const packOutcomes = { accepted: 0, rejected: 0 };

function checkDecodePack(input: Buffer): boolean {
  let pack;
  try {
    pack = decodePack(input);
  } catch (e) {
    if (e instanceof ProtocolError && e.layer === 'pack') {
      packOutcomes.rejected++;
      return true;
    }
    throw e;
  }
  packOutcomes.accepted++;
  // Whatever we accept, we can write back, and reading that gives the same elements.
  const again = decodePack(encodePack(pack));
  if (again.size !== pack.size) throw new Error('round trip changed the element count');
  return true;
}



// Valid tunnel streams as seeds: data records (incl. count 0, len 0, max-size), keep-alives.
const frameArb = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: TUNNEL_LIMITS.maxFrame })), fc.nat(255))
  .map(([len, seed]) => Buffer.alloc(len, seed));
const recordArb = fc.oneof(
  fc.array(frameArb, { maxLength: 4 }).map((frames) => ({ kind: 'data' as const, frames })),
  fc.integer({ min: 0, max: TUNNEL_LIMITS.maxKeepAlive }).map((len) => ({ kind: 'ka' as const, len })),
);
const streamArb = fc.array(recordArb, { minLength: 1, maxLength: 5 });

function encodeStream(records: ReadonlyArray<{ kind: 'data'; frames: Buffer[] } | { kind: 'ka'; len: number }>, compressed: boolean): Buffer {
  return Buffer.concat(records.map((r) => (r.kind === 'data' ? encodeFrames(r.frames, compressed) : encodeKeepAlive(r.len))));
}

function split(input: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (input.length ? c % (input.length + 1) : 0)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(input.subarray(prev, p));
    prev = p;
  }
  parts.push(input.subarray(prev));
  return parts;
}

export const tunnelOutcomes = { pushes: 0, closed: 0, frames: 0 };

/** TunnelDecoder's contract under any input and any chunking. Returns the frames it delivered. */
function runTunnel(compressed: boolean, parts: readonly Buffer[]): { frames: Buffer[]; failed: boolean; keepAlives: number } {
  const frames: Buffer[] = [];
  let keepAlives = 0;
  const decoder = new TunnelDecoder({
    compressed,
    onFrames: (fs) => {
      if (fs.length === 0) throw new Error('onFrames called with no frames');
      frames.push(...fs);
    },
    onKeepAlive: () => keepAlives++,
    onDrop: (reason) => {
      if (reason !== 'oversize' && reason !== 'inflate') throw new Error(`undocumented drop reason ${reason}`);
    },
  });
  let failed = false;
  for (const part of parts) {
    try {
      decoder.push(part);
      tunnelOutcomes.pushes++;
    } catch (e) {
      if (!(e instanceof ProtocolError && e.layer === 'tunnel')) throw e;
      failed = true;
      tunnelOutcomes.closed++;
      break;
    }
    if (decoder.bufferedBytes > 4 + TUNNEL_LIMITS.maxBlock) throw new Error(`buffered ${decoder.bufferedBytes} bytes`);
  }
  for (const f of frames) if (f.length > TUNNEL_LIMITS.maxFrame) throw new Error(`delivered a ${f.length}-byte frame`);
  tunnelOutcomes.frames += frames.length;
  return { frames, failed, keepAlives };
}

const cutsArb = fc.array(fc.nat(), { maxLength: 8 });

export const httpOutcomes = { answers: 0, rejected: 0, incomplete: 0 };

const HTTP_MAX_BODY = 65536;

/** HttpResponseParser's contract under any input and chunking: an answer within the body limit, or ProtocolError. */
function runHttp(parts: readonly Buffer[]): boolean {
  const parser = new HttpResponseParser({ maxBody: HTTP_MAX_BODY });
  for (const part of parts) {
    try {
      const res = parser.push(part);
      if (res) {
        if (res.body.length > HTTP_MAX_BODY) return false;
        httpOutcomes.answers++;
        return true;
      }
    } catch (e) {
      if (e instanceof ProtocolError && e.layer === 'http') {
        httpOutcomes.rejected++;
        return true;
      }
      throw e;
    }
  }
  httpOutcomes.incomplete++;
  return true;
}

const httpBody = packSeeds[0]!;
const httpSeed = Buffer.concat([
  Buffer.from(`HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: ${httpBody.length}\r\nContent-Type: application/octet-stream\r\n\r\n`),
  httpBody,
  Buffer.from('ffffffff00000000', 'hex'),
]);

export interface FuzzCase {
  name: string;
  decoder: 'pack' | 'tunnel' | 'http';
  /** Inputs in the normal suite's quick pass. */
  quickRuns: number;
  /** Inputs in the long run (scripts/fuzz-long.ts). */
  longRuns: number;
  /** Runs numRuns inputs (fast-check; throws with the counterexample on a violation). */
  run(numRuns: number, seed?: number): void;
}

const randomPrefixed = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  // Plausible small element counts in front of random bytes get past the first check.
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 256 })).map(([n, rest]) => {
    const b = Buffer.alloc(4 + rest.length);
    b.writeUInt32BE(n);
    b.set(rest, 4);
    return b;
  }),
);

const opts = (numRuns: number, seed?: number) => ({ numRuns, ...(seed === undefined ? {} : { seed }) });

export const FUZZ_CASES: readonly FuzzCase[] = [
  {
    name: 'decodePack: random bytes',
    decoder: 'pack',
    quickRuns: 20_000,
    longRuns: 150_000,
    run: (n, seed) => fc.assert(fc.property(randomPrefixed, (bytes) => checkDecodePack(Buffer.from(bytes))), opts(n, seed)),
  },
  {
    name: 'decodePack: mutated real Packs (bit flips, truncation, splicing, interesting u32s)',
    decoder: 'pack',
    quickRuns: 60_000,
    longRuns: 350_000,
    run: (n, seed) =>
      fc.assert(
        fc.property(fc.nat(packSeeds.length - 1), mutationsArb, (i, muts) => checkDecodePack(mutate(packSeeds[i]!, muts, packSeeds))),
        opts(n, seed),
      ),
  },
  {
    name: 'TunnelDecoder: random bytes, random chunking, both modes',
    decoder: 'tunnel',
    quickRuns: 20_000,
    longRuns: 150_000,
    run: (n, seed) =>
      fc.assert(
        fc.property(fc.boolean(), fc.uint8Array({ maxLength: 512 }), cutsArb, (compressed, bytes, cuts) => {
          runTunnel(compressed, split(Buffer.from(bytes), cuts));
          return true;
        }),
        opts(n, seed),
      ),
  },
  {
    name: 'TunnelDecoder: mutated valid streams',
    decoder: 'tunnel',
    quickRuns: 40_000,
    longRuns: 200_000,
    run: (n, seed) =>
      fc.assert(
        fc.property(fc.boolean(), streamArb, mutationsArb, cutsArb, (compressed, records, muts, cuts) => {
          const s = encodeStream(records, compressed);
          runTunnel(compressed, split(mutate(s, muts, [s]), cuts));
          return true;
        }),
        opts(n, seed),
      ),
  },
  {
    name: 'TunnelDecoder: valid streams survive any chunking unchanged',
    decoder: 'tunnel',
    quickRuns: 5_000,
    longRuns: 50_000,
    run: (n, seed) =>
      fc.assert(
        fc.property(fc.boolean(), streamArb, cutsArb, (compressed, records, cuts) => {
          const { frames, failed, keepAlives } = runTunnel(compressed, split(encodeStream(records, compressed), cuts));
          const expected = records.flatMap((r) => (r.kind === 'data' ? r.frames : []));
          // Empty blocks are legal and skipped (compressed ones inflate to nothing), like the C receiver.
          const want = expected.filter((f) => f.length > 0);
          return (
            !failed &&
            keepAlives === records.filter((r) => r.kind === 'ka').length &&
            frames.length === want.length &&
            frames.every((f, i) => f.equals(want[i]!))
          );
        }),
        opts(n, seed),
      ),
  },
  {
    name: 'HttpResponseParser: mutated responses, random chunking',
    decoder: 'http',
    quickRuns: 10_000,
    longRuns: 120_000,
    run: (n, seed) =>
      fc.assert(fc.property(mutationsArb, cutsArb, (muts, cuts) => runHttp(split(mutate(httpSeed, muts, [httpSeed, httpBody]), cuts))), opts(n, seed)),
  },
  {
    name: 'HttpResponseParser: random bytes behind a plausible status line',
    decoder: 'http',
    quickRuns: 5_000,
    longRuns: 30_000,
    run: (n, seed) =>
      fc.assert(
        fc.property(fc.boolean(), fc.uint8Array({ maxLength: 600 }), cutsArb, (prefixed, bytes, cuts) => {
          const input = prefixed ? Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), bytes]) : Buffer.from(bytes);
          return runHttp(split(input, cuts));
        }),
        opts(n, seed),
      ),
  },
];
