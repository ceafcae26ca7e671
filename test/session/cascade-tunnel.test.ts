/**
 * Tunnel mode against the scripted fake server: malformed records, oversize frames, compression, use_encrypt=0
 * with tunnel bytes in the same TCP write as the welcome, and half-duplex directions.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { deflateSync, inflateSync } from 'node:zlib';
import { encodeFrames, encodeKeepAlive } from '../../src/protocol/tunnel.ts';
import { isTransientView, markTransient } from '../../src/ports/port.ts';
import type { FakeTunnel } from './fake-server.ts';
import { fakeServer, cascadeTo, waitForStatus, sleep, testFrame, u32 } from './fake-server.ts';

const framesOf = (ts: FakeTunnel[]) => ts.flatMap((x) => x.frames);

const malformed: Array<[string, Buffer]> = [
  ['a block of 3201 bytes', Buffer.concat([u32(1), u32(3201), Buffer.alloc(3201, 0xab)])],
  ['a keep-alive of 513 bytes', Buffer.concat([u32(0xffffffff), u32(513), Buffer.alloc(513, 0xcd)])],
  // 'GARB' reads as a block count, 'AGE!' as a block length far above 3200.
  ['garbage', Buffer.from('GARBAGE! this is not a tunnel record at all', 'latin1')],
];

for (const [what, bad] of malformed) {
  test(`tunnel: ${what} from the server closes that TCP connection only; frames before it count`, async (t) => {
    const server = await fakeServer(t);
    const { cascade, port, log } = cascadeTo(t, server, { maxConnections: 2 });
    await waitForStatus(cascade, (s) => s.state === 'online' && s.connections.total === 2, 5000, '2 connections');
    const victim = server.sessions[0]!.tunnels[0]!;
    const other = server.sessions[0]!.tunnels[1]!;
    const good = [testFrame(1), testFrame(2, 1600)];
    // Two good frames and the bad bytes in one write: the decoder sees them in one chunk.
    victim.sendRaw(Buffer.concat([encodeFrames(good, false), bad]));
    await victim.conn.whenClosed();
    const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 5000, 'the pool refilled');

    t.deepEqual(port.written, good, 'the frames before the violation were delivered');
    t.is(s.traffic.framesIn, 2);
    t.is(s.traffic.bytesIn, 64 + 1600);
    t.deepEqual(s.traffic.drops, { offline: 0, queueFull: 0, oversize: 0, backlog: 0, inflate: 0, localError: 0 });
    t.false(other.conn.closed, 'the other connection is untouched');
    t.is(s.sessions, 1, 'no re-login for one bad connection');
    t.is(server.logins.length, 1);
    t.true(log.some((l) => /connection 1 closed: protocol error from server: tunnel:/.test(l)), 'the reason is logged');
    // The engine still works on the replacement connection.
    server.liveTunnels().at(-1)!.sendFrames([testFrame(3)]);
    await port.waitFor((f) => f.equals(testFrame(3)), 4000);
  });
}

test('tunnel: frames of 1601 bytes are dropped and counted, 1600 delivered, the connection stays', async (t) => {
  const server = await fakeServer(t);
  const { cascade, port } = cascadeTo(t, server, { maxConnections: 1 });
  await waitForStatus(cascade, (s) => s.state === 'online', 5000, 'online');
  const tunnel = server.liveTunnels()[0]!;
  tunnel.sendRaw(encodeFrames([testFrame(1)], false));
  // encodeFrames refuses > 1600, so build the record by hand.
  const big = testFrame(2, 1601);
  tunnel.sendRaw(Buffer.concat([u32(3), u32(64), testFrame(3), u32(big.length), big, u32(1600), testFrame(4, 1600)]));
  await sleep(300);
  tunnel.sendFrames([testFrame(5)]);
  await port.waitFor((f) => f.equals(testFrame(5)), 4000);
  const s = cascade.status();
  t.deepEqual(port.written, [testFrame(1), testFrame(3), testFrame(4, 1600), testFrame(5)]);
  t.is(s.traffic.drops.oversize, 1);
  t.is(s.traffic.framesIn, 4);
  t.false(tunnel.conn.closed);
  t.is(s.connections.total, 1);
  t.is(server.connections.length, 1, 'no new connection was needed');
});

test('compression: frames are zlib-inflated from the server and zlib-deflated to it; bad blocks are dropped, not fatal', async (t) => {
  const server = await fakeServer(t);
  const { cascade, port } = cascadeTo(t, server, { maxConnections: 2, compress: true });
  const s0 = await waitForStatus(cascade, (s) => s.state === 'online' && s.connections.total === 2, 5000, '2 connections');
  t.true(s0.negotiated!.useCompress);
  const [a, b] = server.liveTunnels();

  // Server -> client: one block per frame, each its own zlib stream (sendFrames compresses in a compressed session).
  const down = [testFrame(1), Buffer.alloc(1600, 7), testFrame(2, 900)];
  a!.sendFrames(down);
  await port.waitFor((f) => f.equals(down[2]!), 4000);
  t.deepEqual(port.written, down);

  // Client -> server.
  const up = [testFrame(10), Buffer.alloc(1600, 0), testFrame(11, 1500)];
  cascade.write(up);
  await server.waitFor(() => framesOf(server.liveTunnels()).length >= 3, 4000, 'frames at the server');
  const tunnels = server.liveTunnels();
  t.deepEqual(framesOf(tunnels), up, 'inflated at the server: identical');
  const blocks = tunnels.flatMap((x) => x.blocks);
  t.is(blocks.length, 3);
  for (const [i, blk] of blocks.entries()) {
    t.is(blk[0], 0x78, 'zlib header (RFC 1950), not raw deflate or gzip');
    t.deepEqual(inflateSync(blk), up[i]);
  }
  t.true(blocks[1]!.length < 100, 'a 1600-byte run compresses');

  // A block that is not zlib, and one that inflates beyond 1600 bytes: dropped and counted, connection stays.
  const notZlib = Buffer.from('definitely not a zlib stream');
  const bomb = deflateSync(Buffer.alloc(5000));
  b!.sendRaw(Buffer.concat([u32(3), u32(notZlib.length), notZlib, u32(bomb.length), bomb, u32(deflateSync(testFrame(3)).length), deflateSync(testFrame(3))]));
  await port.waitFor((f) => f.equals(testFrame(3)), 4000);
  const s = cascade.status();
  t.is(s.traffic.drops.inflate, 1);
  t.is(s.traffic.drops.oversize, 1);
  t.is(s.traffic.framesIn, 4);
  t.false(b!.conn.closed);
  t.is(s.connections.total, 2);
});

test('use_encrypt=0: raw TCP after the welcome, with tunnel bytes in the same TCP write as the TLS record; frames flow both ways', async (t) => {
  const first = [testFrame(1), testFrame(2, 1600)];
  const second = [testFrame(3)];
  const server = await fakeServer(t, {
    login: () => ({ tunnelBytes: Buffer.concat([encodeKeepAlive(16), encodeFrames(first, false)]) }),
    additional: () => ({ tunnelBytes: encodeFrames(second, false) }),
  });
  const { cascade, port } = cascadeTo(t, server, { maxConnections: 2, encrypt: false });
  const s0 = await waitForStatus(cascade, (s) => s.state === 'online' && s.connections.total === 2, 5000, '2 connections');
  t.false(s0.negotiated!.useEncrypt);
  t.false(server.logins[0]!.pack.getBool('use_encrypt'), 'the login asked for use_encrypt=0');
  await server.waitFor(() => port.written.length >= 3, 4000, 'the first tunnel bytes at the client');
  t.deepEqual(port.written, [...first, ...second], 'the bytes behind the welcome record were not lost or fed to TLS');
  for (const tunnel of server.liveTunnels()) {
    const w = tunnel.conn.replyWrite;
    t.truthy(w && w.tlsBytes > 0 && w.tunnelBytes > 0, 'reply record and tunnel bytes left in one write');
  }

  // Client -> server, on the raw sockets: the fake server no longer decrypts anything.
  const up = Array.from({ length: 20 }, (_, i) => testFrame(100 + i, 60 + i * 70));
  for (const f of up) {
    cascade.write([f]);
    await new Promise((r) => setImmediate(r));
  }
  await server.waitFor(() => framesOf(server.liveTunnels()).length >= up.length, 4000, 'frames at the server');
  const got = framesOf(server.liveTunnels());
  t.deepEqual(got.map((f) => f.readUInt32BE(14)).sort((x, y) => x - y), up.map((f) => f.readUInt32BE(14)));
  for (const tunnel of server.liveTunnels()) {
    t.true(tunnel.keepAlives.length >= 1, 'raw keep-alives from the client parse');
    t.is(tunnel.protocolError, null);
  }
  t.deepEqual(server.clientErrors, []);
});

/** Waits until the half-duplex pool is complete and returns the server's tunnels of the current session. */
async function halfDuplexOnline(t: ExecutionContext, maxConnections: number, extra: Parameters<typeof fakeServer>[1] = {}) {
  const server = await fakeServer(t, extra);
  const c = cascadeTo(t, server, { maxConnections, halfDuplex: true, qos: false });
  const s = await waitForStatus(c.cascade, (x) => x.state === 'online' && x.connections.total === maxConnections, 5000, `${maxConnections} connections`);
  return { server, ...c, s };
}

test('half-duplex: server-assigned directions are honoured: frames and keep-alives only on client->server connections', async (t) => {
  const { server, cascade, port, s } = await halfDuplexOnline(t, 4);
  t.true(s.negotiated!.halfConnection);
  const tunnels = server.sessions[0]!.tunnels;
  t.deepEqual(tunnels.map((x) => x.direction), [2, 1, 1, 2], 'first is client->server, then the stock server\'s rule');
  t.deepEqual({ up: s.connections.up, down: s.connections.down }, { up: 2, down: 2 });

  // Spread writes over many loop turns so the engine picks connections many times.
  for (let i = 0; i < 40; i++) {
    cascade.write([testFrame(i)]);
    await sleep(i % 4 === 0 ? 5 : 0);
  }
  // Frames from the server on the server->client connections.
  tunnels[1]!.sendFrames([testFrame(1000)]);
  tunnels[2]!.sendFrames([testFrame(1001)]);
  await server.waitFor(() => framesOf(tunnels).length >= 40, 4000, '40 frames at the server');
  const fromServer = [testFrame(1000), testFrame(1001)];
  await server.waitFor(() => fromServer.every((f) => port.written.some((g) => g.equals(f))), 4000, 'frames from server->client connections');

  // Past T: the client->server connections hear nothing from the server (like the stock server), and must NOT be
  // closed for it; the server->client ones must never carry anything from the client, not even keep-alives.
  await sleep(5600);
  for (const x of tunnels) {
    t.false(x.conn.closed, `connection ${x.conn.index} (direction ${x.direction}) still up after T`);
    if (x.direction === 1) t.is(x.records.length, 0, `nothing sent on server->client connection ${x.conn.index}`);
    else t.true(x.keepAlives.length >= 2, `keep-alives on client->server connection ${x.conn.index}`);
  }
  t.is(framesOf(tunnels.filter((x) => x.direction === 1)).length, 0);
  t.is(framesOf(tunnels.filter((x) => x.direction === 2)).length, 40);
  t.is(cascade.status().connections.total, 4);
  t.is(server.connections.length, 4, 'no connection was replaced');
});

test('half-duplex: a full pool pointing one way is rebalanced: the newest connection is closed cleanly and comes back the other way', async (t) => {
  const { server, cascade } = await halfDuplexOnline(t, 2, { additional: (r) => (r.n === 1 ? { direction: 2 } : undefined) });
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.up === 1 && x.connections.down === 1, 5000, 'one each way');
  t.is(s.connections.total, 2);
  const [wrong, right] = server.additionals;
  t.is(wrong!.direction, 2);
  await wrong!.conn.whenClosed();
  t.true(wrong!.conn.gotFin, 'closed with FIN (graceful), not reset');
  t.is(right!.direction, 1);
  t.false(right!.conn.closed);
  t.is(server.logins.length, 1);
});


test('frames from the server are views of one read buffer per connection, valid only during the call; a frame valid only during the call is copied into the send queue', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, { maxConnections: 1 });
  await waitForStatus(cascade, (s) => s.state === 'online', 5000, 'online');
  const seen: Array<{ buffer: ArrayBufferLike; transient: boolean; copy: Buffer }> = [];
  cascade.setReceiver((frames) => {
    for (const f of frames) seen.push({ buffer: f.buffer, transient: isTransientView(f), copy: Buffer.from(f) });
  });
  const tunnel = server.liveTunnels()[0]!;
  const sent = [testFrame(1), testFrame(2, 1600), testFrame(3, 700)];
  for (const f of sent) {
    tunnel.sendFrames([f]);
    await sleep(50); // one read each
  }
  await server.waitFor(() => seen.length >= 3, 4000, 'three frames at the client');
  t.deepEqual(seen.map((s) => s.copy), sent);
  t.true(seen.every((s) => s.transient), 'marked as valid only during the call');
  t.is(new Set(seen.map((s) => s.buffer)).size, 1, 'all three reads landed in the same buffer');

  // The other way: such a view written to a cascade is overwritten right after write() returns (the next read);
  // the record, encoded later in the turn, must still carry the original bytes.
  const readBuffer = Buffer.alloc(4096);
  markTransient(readBuffer.buffer);
  const frame = testFrame(42, 900);
  frame.copy(readBuffer, 100);
  cascade.write([readBuffer.subarray(100, 100 + frame.length)]);
  readBuffer.fill(0xee);
  await server.waitFor(() => framesOf(server.liveTunnels()).length >= 1, 4000, 'the frame at the server');
  t.deepEqual(framesOf(server.liveTunnels()), [frame]);
});

test('read budget: a connection hands on at most ~64 KiB per event-loop turn however much the server sent at once, and nothing is lost', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, { maxConnections: 1 });
  await waitForStatus(cascade, (s) => s.state === 'online', 5000, 'online');
  let inTurn = 0;
  let maxPerTurn = 0;
  let turns = 0;
  let frames = 0;
  const seqs: number[] = [];
  cascade.setReceiver((batch) => {
    if (inTurn === 0) {
      turns++;
      setImmediate(() => (inTurn = 0)); // the check phase of this same turn
    }
    for (const f of batch) {
      inTurn += f.length;
      frames++;
      seqs.push(f.readUInt32BE(14));
    }
    maxPerTurn = Math.max(maxPerTurn, inTurn);
  });
  // 4 MB in one burst: 2500 frames of 1600 bytes, 100 records written back to back.
  const tunnel = server.liveTunnels()[0]!;
  for (let r = 0; r < 100; r++) tunnel.sendFrames(Array.from({ length: 25 }, (_, i) => testFrame(r * 25 + i, 1600)));
  await server.waitFor(() => frames >= 2500, 10_000, 'all frames at the client');
  t.deepEqual(seqs, Array.from({ length: 2500 }, (_, i) => i), 'all of them, in order');
  // 64 KiB budget, plus what TLS had already decrypted from the TCP read that crossed it (at most one read).
  t.true(maxPerTurn <= 64 * 1024 + 64 * 1024, `at most ${maxPerTurn} bytes handed on in one turn`);
  t.true(turns >= 4_000_000 / (128 * 1024), `spread over ${turns} turns`);
});
