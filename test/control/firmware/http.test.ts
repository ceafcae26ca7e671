/**
 * POST /firmware/upload through the real web server (startWebServer) into the real FirmwareManager on temp-file
 * slots: authentication exactly like /api/ (password header, Basic, session cookie + CSRF), size cap, rate limit,
 * refusals answered as JSON, a slow upload outliving the per-request timeout, a client that goes away.
 */
import test from 'ava';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { ADMIN_PASSWORD, login, request, startHarness } from '../web/web-helpers.ts';
import { firmware, makeSystem, OLD_B, pseudoRandom, type Sys } from './fw-helpers.ts';
import type { WebServerOptions } from '../../../src/control/web/server.ts';

const ROOTFS = pseudoRandom(512 * 1024 + 3, 11);
const PW = { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD };

async function start(t: import('ava').ExecutionContext, sysOpts: Parameters<typeof makeSystem>[1] = {}, web: Partial<WebServerOptions> = {}) {
  const sys = await makeSystem(t, sysOpts);
  const h = await startHarness(t, {
    firmware: { upload: (body, o) => sys.manager.upload(body, o), maxBytes: () => sys.manager.maxUploadBytes() },
    ...web,
  });
  return { sys, h };
}

const upload = (port: number, body: Buffer, headers: Record<string, string> = PW, path = '/firmware/upload') =>
  request(port, { method: 'POST', path, headers: { 'Content-Type': 'application/octet-stream', ...headers }, body });

async function slotUntouched(t: import('ava').ExecutionContext, sys: Sys) {
  t.true((await readFile(sys.slotB)).equals(OLD_B), 'slot b untouched');
  t.is(await sys.tryFile(), null, 'try not written');
}

test('admin password header: the file is verified and written; the answer says what was installed', async (t) => {
  const { sys, h } = await start(t);
  const file = firmware(ROOTFS, sys.key);
  const res = await upload(h.port, file);
  t.is(res.status, 200, res.body);
  t.like(res.json(), { ok: true, version: '1.3.0', slot: 'b', signedBy: sys.key.fingerprint, downgrade: false, rootfsSize: ROOTFS.length });
  t.true((await readFile(sys.slotB)).subarray(0, ROOTFS.length).equals(ROOTFS));
  t.is(res.headers['cache-control'], 'no-store');
  t.like(sys.manager.progress(), { phase: 'ready', received: file.length, total: file.length });
  t.truthy(h.logs.find((l) => l.msg === 'firmware upload started'));
  t.is(await sys.tryFile(), null, 'applying is a separate, confirmed step');
});

test('HTTP Basic works like on /api/', async (t) => {
  const { sys, h } = await start(t);
  const res = await upload(h.port, firmware(ROOTFS, sys.key), { Authorization: `Basic ${Buffer.from(`administrator:${ADMIN_PASSWORD}`).toString('base64')}` });
  t.is(res.status, 200, res.body);
});

test('browser session: needs the CSRF token; a cross-site Origin is refused; nothing is written without them', async (t) => {
  const { sys, h } = await start(t);
  const { cookie, csrf } = await login(h.port);
  const file = firmware(ROOTFS, sys.key);
  const noCsrf = await upload(h.port, file, { Cookie: cookie });
  t.is(noCsrf.status, 403);
  t.regex(noCsrf.body, /X-CSRF-Token/);
  const wrongCsrf = await upload(h.port, file, { Cookie: cookie, 'X-CSRF-Token': 'x'.repeat(csrf.length) });
  t.is(wrongCsrf.status, 403);
  const crossSite = await upload(h.port, file, { Cookie: cookie, 'X-CSRF-Token': csrf, Origin: 'https://evil.example' });
  t.is(crossSite.status, 403);
  t.regex(crossSite.body, /cross-site/);
  await slotUntouched(t, sys);
  t.is(sys.manager.progress().phase, 'idle', 'the manager never saw them');
  const ok = await upload(h.port, file, { Cookie: cookie, 'X-CSRF-Token': csrf, Origin: `https://127.0.0.1:${h.port}` });
  t.is(ok.status, 200, ok.body);
});

test('no or wrong credentials: 401 and nothing written; before setup: 403', async (t) => {
  const { sys, h } = await start(t);
  const file = firmware(ROOTFS, sys.key);
  t.is((await upload(h.port, file, {})).status, 401);
  t.is((await upload(h.port, file, { 'X-VPNADMIN-PASSWORD': 'wrong' })).status, 401);
  await slotUntouched(t, sys);
  h.state.setUp = false;
  const setup = await upload(h.port, file, {});
  t.is(setup.status, 403);
  t.regex(setup.json().error, /admin password must be set first/);
});

test('refusals come back as JSON with the reason; the rest of the body is read so the client gets the answer', async (t) => {
  const { sys, h } = await start(t);
  const bad = firmware(ROOTFS, sys.key, { kernel: '5.10.0-other' });
  const res = await upload(h.port, bad);
  t.is(res.status, 422);
  t.like(res.json(), { ok: false, reason: 'kernel' });
  t.regex(res.json().error, /built for kernel 5\.10\.0-other/);
  const tampered = firmware(ROOTFS, sys.key);
  tampered[tampered.length - 1] ^= 1;
  const hash = await upload(h.port, tampered);
  t.is(hash.status, 422);
  t.is(hash.json().reason, 'hash');
  t.is(await sys.tryFile(), null);
});

test('size cap: 413 before the body when it cannot fit the slot; 411 without Content-Length; 405 for GET', async (t) => {
  const { sys, h } = await start(t);
  const max = await sys.manager.maxUploadBytes();
  t.is(max, 1024 * 1024 + 13 + 4 + 16384 + 64);
  const res = await request(h.port, { method: 'POST', path: '/firmware/upload', headers: { ...PW, 'Content-Length': String(max + 1) } });
  t.is(res.status, 413);
  t.regex(res.json().error, new RegExp(`at most ${max}`));
  t.is(sys.manager.progress().phase, 'idle');
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: '/firmware/upload', headers: { ...PW, 'Transfer-Encoding': 'chunked' }, rejectUnauthorized: false, agent: false }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(Buffer.from('SEBRIDGE'));
  });
  t.is(chunked, 411);
  t.is((await request(h.port, { path: '/firmware/upload', headers: PW })).status, 405);
});

test('no firmware slots: refused at once with the words the brief asks for', async (t) => {
  const { sys, h } = await start(t, { env: null });
  const res = await upload(h.port, firmware(ROOTFS, sys.key));
  t.is(res.status, 409);
  t.like(res.json(), { ok: false, reason: 'no-slots' });
  t.regex(res.json().error, /this system has no firmware slots/);
});

test('rate limit: a few upload starts per window, then 429 with Retry-After', async (t) => {
  const { sys, h } = await start(t, {}, { uploadStarts: { max: 2, windowMs: 60_000 } });
  const bad = firmware(ROOTFS, sys.key, { arch: 'aarch64' });
  t.is((await upload(h.port, bad)).status, 422);
  t.is((await upload(h.port, bad)).status, 422);
  const third = await upload(h.port, firmware(ROOTFS, sys.key));
  t.is(third.status, 429);
  t.is(third.headers['retry-after'], '60');
  h.clock.t += 60_000;
  t.is((await upload(h.port, firmware(ROOTFS, sys.key))).status, 200);
});

test('a slow upload outlives the server\'s per-request timeout; a client that vanishes midway ends as "aborted"', async (t) => {
  const { sys, h } = await start(t, {}, { limits: { requestTimeoutMs: 1000, headersTimeoutMs: 500 } });
  const file = firmware(ROOTFS, sys.key);
  const pieces = 10;
  const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: h.port, method: 'POST', path: '/firmware/upload', headers: { ...PW, 'Content-Length': String(file.length) }, rejectUnauthorized: false, agent: false },
      (r) => {
        let body = '';
        r.on('data', (d) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    const size = Math.ceil(file.length / pieces);
    let i = 0;
    const next = () => {
      req.write(file.subarray(i * size, (i + 1) * size));
      i++;
      if (i < pieces) setTimeout(next, 250);
      else req.end();
    };
    next();
  });
  t.is(status.status, 200, `a 2.5 s upload with a 1 s request timeout: ${status.body}`);

  // A client that sends half and disappears.
  await new Promise<void>((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: '/firmware/upload', headers: { ...PW, 'Content-Length': String(file.length) }, rejectUnauthorized: false, agent: false });
    req.on('error', () => resolve());
    req.write(file.subarray(0, 200_000));
    setTimeout(() => req.destroy(), 300);
  });
  const until = Date.now() + 5000;
  while (sys.manager.progress().phase !== 'failed' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.like(sys.manager.progress(), { phase: 'failed', reason: 'aborted' });
  t.is(await sys.tryFile(), null);
  t.is((await upload(h.port, file)).status, 200, 'the next upload is accepted');
});

test('one at a time over HTTP: a second upload while one streams is refused 409 "busy"', async (t) => {
  const { sys, h } = await start(t);
  const file = firmware(ROOTFS, sys.key);
  const first = new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: '/firmware/upload', headers: { ...PW, 'Content-Length': String(file.length) }, rejectUnauthorized: false, agent: false }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(file.subarray(0, 100_000));
    const rest = () => (sys.manager.progress().phase === 'writing' ? second.then(() => req.end(file.subarray(100_000))) : setTimeout(rest, 10));
    setTimeout(rest, 10);
  });
  let second!: Promise<void>;
  const secondDone = new Promise<void>((r) => {
    second = (async () => {
      const res = await upload(h.port, file);
      t.is(res.status, 409);
      t.like(res.json(), { ok: false, reason: 'busy' });
      r();
    })();
  });
  await secondDone;
  t.is(await first, 200);
});

test('?force=1 allows an older version; without it the upload is refused as a downgrade', async (t) => {
  const { sys, h } = await start(t);
  const older = firmware(ROOTFS, sys.key, { version: '1.1.0' });
  const refused = await upload(h.port, older);
  t.is(refused.status, 422);
  t.like(refused.json(), { ok: false, reason: 'version' });
  t.true((await readFile(sys.slotB)).equals(OLD_B));
  const forced = await upload(h.port, older, PW, '/firmware/upload?force=1');
  t.is(forced.status, 200, forced.body);
  t.like(forced.json(), { ok: true, version: '1.1.0', downgrade: true });
});
