import { ConfigError } from '../../session/options.ts';
import { CONFIG_VERSION } from './types.ts';

/**
 * Schema versions of `config.json`. Each step turns a document of version `from` into one of version `from + 1`
 * and must be a pure function (it gets its own copy and returns the new document). Steps are applied in order at
 * load and at import, before validation; validation then checks the result against the current schema.
 * A document newer than this build is refused (a firmware downgrade must not silently drop settings it does not
 * know); the caller keeps that file untouched.
 */
export interface Migration {
  from: number;
  migrate: (doc: Record<string, unknown>) => Record<string, unknown>;
}

/** v1 is the first version: nothing to migrate yet. A future v2 appends `{ from: 1, migrate: ... }` here. */
export const MIGRATIONS: readonly Migration[] = [];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The version a document claims; refuses documents without a usable one. */
export function documentVersion(doc: unknown): number {
  if (!isObj(doc)) throw new ConfigError('config', 'must be an object');
  const version = doc['version'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw new ConfigError('version', `must be a whole number, the schema version of the document (got ${JSON.stringify(version) ?? 'nothing'})`);
  }
  return version;
}

/**
 * Bring `doc` to version `target` (default: this build's) with `steps`. Returns a new object; `doc` is not modified.
 * Throws ConfigError('version', ...) for a newer document or a missing step.
 */
export function migrate(doc: unknown, steps: readonly Migration[] = MIGRATIONS, target: number = CONFIG_VERSION): Record<string, unknown> {
  let version = documentVersion(doc);
  if (version > target) {
    throw new ConfigError('version', `the document has schema version ${version}, newer than this firmware understands (${target}); it was written by a newer sebridge`);
  }
  let cur = structuredClone(doc) as Record<string, unknown>;
  while (version < target) {
    const step = steps.find((s) => s.from === version);
    if (!step) throw new ConfigError('version', `no migration from schema version ${version} to ${target}`);
    const next = step.migrate(structuredClone(cur));
    const got = documentVersion(next);
    if (got !== version + 1) throw new Error(`config migration from version ${version} produced version ${got}, expected ${version + 1}`);
    cur = next;
    version = got;
  }
  return cur;
}
