import { EventEmitter } from 'node:events';
import { Low } from 'lowdb';
import { ConfigFileAdapter, serializeConfig, type ConfigFileAdapterOptions } from './file-adapter.ts';
import { migrate, MIGRATIONS, type Migration } from './migrations.ts';
import { validateConfig } from './schema.ts';
import { fillMissingSecrets, stripSecrets, type PublicConfig } from './secrets.ts';
import { defaultConfig, type AppConfig } from './types.ts';

export type ConfigStoreOptions = ConfigFileAdapterOptions;

/** Updates waiting behind the one in progress; more is a client flooding the API, refused rather than queued. */
export const MAX_PENDING_UPDATES = 32;

export interface UpdateResult {
  changed: boolean;
  /** The configuration after the update (deep-frozen; equal to the previous one when nothing changed). */
  config: Readonly<AppConfig>;
}

export interface ImportOptions {
  /**
   * Where secrets absent from the imported document come from (cascades matched by name, without case).
   * Default: the current configuration. null: nowhere (a required secret then missing is refused).
   * The admin password hash is kept from the current configuration in any case when the import has none.
   */
  keepSecretsFrom?: AppConfig | Readonly<AppConfig> | null;
}

type ConfigEvents = { change: [prev: Readonly<AppConfig>, next: Readonly<AppConfig>] };

function deepFreeze<T>(o: T): Readonly<T> {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/**
 * The daemon's configuration: one JSON document in the data directory, kept through lowdb with
 * `ConfigFileAdapter`. Readers get a deep-frozen snapshot; every change goes through `update` (or
 * `importConfig`), one at a time and in order, is validated as a whole before anything changes, and is written
 * only when the document really differs. `'change'(prev, next)` follows every real change.
 */
export class ConfigStore extends EventEmitter<ConfigEvents> {
  readonly dir: string;
  /** What went wrong at start (corrupt file set aside, last good copy used ...), for the UI. */
  readonly startupWarnings: string[];
  readonly #db: Low<AppConfig>;
  readonly #migrations: readonly Migration[];
  #snapshot: Readonly<AppConfig>;
  #snapshotText: string;
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #closed = false;

  private constructor(dir: string, db: Low<AppConfig>, warnings: string[], migrations: readonly Migration[]) {
    super();
    this.dir = dir;
    this.#db = db;
    this.startupWarnings = warnings;
    this.#migrations = migrations;
    this.#snapshot = deepFreeze(db.data);
    this.#snapshotText = serializeConfig(this.#snapshot);
  }

  static async open(dir: string, opts: ConfigStoreOptions = {}): Promise<ConfigStore> {
    const adapter = new ConfigFileAdapter(dir, opts);
    const db = new Low<AppConfig>(adapter, defaultConfig());
    await db.read();
    return new ConfigStore(dir, db, adapter.warnings, opts.migrations ?? MIGRATIONS);
  }

  get(): Readonly<AppConfig> {
    return this.#snapshot;
  }

  /**
   * Change the configuration: `mutate` edits a deep copy; the result is validated and, if it differs, written and
   * announced. An invalid result throws ConfigError naming the field, and nothing changes.
   */
  update(mutate: (draft: AppConfig) => void | Promise<void>): Promise<UpdateResult> {
    return this.#enqueue(async (prev) => {
      const draft = structuredClone(prev) as AppConfig;
      await mutate(draft);
      return validateConfig(draft);
    });
  }

  /** The document for a download. Without secrets the secret fields (see SECRET_FIELDS) are absent. */
  exportConfig(opts: { includeSecrets: true }): AppConfig;
  exportConfig(opts: { includeSecrets: false }): PublicConfig;
  exportConfig(opts: { includeSecrets: boolean }): AppConfig | PublicConfig;
  exportConfig(opts: { includeSecrets: boolean }): AppConfig | PublicConfig {
    return opts.includeSecrets ? (structuredClone(this.#snapshot) as AppConfig) : stripSecrets(this.#snapshot);
  }

  /**
   * Replace the whole configuration by an uploaded document: migrated to this version and validated (with the
   * missing secrets filled, see ImportOptions) before anything is applied.
   */
  importConfig(json: unknown, opts: ImportOptions = {}): Promise<UpdateResult> {
    return this.#enqueue(async (prev) => {
      const from = opts.keepSecretsFrom === undefined ? prev : opts.keepSecretsFrom;
      const next = validateConfig(fillMissingSecrets(migrate(json, this.#migrations), from as AppConfig | null));
      if (next.admin.passwordHash === null) next.admin.passwordHash = prev.admin.passwordHash;
      return next;
    });
  }

  /** Waits for the updates already accepted, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }

  #enqueue(produce: (prev: Readonly<AppConfig>) => Promise<AppConfig>): Promise<UpdateResult> {
    if (this.#closed) return Promise.reject(new Error('the configuration store is closed'));
    if (this.#pending >= MAX_PENDING_UPDATES) {
      return Promise.reject(new Error(`too many configuration changes waiting (${MAX_PENDING_UPDATES}); try again`));
    }
    this.#pending++;
    const run = this.#tail.then(() => this.#apply(produce)).finally(() => this.#pending--);
    this.#tail = run.catch(() => {});
    return run;
  }

  async #apply(produce: (prev: Readonly<AppConfig>) => Promise<AppConfig>): Promise<UpdateResult> {
    const prev = this.#snapshot;
    const next = await produce(prev);
    const text = serializeConfig(next);
    if (text === this.#snapshotText) return { changed: false, config: prev };
    const frozen = deepFreeze(next);
    this.#db.data = frozen;
    try {
      await this.#db.write();
    } catch (e) {
      this.#db.data = prev;
      throw e;
    }
    this.#snapshot = frozen;
    this.#snapshotText = text;
    this.emit('change', prev, frozen);
    return { changed: true, config: frozen };
  }
}
