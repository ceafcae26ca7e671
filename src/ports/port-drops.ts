/** A port's drop counters (every stats() field whose name says "Drop") that are not zero, as reason → count. */
export function portDrops(stats: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) if (/Drop/.test(k) && typeof v === 'number' && v > 0) out[k] = v;
  return out;
}

/** "rxDropAqm=2 rxDropKernel=5", or "none": how `sebridge link` reports them when it stops. */
export function describePortDrops(stats: object): string {
  const d = Object.entries(portDrops(stats));
  return d.length ? d.map(([k, v]) => `${k}=${v}`).join(' ') : 'none';
}

/** CoDel's drops (native/codel.h, native/path_aqm.h): how a busy LAN host is told to slow down. */
export const AQM_DROP_REASONS: ReadonlySet<string> = new Set(['rxDropAqm', 'rxDropPathAqm']);

/**
 * Drops that point at a fault, summed (the health check's NIC-drop rate). CoDel's are left out: they are expected
 * whenever the LAN sends faster than the path beyond the bridge carries.
 */
export function faultDrops(drops: Record<string, number>): number {
  let n = 0;
  for (const [reason, count] of Object.entries(drops)) if (!AQM_DROP_REASONS.has(reason)) n += count;
  return n;
}
