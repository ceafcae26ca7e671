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
