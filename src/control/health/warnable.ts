/**
 * A health warning, declared once (after Tailscale's health.Warnable): a stable code the UI and webhooks key on,
 * a title, a severity, the codes whose breakage hides it (a cascade that is down trivially has no traffic, so
 * "no traffic" says nothing new), how long it must stay broken before anyone sees it (short flaps never reach the
 * UI), and the words for one occurrence.
 */
export type Severity = 'low' | 'medium' | 'high';

/** Arguments of one occurrence: plain values only, so they can go into JSON (history, webhook) as they are. */
export type WarningArgs = Readonly<Record<string, string | number | boolean | null>>;

export interface Warnable {
  /** Stable identifier, e.g. 'cascade-down'. Lower-case words joined by '-'. */
  readonly code: string;
  readonly title: string;
  readonly severity: Severity;
  /** Codes that, while unhealthy for the same target (or globally, target ''), hide this warning. */
  readonly dependsOn?: readonly string[];
  /** How long the warning must stay unhealthy before it becomes visible (default 0). */
  readonly timeToVisibleMs?: number;
  /** The appliance's job (moving frames between LAN and server) is affected. */
  readonly impactsConnectivity?: boolean;
  text(target: string, args: WarningArgs): string;
}

const CODE_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Checks a set of declarations once, at start-up: unique well-formed codes, known dependencies, no cycles. */
export function validateWarnables(list: readonly Warnable[]): Map<string, Warnable> {
  const byCode = new Map<string, Warnable>();
  for (const w of list) {
    if (!CODE_RE.test(w.code)) throw new Error(`warnable code ${JSON.stringify(w.code)}: lower-case words joined by '-'`);
    if (byCode.has(w.code)) throw new Error(`warnable code ${w.code} declared twice`);
    if (w.timeToVisibleMs !== undefined && !(Number.isFinite(w.timeToVisibleMs) && w.timeToVisibleMs >= 0)) {
      throw new Error(`warnable ${w.code}: timeToVisibleMs must be a finite number >= 0`);
    }
    byCode.set(w.code, w);
  }
  for (const w of list) {
    for (const d of w.dependsOn ?? []) {
      if (!byCode.has(d)) throw new Error(`warnable ${w.code} depends on unknown code ${d}`);
    }
  }
  // A cycle would hide both warnings forever while both are broken.
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (code: string, path: string[]): void => {
    if (done.has(code)) return;
    if (visiting.has(code)) throw new Error(`warnable dependency cycle: ${[...path, code].join(' -> ')}`);
    visiting.add(code);
    for (const d of byCode.get(code)!.dependsOn ?? []) visit(d, [...path, code]);
    visiting.delete(code);
    done.add(code);
  };
  for (const w of list) visit(w.code, []);
  return byCode;
}
