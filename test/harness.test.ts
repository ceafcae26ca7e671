/**
 * Tests of the test harness itself: the pure helpers directly, and the real Debian SoftEther VPN
 * Server (root, network namespaces) end to end: topology, one-time setup, vpncmd helpers, TLS on
 * the listener, kill + restart, and that stop()/cleanup leave nothing behind.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { inTestRange, overlaps, slash30 } from './harness/addresses.ts';
import { BoundedText } from './harness/bounded-text.ts';
import { cleanupLeftovers, pidAlive } from './harness/cleanup.ts';
import { csvItems, csvRecords, parseCsv } from './harness/csv.ts';
import { HarnessError, VpncmdError } from './harness/errors.ts';
import { VPNSERVER } from './harness/jail.ts';
import { disableInternetFeatures, readBool } from './harness/server-config.ts';
import {
  killTcpConnections,
  makeClientCert,
  serverCapability,
  startServer,
  type SoftEtherServer,
} from './harness/softether-server.ts';
import { vpncmdArgs } from './harness/vpncmd.ts';

// ---------------------------------------------------------------- pure helpers

test('parseCsv: quotes, doubled quotes, embedded commas and newlines, CRLF, blank lines', (t) => {
  const rows = parseCsv('Item,Value\r\nA,"x, y"\r\n\r\nB,"say ""hi"""\nC,"two\nlines"\nD,\n');
  t.deepEqual(rows, [
    ['Item', 'Value'],
    ['A', 'x, y'],
    ['B', 'say "hi"'],
    ['C', 'two\nlines'],
    ['D', ''],
  ]);
  t.deepEqual(parseCsv(''), []);
  t.deepEqual(parseCsv('a,b'), [['a', 'b']]);
  t.throws(() => parseCsv('a,"unterminated\n'), { instanceOf: HarnessError });
});

test('csvItems trims padded item names and keeps the first of duplicates; csvRecords keys rows by header', (t) => {
  const items = csvItems(parseCsv('Item,Value\nLease Limit (Seconds) ,7200\n---,---\nX,1\nX,2\n'));
  t.is(items['Lease Limit (Seconds)'], '7200');
  t.is(items.X, '1');
  const recs = csvRecords(parseCsv('Session Name,User Name\nSID-1,alice\nSID-2\n'));
  t.deepEqual(recs, [
    { 'Session Name': 'SID-1', 'User Name': 'alice' },
    { 'Session Name': 'SID-2', 'User Name': '' },
  ]);
});

// A shape like the server's own file (BOM, CRLF, tabs, nested blocks that reuse value names).
const SAMPLE_CONFIG = [
  '\ufeff# Software Configuration File',
  'declare root',
  '{',
  '\tdeclare DDnsClient',
  '\t{',
  '\t\tbool Disabled false',
  '\t\tstring LocalHostname vm',
  '\t}',
  '\tdeclare ServerConfiguration',
  '\t{',
  '\t\tbool DisableNatTraversal false',
  '\t\tdeclare Inner',
  '\t\t{',
  '\t\t\tbool DisableNatTraversal false',
  '\t\t}',
  '\t\tbool UseKeepConnect true',
  '\t}',
  '\tdeclare VirtualHUB',
  '\t{',
  '\t\tdeclare SecureNAT',
  '\t\t{',
  '\t\t\tbool Disabled false',
  '\t\t}',
  '\t}',
  '}',
  '',
].join('\r\n');

test('disableInternetFeatures flips only DDnsClient.Disabled and ServerConfiguration.DisableNatTraversal', (t) => {
  const out = disableInternetFeatures(SAMPLE_CONFIG);
  t.true(readBool(out, 'DDnsClient', 'Disabled'));
  t.true(readBool(out, 'ServerConfiguration', 'DisableNatTraversal'));
  t.false(readBool(out, 'Inner', 'DisableNatTraversal'), 'nested block untouched');
  t.false(readBool(out, 'SecureNAT', 'Disabled'), 'other Disabled values untouched');
  t.true(readBool(out, 'ServerConfiguration', 'UseKeepConnect'));
  t.true(out.startsWith('\ufeff'));
  t.is(out.length, SAMPLE_CONFIG.length - 2, 'false -> true twice, nothing else changed');
  t.is(out.split('\r\n').length, SAMPLE_CONFIG.split('\r\n').length);
  t.is(disableInternetFeatures(out), out, 'idempotent');
  t.throws(() => disableInternetFeatures(SAMPLE_CONFIG.replace('declare DDnsClient', 'declare Other')), { instanceOf: HarnessError });
  t.throws(() => disableInternetFeatures(SAMPLE_CONFIG.replace('bool DisableNatTraversal false\r\n\t\tdeclare', 'declare')), {
    instanceOf: HarnessError,
  });
});

test('address helpers: /30 blocks stay in 198.18.0.0/15 and overlap checks', (t) => {
  t.deepEqual(slash30(0), { network: '198.18.0.0', client: '198.18.0.1', server: '198.18.0.2' });
  t.deepEqual(slash30(32767), { network: '198.19.255.252', client: '198.19.255.253', server: '198.19.255.254' });
  t.true(inTestRange('198.19.255.255'));
  t.false(inTestRange('198.20.0.0'));
  t.false(inTestRange('192.0.2.1'));
  t.true(overlaps('198.18.0.0', 15, '198.18.7.4', 30));
  t.true(overlaps('198.18.7.5', 32, '198.18.7.4', 30));
  t.false(overlaps('198.18.7.8', 30, '198.18.7.4', 30));
  t.true(overlaps('0.0.0.0', 0, '198.18.7.4', 30));
});

test('BoundedText keeps the last bytes and counts what it dropped', (t) => {
  const b = new BoundedText(10);
  b.push(Buffer.from('0123456789'));
  b.push(Buffer.from('abcd'));
  t.is(b.text(), '456789abcd');
  t.is(b.dropped, 4);
  b.push(Buffer.from('ZYXWVUTSRQPONM'));
  t.is(b.text(), 'VUTSRQPONM');
  t.is(b.length, 10);
});

test('vpncmd arguments: options before /CMD, bad words rejected before anything runs', (t) => {
  const target = { netns: 'x', dir: '/tmp/x', port: 5555, adminPassword: 'pw' };
  t.deepEqual(vpncmdArgs(target, 'UserCreate', ['u', '/REALNAME:John Doe'], { hub: 'H', csv: true }), [
    '127.0.0.1:5555', '/SERVER', '/PASSWORD:pw', '/ADMINHUB:H', '/CSV', '/CMD', 'UserCreate', 'u', '/REALNAME:John Doe',
  ]);
  t.deepEqual(vpncmdArgs({ ...target, adminPassword: '' }, 'HubList', [], {}), ['127.0.0.1:5555', '/SERVER', '/CMD', 'HubList']);
  t.throws(() => vpncmdArgs(target, 'Hub List', [], {}), { instanceOf: HarnessError });
  t.throws(() => vpncmdArgs(target, 'UserCreate', ['a b'], {}), { instanceOf: HarnessError });
  t.throws(() => vpncmdArgs(target, 'UserCreate', ['/NOTE:"q"'], {}), { instanceOf: HarnessError });
  t.throws(() => vpncmdArgs(target, 'UserCreate', ['/NOTE:x\nHubDelete H'], {}), { instanceOf: HarnessError });
  t.throws(() => vpncmdArgs(target, 'HubList', [], { hub: 'a b' }), { instanceOf: HarnessError });
});

test('makeClientCert: self-signed cert with the CN, matching key and DER; bad CN rejected', (t) => {
  const c = makeClientCert('cert user.1');
  const x = new X509Certificate(c.certPem);
  t.is(x.subject, 'CN=cert user.1');
  t.true(x.checkPrivateKey(createPrivateKey(c.keyPem)));
  t.deepEqual(c.certDer, Buffer.from(x.raw));
  t.throws(() => makeClientCert('a/CN=b'), { instanceOf: HarnessError });
});

test('killTcpConnections refuses anything outside the test range', async (t) => {
  await t.throwsAsync(killTcpConnections({ dst: '192.0.2.1', dport: 5555 }), { instanceOf: HarnessError });
  await t.throwsAsync(killTcpConnections({ dst: '198.18.0.2', dport: 70000 }), { instanceOf: HarnessError });
  await t.throwsAsync(killTcpConnections({ dst: '198.18.0.2', dport: 5555, max: -1 }), { instanceOf: HarnessError });
});

// ---------------------------------------------------------------- the real server

const cap = serverCapability();
if (!cap.ok) console.error(`\n!!! SKIPPING real SoftEther server harness tests: ${cap.reason} !!!\n`);
const real = cap.ok ? test.serial : test.serial.skip;
const realTitle = (s: string): string => (cap.ok ? s : `${s} [SKIPPED: ${cap.reason}]`);

function sh(argv: string[]): { code: number; out: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** What must exist while a server runs and be gone after stop(). */
function footprint(s: SoftEtherServer): { netns: boolean; veth: boolean; etc: boolean; dir: boolean; process: boolean } {
  const token = s.netns.slice('sebt-'.length);
  return {
    netns: sh(['ip', 'netns', 'list']).out.split('\n').some((l) => l.split(' ')[0] === s.netns),
    veth: sh(['ip', 'link', 'show', 'dev', `sebt${token}a`]).code === 0,
    etc: existsSync(`/etc/netns/${s.netns}`),
    dir: existsSync(s.dir),
    process: pidAlive(s.pid),
  };
}

function tlsHandshake(host: string, port: number, timeoutMs = 5000): Promise<{ protocol: string | null; cipher: string; subject: string }> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host, port, rejectUnauthorized: false, servername: undefined }, () => {
      const info = { protocol: sock.getProtocol(), cipher: sock.getCipher().name, subject: String(sock.getPeerCertificate().subject?.CN ?? '') };
      sock.end();
      resolve(info);
    });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('TLS handshake timed out')));
    sock.once('error', reject);
  });
}

function openTcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

real(realTitle('real server: topology, one-time setup, hub/users/SecureNAT, TLS, sessions, kill + restart, stop leaves nothing'), async (t) => {
  t.timeout(120_000);
  const began = Date.now();
  const server = await startServer();
  const startMs = Date.now() - began;
  t.log(`startServer() ${startMs} ms (template if cached), ${server.netns} ${server.host}:${server.port} pid ${server.pid}`);
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await server.stop();
  });

  // --- topology
  t.regex(server.netns, /^sebt-[0-9a-f]{6}$/);
  t.true(inTestRange(server.host) && inTestRange(server.clientAddress));
  t.deepEqual(footprint(server), { netns: true, veth: true, etc: true, dir: true, process: true });
  t.is(readlinkSync(`/proc/${server.pid}/exe`), VPNSERVER, 'the PID we hold is the server itself');
  t.is(readFileSync(`/etc/netns/${server.netns}/resolv.conf`, 'utf8'), 'nameserver 127.0.0.1\n');
  const routes = await server.exec(['ip', '-4', 'route', 'show']);
  t.is(routes.code, 0);
  t.notRegex(routes.stdout, /default/, 'no way out of the namespace');
  const links = (await server.exec(['ip', '-o', 'link', 'show'])).stdout.split('\n').filter(Boolean).map((l) => l.split(':')[1].trim().split('@')[0]);
  t.deepEqual(links.sort(), ['lo', `${server.netns.replace('-', '')}b`].sort());
  const listeners = await server.exec(['ss', '-H', '-ltn']);
  t.deepEqual([...new Set(listeners.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3].split(':').pop()))], ['5555']);

  // --- one-time setup is in effect (from the cache or done just now)
  t.deepEqual(await server.vpncmdCsv('ListenerList'), [['Port Number', 'Status'], ['TCP 5555', 'Listening']]);
  await server.flush();
  const config = readFileSync(join(server.dir, 'lib', 'vpn_server.config'), 'utf8');
  t.true(readBool(config, 'DDnsClient', 'Disabled'), 'DDNS off');
  t.true(readBool(config, 'ServerConfiguration', 'DisableNatTraversal'), 'NAT-T off');
  t.false(readBool(config, 'ServerConfiguration', 'UseKeepConnect'), 'keep-alive off');

  // --- hubs, users, SecureNAT
  const cert = makeClientCert('harness-cert');
  let t0 = Date.now();
  await server.createHub('HT');
  const hubMs = Date.now() - t0;
  t0 = Date.now();
  await server.createPasswordUser('HT', 'alice', 'Secret-pw1');
  const userMs = Date.now() - t0;
  await server.createAnonymousUser('HT', 'guest');
  await server.createCertUser('HT', 'certy', cert.certPem);
  await server.enableSecureNat('HT');
  t.log(`createHub ${hubMs} ms, createPasswordUser ${userMs} ms`);
  const users = Object.fromEntries(csvRecords(await server.vpncmdCsv('UserList', [], { hub: 'HT' })).map((r) => [r['User Name'], r['Auth Method']]));
  t.deepEqual(users, {
    alice: 'Password Authentication',
    guest: 'Anonymous Authentication',
    certy: 'Individual Certificate Authentication',
  });
  const certRow = await server.vpncmd('UserGet', ['certy'], { hub: 'HT' });
  t.regex(certRow, new RegExp(`SHA1="${new X509Certificate(cert.certPem).fingerprint.replaceAll(':', '')}"`), 'the very certificate is pinned');
  const ext = Object.fromEntries(csvRecords(await server.vpncmdCsv('ExtOptionList', [], { hub: 'HT' })).map((r) => [r['Item'], r['Value']]));
  t.is(ext.DisableUdpAcceleration, '1');
  const logs = csvItems(await server.vpncmdCsv('LogGet', [], { hub: 'HT' }));
  t.is(logs['Save Packet Log'], 'Disable');
  t.is(logs['Save Security Log'], 'Disable');
  const host = csvItems(await server.vpncmdCsv('SecureNatHostGet', [], { hub: 'HT' }));
  t.is(host['IP Address'], '192.168.30.1');
  t.is(csvItems(await server.vpncmdCsv('DhcpGet', [], { hub: 'HT' }))['Use Virtual DHCP Function'], 'Yes');

  // --- vpncmd failures are typed and fast
  const dup = await t.throwsAsync(server.createHub('HT'), { instanceOf: VpncmdError });
  t.is(dup?.code, 57);
  t0 = Date.now();
  const denied = await t.throwsAsync(
    (async () => {
      const wrong = await import('./harness/vpncmd.ts');
      return wrong.runVpncmd({ netns: server.netns, dir: server.dir, port: server.port, adminPassword: 'not-the-password' }, 'HubList');
    })(),
    { instanceOf: VpncmdError },
  );
  t.regex(denied?.message ?? '', /password refused/);
  t.true(Date.now() - t0 < 5000, 'a wrong password does not wait for the timeout');

  // --- the listener answers TLS from the root namespace
  const tls = await tlsHandshake(server.host, server.port);
  t.log(`TLS ${tls.protocol} ${tls.cipher}`);
  t.regex(tls.protocol ?? '', /^TLSv1\.[23]$/);

  // --- sessions
  const sessions = await server.listSessions('HT');
  const nat = sessions.find((s) => s.user === 'SecureNAT');
  t.truthy(nat, JSON.stringify(sessions));
  const detail = await server.getSession('HT', nat!.name);
  t.is(detail.tcpConnections, 0, 'SecureNAT has no TCP connections');
  t.true(detail.bridgeMode);
  await t.throwsAsync(server.getSession('HT', 'SID-NOPE-1'), { instanceOf: VpncmdError, message: /code 29/ });

  t.log(`${Date.now() - began} ms so far`);
  // --- killTcpConnections on real connections from our side of the veth
  const socks = await Promise.all([1, 2, 3].map(() => openTcp(server.host, server.port)));
  const closed = socks.map((s) => new Promise<void>((r) => s.once('close', () => r())));
  for (const s of socks) s.on('error', () => undefined);
  t.is(await killTcpConnections({ dst: server.host, dport: server.port, max: 2 }), 2);
  t.is(await killTcpConnections({ dst: server.host, dport: server.port }), 1);
  await Promise.all(closed);
  t.is(await killTcpConnections({ dst: server.host, dport: server.port }), 0);

  // --- SIGKILL + restart on the same config
  const firstPid = server.pid;
  server.signal('SIGKILL');
  t0 = Date.now();
  await server.restart();
  t.log(`restart() after SIGKILL ${Date.now() - t0} ms`);
  t.not(server.pid, firstPid);
  t.false(pidAlive(firstPid));
  t.is(readlinkSync(`/proc/${server.pid}/exe`), VPNSERVER);
  await server.waitListening(1000);
  t.truthy((await server.listSessions('HT')).find((s) => s.user === 'SecureNAT'), 'hub and SecureNAT survived the kill (flushed)');
  t.is(csvRecords(await server.vpncmdCsv('UserList', [], { hub: 'HT' })).length, 3);

  t.log(`${Date.now() - began} ms so far`);
  // --- SIGSTOP: the kernel still accepts, the server does not answer; SIGCONT brings it back
  server.signal('SIGSTOP');
  await t.throwsAsync(tlsHandshake(server.host, server.port, 1500), { message: /timed out/ });
  server.signal('SIGCONT');
  t.regex((await tlsHandshake(server.host, server.port)).protocol ?? '', /TLS/);

  // --- stop() leaves nothing behind and is idempotent
  const pid = server.pid;
  t0 = Date.now();
  await server.stop();
  t.log(`stop() ${Date.now() - t0} ms`);
  stopped = true;
  t.deepEqual(footprint(server), { netns: false, veth: false, etc: false, dir: false, process: false });
  t.false(pidAlive(pid));
  t.false(sh(['ip', '-4', 'addr', 'show']).out.includes(`${server.clientAddress}/30`));
  await server.stop();
  t.log(`whole test ${Date.now() - began} ms`);
});

real(realTitle('real server: cold start without the cache does the one-time setup itself; custom admin password'), async (t) => {
  t.timeout(120_000);
  let t0 = Date.now();
  const cold = await startServer({ useTemplate: false, adminPassword: 'Adm1n-pw' });
  const coldMs = Date.now() - t0;
  t.teardown(() => cold.stop());
  t0 = Date.now();
  const warm = await startServer();
  const warmMs = Date.now() - t0;
  t.teardown(() => warm.stop());
  t.log(`startServer(): cold ${coldMs} ms, from template ${warmMs} ms`);
  t.is(cold.adminPassword, 'Adm1n-pw');
  t.deepEqual(await cold.vpncmdCsv('ListenerList'), [['Port Number', 'Status'], ['TCP 5555', 'Listening']]);
  const config = readFileSync(join(cold.dir, 'lib', 'vpn_server.config'), 'utf8');
  t.true(readBool(config, 'DDnsClient', 'Disabled'));
  t.true(readBool(config, 'ServerConfiguration', 'DisableNatTraversal'));
  t.false(readBool(config, 'ServerConfiguration', 'UseKeepConnect'));
  t.not(cold.host, warm.host);
  t.not(cold.netns, warm.netns);
  // Two servers side by side, each reachable on its own address.
  t.regex((await tlsHandshake(cold.host, cold.port)).protocol ?? '', /TLS/);
  t.regex((await tlsHandshake(warm.host, warm.port)).protocol ?? '', /TLS/);
});

real(realTitle('cleanup removes an instance whose owner died, and stop() afterwards is harmless'), async (t) => {
  t.timeout(60_000);
  const server = await startServer();
  t.teardown(() => server.stop());
  const pid = server.pid;
  // Pretend the owner is a process that has already exited.
  const dead = spawnSync('true').pid!;
  t.false(pidAlive(dead));
  writeFileSync(join(server.dir, 'owner'), `${dead}\n`);
  const keep = cleanupLeftovers({ only: [server.netns] });
  t.deepEqual(keep.problems, []);
  t.deepEqual(keep.removed, [server.netns]);
  await new Promise((r) => setTimeout(r, 200));
  t.deepEqual(footprint(server), { netns: false, veth: false, etc: false, dir: false, process: false });
  t.false(pidAlive(pid));
  await server.stop();
  t.pass();
});

real(realTitle('safety net: a test process that exits or is SIGTERMed without stop() leaves nothing behind'), async (t) => {
  t.timeout(60_000);
  const harness = new URL('./harness/softether-server.ts', import.meta.url).href;
  for (const how of ['exit', 'SIGTERM', 'SIGKILL'] as const) {
    const code = `
      const { startServer } = await import(${JSON.stringify(harness)});
      const s = await startServer();
      console.log(JSON.stringify({ netns: s.netns, pid: s.pid, dir: s.dir }));
      if (${JSON.stringify(how)} === 'exit') process.exit(0);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await new Promise<{ netns: string; pid: number; dir: string }>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        const line = buf.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line));
      });
      child.once('exit', (c) => reject(new Error(`child exited ${c} before starting a server`)));
    });
    if (how !== 'exit') child.kill(how);
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    // The server dies with its owner in every case (exit handler, or setpriv's parent-death signal).
    for (let i = 0; i < 50 && pidAlive(info.pid); i++) await new Promise((r) => setTimeout(r, 100));
    t.false(pidAlive(info.pid), `${how}: server process gone`);
    if (how === 'SIGKILL') {
      // Nothing could run in the child: cleanup.ts is what removes the rest.
      t.true(existsSync(info.dir), 'SIGKILL leaves the namespace for cleanup');
      t.deepEqual(cleanupLeftovers({ only: [info.netns] }).removed, [info.netns]);
    }
    t.false(sh(['ip', 'netns', 'list']).out.includes(info.netns), `${how}: namespace gone`);
    t.false(existsSync(info.dir), `${how}: directory gone`);
    t.false(existsSync(`/etc/netns/${info.netns}`), `${how}: /etc/netns entry gone`);
  }
});
