/**
 * readInto (src/session/read-into.ts): a connected socket's reads land in one caller-owned buffer instead of a new
 * ArrayBuffer each. It uses Node internals, so these tests pin down that the project's Node takes the path (a Node
 * upgrade that breaks it fails here, not silently in the memory numbers), and that nothing is lost, reordered or
 * duplicated across the switch, over TLS on a connected net.Socket (how every tunnel connection is made) and on a
 * plain TCP socket (use_encrypt=0).
 */
import test from 'ava';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readInto, resumeReading } from '../../src/session/read-into.ts';
import { testCertificate } from './fake-server.ts';

const PATTERN = randomBytes(3 * 1024 * 1024 + 17);

/** Writes `first`, waits for `go`, then the pattern in writes of varied sizes, then ends. */
async function sendAll(socket: net.Socket, first: Buffer, go: Promise<void>): Promise<void> {
  socket.write(first);
  await go;
  let off = 0;
  let n = 1;
  while (off < PATTERN.length) {
    const len = Math.min(PATTERN.length - off, (n * 7919) % 70_000 + 1);
    if (!socket.write(PATTERN.subarray(off, off + len))) await once(socket, 'drain');
    off += len;
    n++;
  }
  socket.end();
}

interface Received {
  viaData: Buffer[];
  viaBuffer: Buffer[];
  buffersSeen: Set<ArrayBufferLike>;
  switched: boolean;
}

/**
 * The client side: lets `first` arrive while paused (so it sits in the stream's queue), switches to readInto, then
 * reads everything until the end. Returns what came which way.
 */
async function receive(socket: net.Socket, firstLength: number, go: () => void): Promise<Received> {
  socket.pause();
  const deadline = Date.now() + 5000;
  while (socket.readableLength < firstLength && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const r: Received = { viaData: [], viaBuffer: [], buffersSeen: new Set(), switched: false };
  const buf = Buffer.alloc(65536);
  socket.on('data', (c: Buffer) => r.viaData.push(Buffer.from(c)));
  r.switched = readInto(socket, buf, (c) => {
    r.buffersSeen.add(c.buffer);
    r.viaBuffer.push(Buffer.from(c)); // a view valid only during this call: copy to keep
  });
  const ended = once(socket, 'end');
  socket.resume();
  go();
  await ended;
  return r;
}

/** A plain TCP server on loopback running `serve` per connection, and a client connected to it; both closed on teardown. */
async function plainPair(t: import('ava').ExecutionContext, serve: (s: net.Socket) => void): Promise<net.Socket> {
  const server = net.createServer(serve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const s = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  await once(s, 'connect');
  t.teardown(() => s.destroy());
  return s;
}

function check(t: import('ava').ExecutionContext, r: Received, first: Buffer, buffer?: ArrayBufferLike): void {
  t.true(r.switched, 'readInto took the path on this Node');
  t.deepEqual(Buffer.concat(r.viaData), first, "bytes read before the switch came as 'data', and nothing after them");
  t.true(Buffer.concat(r.viaBuffer).equals(PATTERN), 'every byte after the switch came through the buffer, in order');
  t.true(r.viaBuffer.length > 10, `many reads (${r.viaBuffer.length})`);
  t.is(r.buffersSeen.size, 1, 'all of them in one ArrayBuffer');
  if (buffer) t.true(r.buffersSeen.has(buffer));
}

test('TLS started on a connected net.Socket: reads land in the given buffer, after the bytes queued before', async (t) => {
  const { key, cert } = testCertificate('a');
  const first = Buffer.from('queued before the switch');
  let release!: () => void;
  const go = new Promise<void>((r) => (release = r));
  const server = tls.createServer({ key, cert }, (s) => void sendAll(s, first, go));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const tcp = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  await once(tcp, 'connect');
  const s = tls.connect({ socket: tcp, rejectUnauthorized: false });
  await once(s, 'secureConnect');
  t.teardown(() => s.destroy());
  const r = await receive(s, first.length, release);
  check(t, r, first);
  t.true(r.viaBuffer.every((c) => c.length <= 16384), 'TLS hands over at most one record of plaintext per read');
});

test('plain TCP socket: reads land in the given buffer; the end still comes', async (t) => {
  const first = Buffer.from('raw bytes first');
  let release!: () => void;
  const go = new Promise<void>((r) => (release = r));
  const s = await plainPair(t, (peer) => void sendAll(peer, first, go));
  const r = await receive(s, first.length, release);
  check(t, r, first);
});

test('a socket without a native handle is left alone', (t) => {
  const s = new net.Socket();
  t.false(readInto(s, Buffer.alloc(16), () => t.fail('no read can come')));
  s.destroy();
});

test('onChunk returning false stops reading until resumeReading(); nothing is lost', async (t) => {
  const total = 8 * 1024 * 1024;
  const s = await plainPair(t, (peer) => peer.end(Buffer.alloc(total, 0x5a)));
  let got = 0;
  let stopped = false;
  let whileStopped = 0;
  let stops = 0;
  s.on('data', (c: Buffer) => (got += c.length));
  t.true(readInto(s, Buffer.alloc(65536), (c) => {
    if (stopped) whileStopped++;
    got += c.length;
    stopped = true;
    stops++;
    setTimeout(() => {
      stopped = false;
      resumeReading(s);
    }, 1);
    return false;
  }));
  await once(s, 'end');
  t.is(got, total);
  t.is(whileStopped, 0, 'no read between a false return and resumeReading()');
  t.true(stops > 10, `${stops} stops`);
});
