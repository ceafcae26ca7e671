import type { AppConfig, CascadeConfig } from './types.ts';

/**
 * The secret fields of the document, in one place: left out of exports without secrets, never echoed in error
 * messages, kept from the current configuration when an import does not carry them.
 * Paths are relative to the document (`root`) or to one cascade (`cascade`).
 */
export const SECRET_FIELDS = {
  root: [['admin', 'passwordHash']],
  cascade: [['hashedPassword'], ['plainPassword'], ['clientKeyPem'], ['proxy', 'password']],
} as const satisfies { root: readonly (readonly string[])[]; cascade: readonly (readonly string[])[] };

/** Last path segments whose value must never appear in a message (the secrets plus fields that may embed one). */
export const NO_ECHO_KEYS: ReadonlySet<string> = new Set([
  ...SECRET_FIELDS.root.map((p) => p[p.length - 1]!),
  ...SECRET_FIELDS.cascade.map((p) => p[p.length - 1]!),
  'clientCertPem', // long, and users paste key and certificate together by mistake
  'webhookUrl', // webhook URLs often carry their access token in the path
  'customHttpHeader', // may hold a Proxy-Authorization header
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function removeAt(o: unknown, path: readonly string[]): void {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isObj(cur)) return;
    cur = cur[path[i]!];
  }
  if (isObj(cur)) delete cur[path[path.length - 1]!];
}

function has(o: unknown, path: readonly string[]): boolean {
  let cur = o;
  for (const k of path) {
    if (!isObj(cur) || !Object.hasOwn(cur, k)) return false;
    cur = cur[k];
  }
  return true;
}

function get(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const k of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Set only where the parent object exists: a malformed import is left for the validator to name. */
function setAt(o: unknown, path: readonly string[], value: unknown): void {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isObj(cur)) return;
    cur = cur[path[i]!];
  }
  if (isObj(cur)) cur[path[path.length - 1]!] = value;
}

/** A deep copy of `config` with every secret field removed (the keys are absent, not null). */
export function stripSecrets(config: AppConfig): PublicConfig {
  const copy = structuredClone(config) as unknown;
  for (const p of SECRET_FIELDS.root) removeAt(copy, p);
  if (isObj(copy) && Array.isArray(copy['cascades'])) {
    for (const c of copy['cascades']) for (const p of SECRET_FIELDS.cascade) removeAt(c, p);
  }
  return copy as PublicConfig;
}

/**
 * Fill the secrets an imported document does not carry (keys absent) from `current`: a cascade's from the current
 * cascade of the same name (compared without case; the password hash only if the user name is the same too), else
 * null, so that a required one then missing is named by the validator. The admin password hash is never replaced by an import that has none (absent or null).
 * Works on (and returns) a copy; the input is not modified.
 */
export function fillMissingSecrets(imported: unknown, current: AppConfig | null): unknown {
  if (!isObj(imported)) return imported;
  const doc = structuredClone(imported);
  for (const p of SECRET_FIELDS.root) {
    const mine = get(doc, p);
    if (mine === undefined || mine === null) {
      const keep = current ? get(current, p) : null;
      setAt(doc, p, keep ?? null);
    }
  }
  const cascades = doc['cascades'];
  if (Array.isArray(cascades)) {
    const byName = new Map<string, CascadeConfig>();
    for (const c of current?.cascades ?? []) byName.set(c.name.toLowerCase(), c);
    for (const c of cascades) {
      if (!isObj(c)) continue;
      const same = typeof c['name'] === 'string' ? byName.get(c['name'].toLowerCase()) : undefined;
      // The stored password hash covers the user name (SHA0(password || UPPER(username))): with another user name
      // it would be wrong, so it is not kept and the validator asks for a new one.
      const sameUser = same !== undefined && typeof c['username'] === 'string' && c['username'].toUpperCase() === same.username.toUpperCase();
      for (const p of SECRET_FIELDS.cascade) {
        if (has(c, p)) continue;
        const keep = same !== undefined && (p[0] !== 'hashedPassword' || sameUser);
        setAt(c, p, keep ? (get(same, p) ?? null) : null);
      }
    }
  }
  return doc;
}

/** A cascade as exported without secrets. */
export type PublicCascade = Omit<CascadeConfig, 'hashedPassword' | 'plainPassword' | 'clientKeyPem' | 'proxy'> & {
  proxy: Omit<CascadeConfig['proxy'], 'password'>;
};
/** The document as exported without secrets (the secret keys are absent). */
export type PublicConfig = Omit<AppConfig, 'admin' | 'cascades'> & { admin: Record<string, never>; cascades: PublicCascade[] };
