import { access, chmod, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { fsyncDir, writeFileAtomic } from '../atomic-write.ts';
import { ConfigError } from '../../session/options.ts';
import { migrate, MIGRATIONS, type Migration } from './migrations.ts';
import { validateConfig } from './schema.ts';
import { defaultConfig, type AppConfig } from './types.ts';

export const CONFIG_FILE = 'config.json';
export const LAST_GOOD_FILE = 'config.json.last-good';
/** Far above the largest valid document (64 cascades with certificate, key and proxy header: ~2.5 MB). */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Corrupt files kept aside per kind; older ones are removed so a flapping fault cannot fill the flash. */
export const KEEP_CORRUPT = 5;
const MAX_WARNINGS = 20;

export interface ConfigFileAdapterOptions {
  now?: () => Date;
  /** Migration steps (tests inject their own). */
  migrations?: readonly Migration[];
  /** Called after each file this adapter wrote (test hook for "no write while nothing changes"). */
  onWrite?: (path: string) => void;
}

/** The canonical text of a document: what goes on disk, and what "changed" is decided on. */
export function serializeConfig(config: AppConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

type Candidate =
  | { kind: 'missing' }
  | { kind: 'ok'; config: AppConfig; text: string }
  | { kind: 'bad'; reason: string };

/**
 * lowdb adapter for `config.json` in the data directory.
 *
 * Writes: atomic (temporary file, fsync, rename, fsync directory), mode 0600, and only when the canonical text
 * differs from what is on disk, so nothing is written while nothing changes. After each write the same text goes
 * to `config.json.last-good` (also atomic). Both files hold the same text except after a kill between the two
 * renames, when config.json is the newer one and is still valid.
 *
 * Why a second copy although each write is atomic: the rename protects against a crash during a write, not
 * against a file damaged later (flash bit rot, a hand edit, a newer firmware's document after a downgrade).
 *
 * Reads (start): a config.json that is unreadable JSON, schema-invalid or of a newer version is renamed aside
 * (`config.json.corrupt-<ISO time>`, never overwritten or deleted while it is among the last KEEP_CORRUPT) and
 * the last good copy is used and restored as config.json; with neither, defaults. Each such event adds a line to
 * `warnings` for the UI. A missing config.json with no last good copy is a first start (defaults, no warning,
 * nothing written until the first change).
 */
export class ConfigFileAdapter implements Adapter<AppConfig> {
  readonly dir: string;
  readonly path: string;
  readonly lastGoodPath: string;
  /** Problems found at start or while writing the last good copy, for the UI. */
  readonly warnings: string[] = [];
  readonly #now: () => Date;
  readonly #migrations: readonly Migration[];
  readonly #onWrite: ((path: string) => void) | undefined;
  /** Text of config.json as last read or written by us; null = no file. */
  #onDisk: string | null = null;
  #lastGoodStale = false;

  constructor(dir: string, opts: ConfigFileAdapterOptions = {}) {
    this.dir = dir;
    this.path = join(dir, CONFIG_FILE);
    this.lastGoodPath = join(dir, LAST_GOOD_FILE);
    this.#now = opts.now ?? (() => new Date());
    this.#migrations = opts.migrations ?? MIGRATIONS;
    this.#onWrite = opts.onWrite;
  }

  async read(): Promise<AppConfig> {
    await this.#prepareDir();
    const main = await this.#load(this.path);
    if (main.kind === 'ok') {
      this.#onDisk = main.text;
      await this.#repairLastGood(main.text);
      return main.config;
    }
    if (main.kind === 'bad') {
      const aside = await this.#setAside(this.path);
      this.#warn(`${CONFIG_FILE} could not be used (${main.reason}); it was kept as ${aside}`);
    }
    const good = await this.#load(this.lastGoodPath);
    if (good.kind === 'ok') {
      this.#warn(
        main.kind === 'missing'
          ? `${CONFIG_FILE} was missing; the last good copy was restored`
          : `the last good configuration (${LAST_GOOD_FILE}) is in use`,
      );
      await this.#writeFile(this.path, good.text);
      this.#onDisk = good.text;
      return good.config;
    }
    if (good.kind === 'bad') {
      const aside = await this.#setAside(this.lastGoodPath);
      this.#warn(`${LAST_GOOD_FILE} could not be used either (${good.reason}); it was kept as ${aside}`);
    }
    if (main.kind === 'bad' || good.kind === 'bad') this.#warn('no usable configuration was found: starting with the defaults');
    this.#onDisk = null;
    return defaultConfig();
  }

  async write(data: AppConfig): Promise<void> {
    // Validate here too: a document that would not load again must never reach the disk.
    const text = serializeConfig(validateConfig(data));
    if (text === this.#onDisk && !this.#lastGoodStale) return;
    if (text !== this.#onDisk) {
      await this.#writeFile(this.path, text); // the commit point: a failure before it changes nothing
      this.#onDisk = text;
    }
    try {
      await this.#writeFile(this.lastGoodPath, text);
      this.#lastGoodStale = false;
    } catch (e) {
      // config.json holds the change already; the copy is retried with the next write and repaired at start.
      this.#lastGoodStale = true;
      this.#warn(`${LAST_GOOD_FILE} could not be written (${(e as Error).message}); config.json is up to date`);
    }
  }

  /** Bounded: a disk failing on every write must not grow the list without end. */
  #warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
  }

  async #writeFile(path: string, text: string): Promise<void> {
    await writeFileAtomic(path, text, 0o600);
    this.#onWrite?.(path);
  }

  async #prepareDir(): Promise<void> {
    const made = await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (made !== undefined) {
      await chmod(this.dir, 0o700); // the umask must not widen or narrow it
      await fsyncDir(dirname(made)); // the new directory's entry must survive a power cut too
    }
    // Temporary files of writes interrupted by a kill or power cut (writeFileAtomic names them .<file>.<hex>.tmp).
    for (const name of await readdir(this.dir)) {
      if (/^\.config\.json(?:\.last-good)?\.[0-9a-f]{8}\.tmp$/.test(name)) await unlink(join(this.dir, name)).catch(() => {});
    }
  }

  async #load(path: string): Promise<Candidate> {
    let text: string;
    try {
      const st = await stat(path);
      if (!st.isFile()) return { kind: 'bad', reason: 'not a regular file' };
      if (st.size > MAX_FILE_BYTES) return { kind: 'bad', reason: `larger than ${MAX_FILE_BYTES} bytes` };
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      // V8's message quotes the text around the error, which may be part of a secret: only the position is kept.
      const at = /position (\d+)/.exec((e as Error).message);
      return { kind: 'bad', reason: `not valid JSON${at ? ` (at character ${at[1]})` : ''}, ${text.length} characters` };
    }
    try {
      return { kind: 'ok', config: validateConfig(migrate(json, this.#migrations)), text };
    } catch (e) {
      if (e instanceof ConfigError) return { kind: 'bad', reason: e.message };
      throw e;
    }
  }

  /** After a kill between the two renames, or a damaged copy: make the last good copy equal config.json again. */
  async #repairLastGood(text: string): Promise<void> {
    const good = await this.#load(this.lastGoodPath);
    if (good.kind === 'ok' && good.text === text) return;
    if (good.kind === 'bad') {
      const aside = await this.#setAside(this.lastGoodPath);
      this.#warn(`${LAST_GOOD_FILE} could not be used (${good.reason}); it was kept as ${aside} and replaced by ${CONFIG_FILE}`);
    }
    await this.#writeFile(this.lastGoodPath, text);
  }

  /** Rename `path` to `<path>.corrupt-<ISO time>` (never over an existing file) and prune old ones. */
  async #setAside(path: string): Promise<string> {
    const base = `${path}.corrupt-${this.#now().toISOString()}`;
    let target = base;
    for (let i = 1; await exists(target); i++) target = `${base}-${i}`;
    await rename(path, target);
    await this.#pruneCorrupt(path);
    return target.slice(this.dir.length + 1);
  }

  async #pruneCorrupt(path: string): Promise<void> {
    // The names end in ISO times, which sort like the times themselves: drop all but the newest KEEP_CORRUPT.
    const prefix = `${path.slice(this.dir.length + 1)}.corrupt-`;
    const names = (await readdir(this.dir)).filter((n) => n.startsWith(prefix)).sort().reverse();
    for (const old of names.slice(KEEP_CORRUPT)) await unlink(join(this.dir, old)).catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
