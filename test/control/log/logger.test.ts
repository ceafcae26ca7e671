import test from 'ava';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/control/log/logger.ts';
import { RotatingFileWriter } from '../../../src/control/log/rotating-file.ts';
import { formatRfc5424 } from '../../../src/control/log/syslog.ts';

async function tmp(t: import('ava').ExecutionContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sebridge-log-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A UDP receiver on 127.0.0.1 collecting datagrams. */
async function udpReceiver(t: import('ava').ExecutionContext, address = '127.0.0.1', family: 4 | 6 = 4) {
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  const waiters: Array<() => void> = [];
  sock.on('message', (m) => {
    got.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((r) => sock.bind(0, address, r));
  t.teardown(() => sock.close());
  const port = (sock.address() as AddressInfo).port;
  const waitFor = async (n: number) => {
    const end = Date.now() + 3000;
    while (got.length < n) {
      if (Date.now() > end) throw new Error(`only ${got.length} of ${n} datagrams`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
    }
  };
  return { port, got, waitFor };
}

// RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA SP MSG
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) \uFEFF?(.*)$/s;

test('syslog: RFC 5424 lines over UDP to 127.0.0.1, target changeable at runtime', async (t) => {
  const a = await udpReceiver(t);
  // b is reached by name: bind it where "localhost" resolves on this machine (127.0.0.1 or ::1, both loopback).
  const lo = await lookup('localhost');
  const b = await udpReceiver(t, lo.address, lo.family as 4 | 6);
  const log = createLogger({ syslog: { host: '127.0.0.1', port: a.port } });
  t.teardown(() => log.close());
  await log.setSyslog({ host: '127.0.0.1', port: a.port, facility: 16 });
  log.logger.child({ object: 'cascade/hq' }).warn({ attempt: 3 }, 'retry in 10 s: Ünïcode ok');
  await a.waitFor(1);
  const m = RFC5424.exec(a.got[0].toString('utf8'));
  t.truthy(m, a.got[0].toString('utf8'));
  const [, pri, ts, host, app, procId, msgId, sd, msg] = m!;
  t.is(Number(pri), 16 * 8 + 4, 'local0.warning');
  t.true(Math.abs(Date.parse(ts) - Date.now()) < 5000);
  t.regex(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.true(host.length > 0 && host !== '-');
  t.is(app, 'sebridge');
  t.is(procId, String(process.pid));
  t.is(msgId, 'cascade/hq');
  t.is(sd, '-');
  t.is(msg, 'retry in 10 s: Ünïcode ok {"attempt":3}');
  t.deepEqual([...a.got[0].subarray(a.got[0].indexOf(0xef), a.got[0].indexOf(0xef) + 3)], [0xef, 0xbb, 0xbf], 'BOM before MSG');

  await t.throwsAsync(log.setSyslog({ host: '127.0.0.1', port: 70000 }), { message: 'syslog.port: an integer 1..65535' });
  await t.throwsAsync(log.setSyslog({ host: '', port: 514 }), { message: /^syslog\.host/ });
  log.logger.error('still to a');
  await a.waitFor(2);
  t.regex(a.got[1].toString(), /^<131>1 .* \uFEFFstill to a$/u, 'a refused change kept the old target (local0.err)');

  await log.setSyslog({ host: 'localhost', port: b.port });
  log.logger.info('now to b');
  await b.waitFor(1);
  t.regex(b.got[0].toString(), /^<30>1 .* - - \uFEFFnow to b$/u, 'daemon.info, no object: MSGID -');
  await log.setSyslog(null);
  log.logger.info('nowhere');
  await new Promise((r) => setTimeout(r, 100));
  t.is(a.got.length + b.got.length, 3);
  t.like(log.stats().syslog, { target: null, sent: 3, dropped: 0 });
});

test('syslog messages are cut at 2048 bytes on a character boundary', (t) => {
  const buf = formatRfc5424({ time: 0, level: 30, msg: 'é'.repeat(3000), fields: {} }, { facility: 3, hostname: 'h', appName: 'a', procId: 1 });
  t.true(buf.length <= 2048);
  t.notThrows(() => new TextDecoder('utf-8', { fatal: true }).decode(buf));
});

test('file: rotated at maxBytes into N files, oldest dropped, newest lines last, none over the size', async (t) => {
  const dir = await tmp(t);
  const path = join(dir, 'run', 'sebridge.log');
  const log = createLogger({ file: { path, maxBytes: 2048, files: 3 } });
  for (let i = 0; i < 200; i++) log.logger.info({ i }, `line ${String(i).padStart(4, '0')}`);
  await log.close();
  const names = (await readdir(join(dir, 'run'))).sort();
  t.deepEqual(names, ['sebridge.log', 'sebridge.log.1', 'sebridge.log.2']);
  let all: number[] = [];
  for (const n of ['sebridge.log.2', 'sebridge.log.1', 'sebridge.log']) {
    const p = join(dir, 'run', n);
    t.true((await stat(p)).size <= 2048, `${n} within maxBytes`);
    const lines = (await readFile(p, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    all = all.concat(lines.map((l) => l.i));
  }
  t.is(all.at(-1), 199, 'the newest line is in the current file');
  t.deepEqual(all, all.map((_, k) => all[0] + k), 'contiguous and in order across the files');
  t.true(all.length < 200 && all.length > 30, `${all.length} lines kept`);
  t.true(log.stats().file!.rotations > 2);
});

test('file: a restart appends to the current file; a line longer than a file is cut, not lost rotation', async (t) => {
  const dir = await tmp(t);
  const path = join(dir, 'x.log');
  const w1 = new RotatingFileWriter({ path, maxBytes: 1024, files: 2 });
  w1.write('first\n');
  await w1.close();
  const w2 = new RotatingFileWriter({ path, maxBytes: 1024, files: 2 });
  w2.write('second\n');
  w2.write(`${'x'.repeat(5000)}\n`);
  await w2.close();
  t.is(await readFile(`${path}.1`, 'utf8'), 'first\nsecond\n');
  const big = await readFile(path, 'utf8');
  t.true(big.length <= 1024 && big.endsWith('\n') && big.startsWith('xxx'));
});

test('file: the queue is bounded in bytes; a burst beyond it is dropped and counted', async (t) => {
  const dir = await tmp(t);
  const w = new RotatingFileWriter({ path: join(dir, 'b.log'), maxBytes: 1 << 20, files: 2, maxQueueBytes: 4096 });
  const line = `${'y'.repeat(99)}\n`;
  for (let i = 0; i < 1000; i++) w.write(line); // one write in flight, the rest queued synchronously
  t.true(w.stats().queuedBytes <= 4096);
  await w.close();
  const s = w.stats();
  t.true(s.droppedLines > 900, `${s.droppedLines} dropped`);
  t.is((await readFile(join(dir, 'b.log'), 'utf8')).split('\n').length - 1, 1000 - s.droppedLines);
});

test('file options are validated with the field named', (t) => {
  t.throws(() => new RotatingFileWriter({ path: 'relative.log' }), { message: /log\.file\.path/ });
  t.throws(() => new RotatingFileWriter({ path: '/run/x.log', maxBytes: 10 }), { message: /log\.file\.maxBytes/ });
  t.throws(() => new RotatingFileWriter({ path: '/run/x.log', files: 0 }), { message: /log\.file\.files/ });
});

test('levels: below the level nothing is kept; setLevel changes it at runtime; a bad level is refused', async (t) => {
  const log = createLogger();
  log.logger.debug('hidden');
  log.logger.info('shown');
  log.setLevel('debug');
  log.logger.debug('now shown');
  t.throws(() => log.setLevel('verbose' as never), { message: /^log\.level: one of/ });
  t.deepEqual(log.ring.query().map((e) => [e.levelName, e.msg]), [['info', 'shown'], ['debug', 'now shown']]);
  await log.close();
});

test('an oversized entry is kept in the ring with a cut message and no fields', async (t) => {
  const log = createLogger({ maxEntryBytes: 1024 });
  log.logger.info({ blob: 'z'.repeat(5000) }, 'big');
  t.like(log.ring.query()[0], { msg: 'big', fields: {}, truncated: true });
  await log.close();
});

test('redaction: a secret never reaches any sink (ring, file, syslog, extra stream), at any depth and case', async (t) => {
  const dir = await tmp(t);
  const path = join(dir, 'r.log');
  const rx = await udpReceiver(t);
  const extra: string[] = [];
  const log = createLogger({ file: { path, maxBytes: 1 << 20, files: 2 }, syslog: { host: '127.0.0.1', port: rx.port }, extraStream: { write: (l) => extra.push(l) } });
  await log.setSyslog({ host: '127.0.0.1', port: rx.port });
  const S = (n: number) => `S3CR3T-${n}-xyzzy`;
  log.logger.info({ password: S(1), user: { hashedPassword: S(2), plainPassword: S(3) } }, 'login');
  log.logger.info({ req: { headers: { authorization: `Basic ${S(4)}`, cookie: S(5), 'x-csrf-token': S(6) } } }, 'request');
  log.logger.warn({ a: { b: { c: { d: { e: { Authorization: `Bearer ${S(7)}`, Key: S(8) } } } } } }, 'deep');
  log.logger.error({ list: [{ csrf: S(9) }, { secret: S(10), 'Set-Cookie': S(11) }] }, 'arrays');
  log.logger.child({ object: 'cascade/hq', password: S(12) }).info('child binding');
  log.logger.info({ key: S(13), privateKey: S(14), token: S(15) }, 'keys');
  await rx.waitFor(6);
  await log.close();
  const sinks = {
    ring: JSON.stringify(log.ring.query({ max: 100 })),
    file: await readFile(path, 'utf8'),
    syslog: rx.got.map((b) => b.toString('utf8')).join('\n'),
    extra: extra.join(''),
  };
  for (const [name, content] of Object.entries(sinks)) {
    t.false(/S3CR3T/.test(content), `${name} leaks: ${content.match(/.{0,40}S3CR3T.{0,20}/)?.[0]}`);
    t.true(content.includes('[redacted]'), `${name} shows where something was redacted`);
    for (const msg of ['login', 'request', 'deep', 'arrays', 'child binding', 'keys']) t.true(content.includes(msg), `${name} has "${msg}"`);
  }
  // Harmless fields survive.
  t.like(log.ring.query({ object: 'cascade/hq' })[0], { msg: 'child binding', fields: { password: '[redacted]' } });
});

test('logging returns before the file is written: no synchronous file I/O on the caller\'s path', async (t) => {
  const dir = await tmp(t);
  const path = join(dir, 'async.log');
  const log = createLogger({ file: { path, maxBytes: 1 << 20, files: 2 } });
  for (let i = 0; i < 500; i++) log.logger.info({ i }, 'line');
  // Still in the same synchronous run: the file does not even exist yet (it is opened asynchronously), so no
  // line was written synchronously. (existsSync is fine in a test; it is the check, not the code under test.)
  t.false(existsSync(path));
  t.is(log.stats().file!.queuedBytes > 0, true);
  await log.close();
  t.is((await readFile(path, 'utf8')).trim().split('\n').length, 500);
});
