import test from 'ava';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../../../src/session/options.ts';
import { ConfigFileAdapter } from '../../../src/control/config/file-adapter.ts';
import { SECRET_FIELDS } from '../../../src/control/config/secrets.ts';
import { ConfigStore, MAX_PENDING_UPDATES } from '../../../src/control/config/store.ts';
import { defaultCascade, defaultConfig, type AppConfig } from '../../../src/control/config/types.ts';
import { fullConfig, hashedPw, tempDir } from './fixtures.ts';

const NOW = new Date('2026-12-03T08:00:00.000Z');

async function setup(t: { teardown: (f: () => Promise<void>) => void }) {
  const { dir, cleanup } = await tempDir();
  t.teardown(cleanup);
  const writes: string[] = [];
  const open = () => ConfigStore.open(dir, { now: () => NOW, onWrite: (p) => writes.push(p.slice(dir.length + 1)) });
  const file = (name = 'config.json') => join(dir, name);
  const text = (name = 'config.json') => readFile(file(name), 'utf8');
  return { dir, writes, open, file, text };
}

const replaceAll = (full: AppConfig) => (d: AppConfig) => void Object.assign(d, structuredClone(full));

test('first start: defaults, no warning, nothing written; the directory is created 0700', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  t.deepEqual(store.get(), defaultConfig());
  t.deepEqual(store.startupWarnings, []);
  t.deepEqual(s.writes, []);
  t.deepEqual(await readdir(s.dir), []);
  t.is((await stat(s.dir)).mode & 0o777, 0o700);
  await store.close();
});

test('a change is validated, written (0600, plus the last good copy) and announced once', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const events: Array<[Readonly<AppConfig>, Readonly<AppConfig>]> = [];
  store.on('change', (prev, next) => events.push([prev, next]));
  const before = store.get();
  const r = await store.update((d) => void (d.log.level = 'warn'));
  t.true(r.changed);
  t.is(r.config.log.level, 'warn');
  t.is(store.get(), r.config);
  t.deepEqual(s.writes, ['config.json', 'config.json.last-good']);
  t.deepEqual(JSON.parse(await s.text()), store.get());
  t.is(await s.text('config.json.last-good'), await s.text());
  t.is((await stat(s.file())).mode & 0o777, 0o600);
  t.is((await stat(s.file('config.json.last-good'))).mode & 0o777, 0o600);
  t.is(events.length, 1);
  t.is(events[0]![0], before);
  t.is(events[0]![1], store.get());
  t.is(before.log.level, 'info');
  await store.close();
});

test('zero writes while nothing changes: no-op updates, same values, reopening', async (t) => {
  const s = await setup(t);
  let store = await s.open();
  await store.update(replaceAll(fullConfig()));
  const mtimes = [(await stat(s.file())).mtimeMs, (await stat(s.file('config.json.last-good'))).mtimeMs];
  s.writes.length = 0;
  let events = 0;
  store.on('change', () => events++);
  await sleep(20); // an mtime change would be visible
  t.false((await store.update(() => {})).changed);
  t.false((await store.update((d) => void (d.log.level = 'debug'))).changed); // already debug
  t.false((await store.update(replaceAll(fullConfig()))).changed);
  // Same content with keys in another order is the same document.
  t.false((await store.update((d) => void (d.health = Object.fromEntries(Object.entries(d.health).reverse()) as AppConfig["health"]))).changed);
  t.false((await store.importConfig(store.exportConfig({ includeSecrets: false }))).changed);
  await store.close();
  for (let i = 0; i < 3; i++) {
    store = await s.open();
    t.deepEqual(store.get(), fullConfig());
    t.deepEqual(store.startupWarnings, []);
    await store.close();
  }
  t.deepEqual(s.writes, []);
  t.is(events, 0);
  t.deepEqual([(await stat(s.file())).mtimeMs, (await stat(s.file('config.json.last-good'))).mtimeMs], mtimes);
});

test('an invalid update is refused with the field named; nothing changes, nothing is written', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await store.update(replaceAll(fullConfig()));
  s.writes.length = 0;
  const disk = await s.text();
  let events = 0;
  store.on('change', () => events++);
  const err = await t.throwsAsync(store.update((d) => void (d.cascades[1]!.port = 0)), { instanceOf: ConfigError });
  t.is(err?.field, 'cascades[1].port');
  await t.throwsAsync(store.update((d) => void d.cascades.push(defaultCascade('HEAD OFFICE', 'h', 1, 'H', ''))), { instanceOf: ConfigError, message: /cascades\[4\]\.name/ });
  await t.throwsAsync(store.update(() => { throw new Error('mutator failed'); }), { message: 'mutator failed' });
  await t.throwsAsync(store.update(async (d) => { d.log.level = 'warn'; await sleep(1); throw new Error('late'); }), { message: 'late' });
  t.deepEqual(store.get(), fullConfig());
  t.is(await s.text(), disk);
  t.deepEqual(s.writes, []);
  t.is(events, 0);
  await store.close();
});

test('get() is a deep-frozen snapshot; update works on a copy', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await store.update(replaceAll(fullConfig()));
  const snap = store.get();
  t.throws(() => { (snap as AppConfig).log.level = 'error'; }, { instanceOf: TypeError });
  t.throws(() => { (snap.cascades as AppConfig['cascades']).pop(); }, { instanceOf: TypeError });
  t.throws(() => { (snap.cascades[0]!.proxy as { port: number }).port = 1; }, { instanceOf: TypeError });
  let seen: AppConfig | undefined;
  await store.update((d) => { seen = d; d.cascades[0]!.proxy.port = 8080; });
  t.false(Object.isFrozen(seen));
  t.is(snap.cascades[0]!.proxy.port, 3128);
  t.is(store.get().cascades[0]!.proxy.port, 8080);
  await store.close();
});

test('updates run one at a time, in order; waiting updates are bounded', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const order: number[] = [];
  let running = 0;
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      store.update(async (d) => {
        running++;
        t.is(running, 1);
        await sleep(2);
        d.health.cpuWarnPercent = d.health.cpuWarnPercent - 1; // read-modify-write: lost updates would show
        order.push(i);
        running--;
      }),
    ),
  );
  t.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.is(store.get().health.cpuWarnPercent, 80);
  t.deepEqual(results.map((r) => r.config.health.cpuWarnPercent), [89, 88, 87, 86, 85, 84, 83, 82, 81, 80]);
  const flood = Array.from({ length: MAX_PENDING_UPDATES + 5 }, () => store.update(async () => { await sleep(1); }));
  const settled = await Promise.allSettled(flood);
  t.is(settled.filter((r) => r.status === 'rejected').length, 5);
  t.regex(String((settled.at(-1) as PromiseRejectedResult).reason), /too many configuration changes waiting/);
  await store.close();
  await t.throwsAsync(store.update(() => {}), { message: /closed/ });
});

const secretStrings = (c: AppConfig) => [
  c.admin.passwordHash!,
  ...c.cascades.flatMap((x) => [x.hashedPassword, x.plainPassword, x.clientKeyPem, x.proxy.password]).filter((x): x is string => x !== null),
];

test('export without secrets leaves out every secret field; with secrets it is the whole document', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const full = fullConfig();
  await store.update(replaceAll(full));
  t.deepEqual(store.exportConfig({ includeSecrets: true }), full);
  const pub = store.exportConfig({ includeSecrets: false });
  const json = JSON.stringify(pub);
  const secrets = secretStrings(full);
  t.is(secrets.length, 5);
  for (const secret of secrets) t.false(json.includes(secret), 'a secret was exported');
  t.deepEqual(pub.admin, {});
  for (const c of pub.cascades) {
    for (const [k] of SECRET_FIELDS.cascade.filter((p) => p.length === 1)) t.false(k in c, k);
    t.false('password' in c.proxy);
  }
  // Everything else is there.
  t.is(pub.cascades[2]!.clientCertPem, full.cascades[2]!.clientCertPem);
  t.is(pub.cascades[0]!.proxy.customHttpHeader, full.cascades[0]!.proxy.customHttpHeader);
  t.deepEqual(pub.health, full.health);
  // The export is a copy: changing it changes nothing.
  pub.log.level = 'error';
  t.is(store.get().log.level, 'debug');
  await store.close();
});

test('import with secrets into a fresh store reproduces the document', async (t) => {
  const a = await setup(t);
  const store = await a.open();
  const r = await store.importConfig(JSON.parse(JSON.stringify(fullConfig())));
  t.true(r.changed);
  t.deepEqual(store.get(), fullConfig());
  t.deepEqual(JSON.parse(await a.text()), fullConfig());
  await store.close();
});

test('import without secrets keeps the secrets of same-named cascades and the admin hash', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const full = fullConfig();
  await store.update(replaceAll(full));
  const pub = JSON.parse(JSON.stringify(store.exportConfig({ includeSecrets: false })));
  pub.cascades[0].name = 'HEAD OFFICE'; // names match without case
  pub.cascades[0].port = 8443;
  pub.cascades.reverse();
  const r = await store.importConfig(pub);
  t.true(r.changed);
  const c = store.get().cascades.find((x) => x.name === 'HEAD OFFICE')!;
  t.is(c.port, 8443);
  t.is(c.hashedPassword, full.cascades[0]!.hashedPassword);
  t.is(c.proxy.password, 'proxy-secret');
  t.is(store.get().cascades.find((x) => x.name === 'Radius users')!.plainPassword, 'plain-secret');
  t.is(store.get().cascades.find((x) => x.name === 'cert link')!.clientKeyPem, full.cascades[2]!.clientKeyPem);
  t.is(store.get().admin.passwordHash, full.admin.passwordHash);
  await store.close();
});

test('import without a required secret is refused with the field named, and nothing changes', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await store.update(replaceAll(fullConfig()));
  s.writes.length = 0;
  const disk = await s.text();
  const pub = JSON.parse(JSON.stringify(store.exportConfig({ includeSecrets: false })));
  pub.cascades[0].name = 'New office'; // no current cascade of that name: no secret to keep
  const err = await t.throwsAsync(store.importConfig(pub), { instanceOf: ConfigError });
  t.is(err?.field, 'cascades[0].hashedPassword');
  // keepSecretsFrom: null keeps nothing from the current cascades ...
  const pub2 = JSON.parse(JSON.stringify(store.exportConfig({ includeSecrets: false })));
  t.is((await t.throwsAsync(store.importConfig(pub2, { keepSecretsFrom: null }), { instanceOf: ConfigError }))?.field, 'cascades[0].hashedPassword');
  // ... bad documents are refused whole.
  t.is((await t.throwsAsync(store.importConfig({ ...pub2, extra: 1 }), { instanceOf: ConfigError }))?.field, 'extra');
  t.is((await t.throwsAsync(store.importConfig('not a document'), { instanceOf: ConfigError }))?.field, 'config');
  t.deepEqual(store.get(), fullConfig());
  t.is(await s.text(), disk);
  t.deepEqual(s.writes, []);
  await store.close();
});

test('the admin password hash is never replaced by an import without one, but by one that has it', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await store.update((d) => void (d.admin.passwordHash = 'hash-A'));
  const none = { ...defaultConfig(), admin: { passwordHash: null } };
  await store.importConfig(none, { keepSecretsFrom: null });
  t.is(store.get().admin.passwordHash, 'hash-A');
  await store.importConfig({ ...defaultConfig(), admin: {} });
  t.is(store.get().admin.passwordHash, 'hash-A');
  await store.importConfig({ ...defaultConfig(), admin: { passwordHash: 'hash-B' } });
  t.is(store.get().admin.passwordHash, 'hash-B');
  await store.close();
});

test('import with secrets from another source (keepSecretsFrom)', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const source = fullConfig();
  source.cascades[0]!.hashedPassword = hashedPw('bridge1', 'other');
  const pub = JSON.parse(JSON.stringify(store.exportConfig({ includeSecrets: false })));
  t.deepEqual(pub.cascades, []);
  const doc = fullConfig() as unknown as Record<string, any>;
  delete doc['cascades'][0].hashedPassword;
  await store.importConfig(doc, { keepSecretsFrom: source });
  t.is(store.get().cascades[0]!.hashedPassword, source.cascades[0]!.hashedPassword);
  await store.close();
});

async function writeBoth(s: Awaited<ReturnType<typeof setup>>, main: string | null, lastGood: string | null) {
  await mkdir(s.dir, { recursive: true });
  if (main !== null) await writeFile(s.file(), main);
  if (lastGood !== null) await writeFile(s.file('config.json.last-good'), lastGood);
}
const good = () => `${JSON.stringify(fullConfig(), null, 2)}\n`;
const ASIDE = `config.json.corrupt-${NOW.toISOString()}`;

const corruptions: Array<[string, string, RegExp]> = [
  ['unparsable JSON', '{"version": 1, "admin": {', /not valid JSON/],
  ['an empty file', '', /not valid JSON/],
  ['schema-invalid', JSON.stringify({ ...fullConfig(), bridges: [{ device: 'eth0/1', tapMode: false, linuxBridge: null }] }), /bridges\[0\]\.device/],
  ['a newer version', JSON.stringify({ ...fullConfig(), version: 2, newSetting: true }), /newer than this firmware/],
];
for (const [what, content, reason] of corruptions) {
  test(`a config.json with ${what} is kept aside, the last good copy is used and restored, with a warning`, async (t) => {
    const s = await setup(t);
    await writeBoth(s, content, good());
    const store = await s.open();
    t.deepEqual(store.get(), fullConfig());
    t.is(store.startupWarnings.length, 2, store.startupWarnings.join('\n'));
    t.regex(store.startupWarnings[0]!, reason);
    t.true(store.startupWarnings[0]!.includes(ASIDE));
    t.regex(store.startupWarnings[1]!, /last good configuration/);
    t.is(await s.text(ASIDE), content); // never overwritten
    t.is(await s.text(), good());
    t.deepEqual(s.writes, ['config.json']);
    t.false(store.startupWarnings.join().includes('pw-of-bridge1'));
    await store.close();
    // The next start is clean.
    const again = await s.open();
    t.deepEqual(again.startupWarnings, []);
    await again.close();
  });
}

test('neither file usable: both kept aside, defaults, warnings', async (t) => {
  const s = await setup(t);
  await writeBoth(s, 'garbage', JSON.stringify({ version: 7 }));
  const store = await s.open();
  t.deepEqual(store.get(), defaultConfig());
  t.is(store.startupWarnings.length, 3);
  t.regex(store.startupWarnings[1]!, /last-good could not be used either.*newer/);
  t.regex(store.startupWarnings[2]!, /defaults/);
  t.is(await s.text(ASIDE), 'garbage');
  t.is(await s.text(`config.json.last-good.corrupt-${NOW.toISOString()}`), JSON.stringify({ version: 7 }));
  t.deepEqual(s.writes, []);
  await store.close();
});

test('config.json missing but a last good copy: restored, with a warning', async (t) => {
  const s = await setup(t);
  await writeBoth(s, null, good());
  const store = await s.open();
  t.deepEqual(store.get(), fullConfig());
  t.regex(store.startupWarnings.join(), /config\.json was missing/);
  t.is(await s.text(), good());
  await store.close();
});

test('killed between the two renames: config.json (newer) is used and the last good copy repaired, silently', async (t) => {
  const s = await setup(t);
  const older = { ...fullConfig(), log: { level: 'error', syslog: null } };
  await writeBoth(s, good(), JSON.stringify(older));
  const store = await s.open();
  t.deepEqual(store.get(), fullConfig());
  t.deepEqual(store.startupWarnings, []);
  t.deepEqual(s.writes, ['config.json.last-good']);
  t.is(await s.text('config.json.last-good'), good());
  await store.close();
});

test('a damaged last good copy next to a good config.json is kept aside and replaced', async (t) => {
  const s = await setup(t);
  await writeBoth(s, good(), '{{{');
  const store = await s.open();
  t.deepEqual(store.get(), fullConfig());
  t.regex(store.startupWarnings.join(), /last-good could not be used.*replaced/);
  t.is(await s.text('config.json.last-good'), good());
  t.is(await s.text(`config.json.last-good.corrupt-${NOW.toISOString()}`), '{{{');
  await store.close();
});

test('temporary files of interrupted writes are removed at start; old corrupt files are pruned', async (t) => {
  const s = await setup(t);
  await writeBoth(s, 'bad', good());
  await writeFile(s.file('.config.json.0123abcd.tmp'), '{"half":');
  await writeFile(s.file('.config.json.last-good.89abcdef.tmp'), '');
  await writeFile(s.file('unrelated.txt'), 'keep me');
  for (let i = 0; i < 6; i++) await writeFile(s.file(`config.json.corrupt-2025-01-0${i + 1}T00:00:00.000Z`), 'old');
  await writeFile(s.file(ASIDE), 'same time as now');
  const store = await s.open();
  const names = (await readdir(s.dir)).sort();
  t.deepEqual(names, [
    'config.json',
    'config.json.corrupt-2025-01-04T00:00:00.000Z',
    'config.json.corrupt-2025-01-05T00:00:00.000Z',
    'config.json.corrupt-2025-01-06T00:00:00.000Z',
    ASIDE,
    `${ASIDE}-1`,
    'config.json.last-good',
    'unrelated.txt',
  ]);
  t.is(await s.text(ASIDE), 'same time as now');
  t.is(await s.text(`${ASIDE}-1`), 'bad');
  await store.close();
});

test('a failing last-good write does not undo the committed change; it is retried with the next change', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await mkdir(s.file('config.json.last-good')); // rename over a directory fails
  const r = await store.update((d) => void (d.log.level = 'warn'));
  t.true(r.changed);
  t.is(JSON.parse(await s.text()).log.level, 'warn');
  t.regex(store.startupWarnings.join(), /last-good could not be written/);
  await rm(s.file('config.json.last-good'), { recursive: true });
  await store.update((d) => void (d.log.level = 'error'));
  t.is(await s.text('config.json.last-good'), await s.text());
  await store.close();
});

test('the adapter itself refuses to write an invalid document', async (t) => {
  const s = await setup(t);
  const adapter = new ConfigFileAdapter(s.dir);
  await adapter.read();
  const bad = { ...defaultConfig(), log: { level: 'loud', syslog: null } } as unknown as AppConfig;
  await t.throwsAsync(adapter.write(bad), { instanceOf: ConfigError, message: /log\.level/ });
  t.deepEqual(await readdir(s.dir), []);
});

test('a kept password hash needs the same user name (the hash covers it); case does not matter', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await store.update(replaceAll(fullConfig()));
  const pub = JSON.parse(JSON.stringify(store.exportConfig({ includeSecrets: false })));
  pub.cascades[0].username = 'BRIDGE1';
  await store.importConfig(pub);
  t.is(store.get().cascades[0]!.hashedPassword, fullConfig().cascades[0]!.hashedPassword);
  pub.cascades[0].username = 'bridge2';
  const err = await t.throwsAsync(store.importConfig(pub), { instanceOf: ConfigError });
  t.is(err?.field, 'cascades[0].hashedPassword');
  t.is(store.get().cascades[0]!.username, 'BRIDGE1');
  await store.close();
});

test('prototype keys in an uploaded document are refused as unknown', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const doc = JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(defaultConfig()).slice(1)}`);
  t.is((await t.throwsAsync(store.importConfig(doc), { instanceOf: ConfigError }))?.field, '__proto__');
  t.is(({} as Record<string, unknown>)['polluted'], undefined);
  const doc2 = JSON.parse(`{"constructor": 1, ${JSON.stringify(defaultConfig()).slice(1)}`);
  t.is((await t.throwsAsync(store.importConfig(doc2), { instanceOf: ConfigError }))?.field, 'constructor');
  await store.close();
});

test('the warning for an unparsable file does not quote its text (it may hold a secret)', async (t) => {
  const s = await setup(t);
  await writeBoth(s, '{"admin": {"passwordHash": "TOPSECRETHASH" x', good());
  const store = await s.open();
  const w = store.startupWarnings.join('\n');
  t.regex(w, /not valid JSON \(at character \d+\)/);
  t.false(w.includes('TOPSECRET'), w);
  await store.close();
});
