import test from 'ava';
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../../src/session/options.ts';
import { migrate, MIGRATIONS, type Migration } from '../../../src/control/config/migrations.ts';
import { validateConfig } from '../../../src/control/config/schema.ts';
import { ConfigStore } from '../../../src/control/config/store.ts';
import { CONFIG_VERSION } from '../../../src/control/config/types.ts';
import { fullConfig, tempDir } from './fixtures.ts';

// A synthetic earlier format: "links" instead of "cascades", a flat log level, no health section.
const v0Doc = () => ({
  version: 0,
  adminHash: null,
  links: [{ ...fullConfig().cascades[3] }],
  bridges: [],
  logLevel: 'warn',
});
const v0to1: Migration = {
  from: 0,
  migrate: (d) => {
    const links = d['links'] as unknown[];
    delete d['links']; // steps may modify their own copy
    return {
      version: 1,
      admin: { passwordHash: d['adminHash'] },
      cascades: links,
      bridges: d['bridges'],
      health: { webhookUrl: null, cpuWarnPercent: 90, memoryWarnPercent: 90, diskWarnPercent: 90, temperatureWarnC: 80 },
      log: { level: d['logLevel'], syslog: null },
    };
  },
};
// A synthetic future step: v2 renames log.level to log.severity.
const v1to2: Migration = {
  from: 1,
  migrate: (d) => {
    const log = d['log'] as Record<string, unknown>;
    return { ...d, version: 2, log: { severity: log['level'], syslog: log['syslog'] } };
  },
};

test('this build is at version 1 with no steps; a v1 document passes unchanged (as a copy)', (t) => {
  t.is(CONFIG_VERSION, 1);
  t.deepEqual(MIGRATIONS, []);
  const doc = fullConfig();
  const out = migrate(doc);
  t.deepEqual(out, doc);
  t.not(out, doc);
});

test('v0 -> v1 with an injected step gives a valid current document; the input is not modified', (t) => {
  const doc = v0Doc();
  const before = structuredClone(doc);
  const out = validateConfig(migrate(doc, [v0to1]));
  t.deepEqual(doc, before);
  t.is(out.log.level, 'warn');
  t.is(out.cascades[0]!.name, 'anon');
  t.is(out.health.cpuWarnPercent, 90);
});

test('steps run in version order whatever their order in the list (v0 -> v1 -> v2)', (t) => {
  const out = migrate(v0Doc(), [v1to2, v0to1], 2);
  t.is(out['version'], 2);
  t.deepEqual(out['log'], { severity: 'warn', syslog: null });
  t.false('links' in out);
});

test('a document newer than the target is refused, naming the version', (t) => {
  const err = t.throws(() => migrate({ ...fullConfig(), version: 2 }), { instanceOf: ConfigError });
  t.is(err?.field, 'version');
  t.regex(err!.message, /schema version 2, newer than this firmware understands \(1\)/);
  t.is(t.throws(() => migrate({ version: 3 }, [v0to1, v1to2], 2), { instanceOf: ConfigError })?.field, 'version');
});

test('a missing step, a bad version or a step producing the wrong version is refused', (t) => {
  t.regex(t.throws(() => migrate(v0Doc(), [v1to2], 2), { instanceOf: ConfigError })!.message, /no migration from schema version 0 to 2/);
  t.regex(t.throws(() => migrate(v0Doc(), [v0to1], 2), { instanceOf: ConfigError })!.message, /no migration from schema version 1 to 2/);
  for (const bad of [{}, { version: '1' }, { version: 1.5 }, { version: -1 }]) {
    t.is(t.throws(() => migrate(bad), { instanceOf: ConfigError })?.field, 'version');
  }
  t.is(t.throws(() => migrate([1]), { instanceOf: ConfigError })?.field, 'config');
  const skipping: Migration = { from: 0, migrate: (d) => ({ ...d, version: 2 }) };
  t.throws(() => migrate(v0Doc(), [skipping], 2), { message: /produced version 2, expected 1/ });
});

test('the store migrates at load (without writing) and at import', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.teardown(cleanup);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'config.json');
  const v0text = JSON.stringify(v0Doc());
  await writeFile(path, v0text);
  await writeFile(join(dir, 'config.json.last-good'), v0text);
  const mtime = (await stat(path)).mtimeMs;
  let writes = 0;
  const store = await ConfigStore.open(dir, { migrations: [v0to1], onWrite: () => writes++ });
  t.deepEqual(store.startupWarnings, []);
  t.is(store.get().log.level, 'warn');
  t.is(writes, 0);
  t.is((await stat(path)).mtimeMs, mtime);
  t.is(await readFile(path, 'utf8'), v0text);
  // The first real change writes the migrated document.
  await store.update((d) => void (d.log.level = 'error'));
  t.is(JSON.parse(await readFile(path, 'utf8')).version, 1);

  const imported = await store.importConfig({ ...v0Doc(), logLevel: 'debug' });
  t.true(imported.changed);
  t.is(store.get().log.level, 'debug');
  const err = await t.throwsAsync(store.importConfig({ ...fullConfig(), version: 2 }), { instanceOf: ConfigError });
  t.is(err?.field, 'version');
  t.is(store.get().log.level, 'debug');
  await store.close();
});

test('without the step, the same v0 file is not usable: set aside, defaults (the old file is kept)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.teardown(cleanup);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(v0Doc()));
  const store = await ConfigStore.open(dir, { now: () => new Date('2026-01-02T03:04:05.006Z') });
  t.regex(store.startupWarnings.join('\n'), /no migration from schema version 0 to 1.*config\.json\.corrupt-2026-01-02T03:04:05\.006Z/s);
  t.deepEqual(JSON.parse(await readFile(join(dir, 'config.json.corrupt-2026-01-02T03:04:05.006Z'), 'utf8')), v0Doc());
  await store.close();
});
