/**
 * Bounded memory: a 200 MB firmware file streams through the upgrade (verified, written to a temp-file slot,
 * hashed) while the process's resident memory is sampled. Buffering the file would show as > 200 MiB.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request as httpsRequest } from 'node:https';
import { chunks, fwPrefix, headerFor, makeSystem, pseudoRandom } from './fw-helpers.ts';
import { ADMIN_PASSWORD, startHarness } from '../web/web-helpers.ts';

const ROOTFS_BYTES = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;
const BASE = pseudoRandom(CHUNK, 5);

/** Chunk i of the rootfs: the base block with its index in front, fresh each time (as a socket delivers). */
function chunkAt(i: number, into: Buffer = Buffer.allocUnsafe(CHUNK)): Buffer {
  BASE.copy(into);
  into.writeUInt32BE(i, 0);
  return into;
}

// A forced collection before each sample: what is measured is what the upgrade keeps alive, not the garbage the
// collector has not got round to yet (each socket chunk becomes garbage once written).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test.serial('a 200 MB file streams through with bounded memory', async (t) => {
  const sys = await makeSystem(t, { slotBytes: ROOTFS_BYTES });
  const n = ROOTFS_BYTES / CHUNK;
  const h = createHash('sha256');
  const scratch = Buffer.allocUnsafe(CHUNK); // the hash pass makes no garbage, so the baseline below is honest
  for (let i = 0; i < n; i++) h.update(chunkAt(i, scratch));
  const prefix = fwPrefix(headerFor({ size: ROOTFS_BYTES, sha256: h.digest('hex') }), sys.key);
  async function* file() {
    yield* chunks(prefix);
    for (let i = 0; i < n; i++) {
      yield chunkAt(i);
      if (i % 16 === 0) await new Promise((r) => setImmediate(r)); // let the sampler run, like socket reads would
    }
  }
  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakExternal = base.external + base.arrayBuffers;
  let samples = 0;
  const sampler = setInterval(() => {
    samples++;
    gc();
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  }, 20);
  const started = performance.now();
  const r = await sys.manager.upload(file(), { length: prefix.length + ROOTFS_BYTES });
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const mib = (x: number) => (x / 1024 / 1024).toFixed(1);
  t.log(`200 MiB in ${seconds.toFixed(1)} s; RSS ${mib(base.rss)} → peak ${mib(peakRss)} MiB (+${mib(peakRss - base.rss)}), buffers peak +${mib(peakExternal - base.external - base.arrayBuffers)} MiB`);
  t.true(samples >= 5, `the sampler ran during the upload (${samples} samples)`);
  t.is(r.rootfsSize, ROOTFS_BYTES);
  t.is(sys.manager.progress().written, ROOTFS_BYTES);
  t.true(peakExternal - base.external - base.arrayBuffers < 64 * 1024 * 1024, `live buffers grew by ${mib(peakExternal - base.external - base.arrayBuffers)} MiB`);
  t.true(peakRss - base.rss < 48 * 1024 * 1024, `RSS grew by ${mib(peakRss - base.rss)} MiB`);
});

test.serial('the same through the web server: a 200 MB upload over HTTPS is streamed, not buffered', async (t) => {
  const sys = await makeSystem(t, { slotBytes: ROOTFS_BYTES });
  const h = await startHarness(t, { firmware: { upload: (b, o) => sys.manager.upload(b, o), maxBytes: () => sys.manager.maxUploadBytes() } });
  const n = ROOTFS_BYTES / CHUNK;
  const hash = createHash('sha256');
  const scratch = Buffer.allocUnsafe(CHUNK);
  for (let i = 0; i < n; i++) hash.update(chunkAt(i, scratch));
  const prefix = fwPrefix(headerFor({ size: ROOTFS_BYTES, sha256: hash.digest('hex') }), sys.key);
  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  const sampler = setInterval(() => {
    gc();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: h.port, method: 'POST', path: '/firmware/upload', headers: { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, 'Content-Length': String(prefix.length + ROOTFS_BYTES) }, rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    (async () => {
      req.write(prefix);
      for (let i = 0; i < n; i++) {
        // The client honours backpressure too, so what is measured is the server side.
        if (!req.write(chunkAt(i))) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
  clearInterval(sampler);
  const mib = (x: number) => (x / 1024 / 1024).toFixed(1);
  t.log(`200 MiB over HTTPS in ${((performance.now() - started) / 1000).toFixed(1)} s; RSS ${mib(base.rss)} → peak ${mib(peakRss)} MiB (+${mib(peakRss - base.rss)})`);
  t.is(answer.status, 200, answer.body);
  t.is(sys.manager.progress().written, ROOTFS_BYTES);
  t.true(peakRss - base.rss < 64 * 1024 * 1024, `RSS grew by ${mib(peakRss - base.rss)} MiB`);
});
