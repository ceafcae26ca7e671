import test from 'ava';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { SECURITY_HEADERS } from '../../../src/control/web/security-headers.ts';
import { rawExchange, request, rpc, startHarness } from './web-helpers.ts';

test('plain HTTP on the same port gets a 308 to the same path over https (Host header host, same port)', async (t) => {
  const h = await startHarness(t);
  const ans = await rawExchange(h.port, 'GET /some/page?x=1 HTTP/1.1\r\nHost: bridge.local:8080\r\nUser-Agent: test\r\n\r\n');
  t.regex(ans, /^HTTP\/1\.1 308 Permanent Redirect\r\n/);
  t.regex(ans, new RegExp(`\r\nLocation: https://bridge\\.local:${h.port}/some/page\\?x=1\r\n`));
  t.regex(ans, /\r\nConnection: close\r\n/);
  t.regex(ans, /\r\nStrict-Transport-Security: max-age=/);
  const v6 = await rawExchange(h.port, 'POST /api/ HTTP/1.1\r\nHost: [fd00::1]\r\nContent-Length: 5\r\n\r\nhello');
  t.regex(v6, new RegExp(`\r\nLocation: https://\\[fd00::1\\]:${h.port}/api/\r\n`));
  const noHost = await rawExchange(h.port, 'GET / HTTP/1.0\r\n\r\n');
  t.regex(noHost, new RegExp(`\r\nLocation: https://127\\.0\\.0\\.1:${h.port}/\r\n`));
  // Split across packets.
  const slow = await new Promise<string>((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect({ host: '127.0.0.1', port: h.port });
      let out = '';
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('close', () => resolve(out));
      s.write('GET /a');
      setTimeout(() => s.write('b HTTP/1.1\r\nHost: x'), 30);
      setTimeout(() => s.write('\r\n\r\n'), 60);
    });
  });
  t.regex(slow, new RegExp(`\r\nLocation: https://x:${h.port}/ab\r\n`));
});

test('plain HTTP garbage: bad request line or header injection gets 400, an endless head 431', async (t) => {
  const h = await startHarness(t);
  t.regex(await rawExchange(h.port, 'HELLO\r\n\r\n'), /^HTTP\/1\.1 400 /);
  t.regex(await rawExchange(h.port, 'GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 400 /);
  t.regex(await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'), /^HTTP\/1\.1 400 /);
  t.regex(await rawExchange(h.port, `GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}`), /^HTTP\/1\.1 431 /);
});

test('security headers on every HTTPS answer: pages, API results, API errors, 404s', async (t) => {
  const h = await startHarness(t);
  const answers = [
    await request(h.port, { path: '/' }),
    await request(h.port, { path: '/x.js' }),
    await rpc(h.port, 'Test', {}),
    await rpc(h.port, 'Test', {}, {}),
    await request(h.port, { path: '/auth/state' }),
    await request(h.port, { path: '/auth/nope' }),
  ];
  for (const res of answers) {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) t.is(res.headers[k.toLowerCase()], v, `${k} on ${res.status}`);
  }
  t.regex(SECURITY_HEADERS['Content-Security-Policy'], /default-src 'self'/);
  t.notRegex(SECURITY_HEADERS['Content-Security-Policy'], /unsafe-inline|unsafe-eval/);
});

test('static files: index.html for / and for client routes, 404 for unknown files, gzip, caching, ETag', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sebridge-ui-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const index = `<!doctype html><html><head><script src="/assets/app-1a2b3c4d.js"></script></head><body>${'<p>hello</p>'.repeat(100)}</body></html>`;
  const js = `console.log(${JSON.stringify('x'.repeat(3000))});`;
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), index);
  await writeFile(join(dir, 'assets', 'app-1a2b3c4d.js'), js);
  await writeFile(join(dir, 'favicon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(join(dir, '.secret'), 'not served');
  const h = await startHarness(t, { staticDir: dir });

  const root = await request(h.port, { path: '/' });
  t.is(root.status, 200);
  t.is(root.body, index);
  t.is(root.headers['content-type'], 'text/html; charset=utf-8');
  t.is(root.headers['cache-control'], 'no-cache');
  for (const route of ['/links', '/links/office-1', '/settings/']) {
    const r = await request(h.port, { path: route });
    t.is(r.status, 200, route);
    t.is(r.body, index, route);
  }
  t.is((await request(h.port, { path: '/missing.js' })).status, 404);
  t.is((await request(h.port, { path: '/.secret' })).status, 404);
  t.is((await request(h.port, { path: '/assets/../.secret' })).status, 404);

  const asset = await request(h.port, { path: '/assets/app-1a2b3c4d.js' });
  t.is(asset.body, js);
  t.is(asset.headers['content-type'], 'text/javascript; charset=utf-8');
  t.is(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.is(asset.headers['content-encoding'], undefined);

  const gz = await new Promise<Buffer>((resolve, reject) => {
    import('node:https').then(({ request: req }) => {
      req({ host: '127.0.0.1', port: h.port, path: '/assets/app-1a2b3c4d.js', rejectUnauthorized: false, agent: false, headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        t.is(res.headers['content-encoding'], 'gzip');
        t.regex(String(res.headers.vary), /Accept-Encoding/);
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject).end();
    });
  });
  t.true(gz.length < js.length);
  t.is(gunzipSync(gz).toString(), js);

  const etag = String(asset.headers.etag);
  const cached = await request(h.port, { path: '/assets/app-1a2b3c4d.js', headers: { 'If-None-Match': etag } });
  t.is(cached.status, 304);
  t.is(cached.body, '');
  t.is((await request(h.port, { path: '/favicon.png' })).headers['content-type'], 'image/png');
  t.is((await request(h.port, { method: 'POST', path: '/favicon.png' })).status, 405);
});

test('a missing UI directory is logged loudly and the API keeps working', async (t) => {
  const h = await startHarness(t, { staticDir: '/nonexistent/sebridge-ui' });
  t.truthy(h.logs.find((l) => l.level === 'error' && /web UI files not loaded/.test(l.msg)));
  t.is((await request(h.port, { path: '/' })).status, 404);
  t.is((await rpc(h.port, 'Test', {})).status, 200);
});

test('certificate: created once in certDir (key 0600), reused on restart; the fingerprint is what a TLS client sees', async (t) => {
  const h = await startHarness(t);
  const key = await stat(join(h.certDir, 'web-key.pem'));
  t.is(key.mode & 0o777, 0o600);
  const seen = await new Promise<string>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: h.port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
  t.is(seen, h.server.certSha256);
  t.regex(seen, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const first = h.server.certSha256;
  await h.server.close();
  const again = await startHarness(t, { certDir: h.certDir });
  t.is(again.server.certSha256, first);
  t.falsy(again.logs.find((l) => l.msg === 'web certificate created'));
  t.truthy(h.logs.find((l) => l.msg === 'web certificate created'));
});

test('TLS below 1.2 is refused', async (t) => {
  const h = await startHarness(t);
  const err = await new Promise<Error | null>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: h.port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => {
      s.end();
      resolve(null);
    });
    s.on('error', (e) => resolve(e));
  });
  t.truthy(err);
});

test('oversized request headers are refused with 431 over TLS', async (t) => {
  const h = await startHarness(t);
  const res = await request(h.port, { path: '/', headers: { 'X-Big': 'a'.repeat(20_000) } });
  t.is(res.status, 431);
  t.is(res.headers['x-frame-options'], 'DENY');
  t.is((await request(h.port, { path: '/auth/state' })).status, 200);
});

test('at most 128 connections at once: the next one is dropped, and accepted again once one closes', async (t) => {
  const h = await startHarness(t);
  const { connect } = await import('node:net');
  const open = await Promise.all(
    Array.from({ length: 128 }, () => new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: h.port }, () => resolve(s));
      s.on('error', reject);
    })),
  );
  t.teardown(() => open.forEach((s) => s.destroy()));
  await new Promise((r) => setTimeout(r, 100)); // let the server account for all of them
  const dropped = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  t.is(dropped, '', 'closed without an answer');
  open.pop()!.destroy();
  await new Promise((r) => setTimeout(r, 100));
  t.regex(await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 308 /);
});

test('close() ends kept-alive connections and frees the port', async (t) => {
  const h = await startHarness(t);
  const { Agent, request: req } = await import('node:https');
  const agent = new Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    req({ host: '127.0.0.1', port: h.port, path: '/auth/state', rejectUnauthorized: false, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject).end();
  });
  const sockets = Object.values(agent.freeSockets).flat();
  t.is(sockets.length, 1, 'one idle keep-alive socket');
  const closed = new Promise<void>((resolve) => sockets[0]!.once('close', () => resolve()));
  await h.server.close();
  await closed;
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(h.port, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => s.close(() => resolve()));
  agent.destroy();
  t.pass();
});

test('timeouts: silent connections, a stalled TLS handshake and trickled headers are closed', async (t) => {
  const h = await startHarness(t, { limits: { firstByteTimeoutMs: 200, tlsHandshakeTimeoutMs: 300, headersTimeoutMs: 500, requestTimeoutMs: 1000 } });
  const { connect } = await import('node:net');
  const closedAfter = (first: Buffer | null) =>
    new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = connect({ host: '127.0.0.1', port: h.port }, () => first && s.write(first));
      s.on('error', () => {});
      s.on('close', () => resolve(Date.now() - t0));
    });
  const silent = await closedAfter(null);
  t.true(silent >= 150 && silent < 3000, `silent ${silent}`);
  const stalledTls = await closedAfter(Buffer.from([0x16, 0x03, 0x01])); // a ClientHello that never completes
  t.true(stalledTls >= 250 && stalledTls < 3000, `tls ${stalledTls}`);

  const trickle = await new Promise<{ ms: number; got: string }>((resolve) => {
    const t0 = Date.now();
    const s = tlsConnect({ host: '127.0.0.1', port: h.port, rejectUnauthorized: false }, () => {
      s.write('GET / HTTP/1.1\r\nHost: a\r\n');
      const iv = setInterval(() => !s.destroyed && s.write('X-A: b\r\n'), 100);
      s.on('close', () => clearInterval(iv));
    });
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => {});
    s.on('close', () => resolve({ ms: Date.now() - t0, got }));
  });
  t.regex(trickle.got, /^HTTP\/1\.1 408 /);
  t.true(trickle.ms < 6000, `trickle ${trickle.ms}`); // default would be 15 s
});

test('a port in use and bad options are refused with errors that say which', async (t) => {
  const h = await startHarness(t);
  const { startWebServer } = await import('../../../src/control/web/server.ts');
  const base = {
    host: '127.0.0.1', port: h.port, certDir: h.certDir, dispatch: async () => ({}), isSetUp: () => true,
    verifyAdminPassword: async () => false, staticDir: null, log: () => {},
  };
  await t.throwsAsync(startWebServer(base), { message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${h.port}: .*EADDRINUSE`) });
  await t.throwsAsync(startWebServer({ ...base, port: 70000 }), { message: /port must be an integer 0\.\.65535/ });
  await t.throwsAsync(startWebServer({ ...base, host: '' }), { message: /host must be/ });
  await t.throwsAsync(startWebServer({ ...base, dispatch: undefined as never }), { message: /dispatch must be a function/ });
  t.is((await request(h.port, { path: '/auth/state' })).status, 200, 'the running server is unaffected');
});
