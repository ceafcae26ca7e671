import { emptyCounters } from '../../../src/session/status.ts';
import type { CascadeStatus } from '../../../src/session/status.ts';
import type { BridgeSnapshot } from '../../../src/control/health/checks.ts';

/** A cascade status as Cascade.status() builds it; `over` replaces top-level fields. */
export function cascadeStatus(over: Partial<CascadeStatus> = {}): CascadeStatus {
  return {
    state: 'online',
    lastError: null,
    connectedSince: '2026-12-03T08:00:00.000Z',
    nextAttemptAt: null,
    attempts: 0,
    sessions: 1,
    connections: { total: 8, up: 8, down: 8, connecting: 0, granted: 8, requested: 8 },
    traffic: emptyCounters(),
    negotiated: null,
    server: null,
    tls: null,
    serverCertSha256: null,
    certificateTrust: { mode: 'first-use', trustedSha256: null },
    ...over,
  };
}

export function bridge(over: Partial<BridgeSnapshot> = {}): BridgeSnapshot {
  return { device: 'eth1', present: true, up: true, carrier: true, framesIn: 0, framesOut: 0, drops: 0, ...over };
}

/** A settable clock. */
export function fakeClock(start = Date.parse('2026-12-03T08:00:00Z')): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}
