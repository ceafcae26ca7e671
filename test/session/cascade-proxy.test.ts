/**
 * The cascade through a proxy, without root: an in-process HTTP CONNECT relay in front of the fake server. Every
 * TCP connection of the session (the login and each additional connection) must be a CONNECT through the relay;
 * a silent proxy is a timeout of the connect step, reported as a proxy failure, and retried.
 */
import test from 'ava';
import net from 'node:net';
import { fakeServer, cascadeTo, waitForStatus } from './fake-server.ts';
import type { CascadeStatus } from '../../src/session/status.ts';

/** Minimal CONNECT relay on 127.0.0.1: records each request head, then pipes both ways (or stays silent). */
async function connectRelay(t: { teardown(f: () => void): void }, silent = false) {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    if (silent) return;
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.removeListener('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      heads.push(head);
      const m = /^CONNECT ([^ ]+):(\d+) HTTP\/1\.1/.exec(head);
      if (!m) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      const upstream = net.connect({ host: m[1]!, port: Number(m[2]) }, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  return { port: (srv.address() as net.AddressInfo).port, heads };
}

test('every TCP connection (login and additional) goes through the HTTP proxy, with credentials and custom headers', async (t) => {
  const server = await fakeServer(t);
  const relay = await connectRelay(t);
  const { cascade, log } = cascadeTo(t, server, {
    maxConnections: 4,
    proxy: { type: 'http', host: '127.0.0.1', port: relay.port, username: 'pxu', password: 'pxpw', customHttpHeader: 'X-Site: 7' },
  });
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 4, 10_000, '4 connections');
  t.is(s.connections.granted, 4);
  t.is(relay.heads.length, server.connections.length, 'as many CONNECTs as connections the server accepted');
  t.is(relay.heads.length, 4);
  for (const h of relay.heads) {
    t.true(h.startsWith(`CONNECT 127.0.0.1:${server.port} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`));
    t.true(h.includes(`Proxy-Authorization: Basic ${Buffer.from('pxu:pxpw').toString('base64')}`));
    t.true(h.includes('X-Site: 7'));
  }
  t.true(log.some((l) => l.includes(`through http://pxu@127.0.0.1:${relay.port}`)));
  t.false(log.some((l) => l.includes('pxpw')), 'the proxy password is never logged');
});

test('use_encrypt=0 works through the proxy (TLS dropped after the welcome on the proxied socket)', async (t) => {
  const server = await fakeServer(t);
  const relay = await connectRelay(t);
  const { cascade } = cascadeTo(t, server, { encrypt: false, maxConnections: 2, proxy: { type: 'http', host: '127.0.0.1', port: relay.port } });
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 10_000, '2 connections');
  t.false(s.negotiated!.useEncrypt);
  t.is(relay.heads.length, 2);
});

test('a proxy that never answers: the connect step times out as a proxy failure and the cascade retries', async (t) => {
  const server = await fakeServer(t);
  const relay = await connectRelay(t, true);
  const started = Date.now();
  const { cascade } = cascadeTo(t, server, { handshakeTimeoutMs: 1000, proxy: { type: 'socks5', host: '127.0.0.1', port: relay.port } });
  // From the state events, not by polling: with this test's retry delay of 0 s the cascade is 'waiting' for about
  // a millisecond, and a poll every 10 ms on a busy machine missed the first two (it then measured the third).
  const waits: Array<{ status: CascadeStatus; at: number }> = [];
  cascade.on('state', (x: CascadeStatus) => {
    if (x.state === 'waiting' && x.lastError !== null) waits.push({ status: x, at: Date.now() });
  });
  await waitForStatus(cascade, () => waits.length >= 1, 5000, 'the timeout');
  const { status: s, at } = waits[0]!;
  const took = at - started;
  t.true(took >= 950 && took < 3000, `took ${took} ms`);
  t.is(s.lastError!.kind, 'proxy');
  t.is(s.lastError!.proxyFailure, 'timeout');
  t.regex(s.lastError!.message, /no answer to the SOCKS5 greeting in time/);
  t.is(server.connections.length, 0, 'nothing reached the server');
  await waitForStatus(cascade, () => waits.length >= 2, 5000, 'a second attempt');
  t.true(waits[1]!.status.attempts >= 2);
});
