/** Snapshot types returned by `Hub.stats()` and `Hub.macTable()`. Plain data: safe to log or serialise. */

/** Why the hub threw a frame away instead of forwarding it. */
export interface DropCounters {
  /** Shorter than an Ethernet header (14 bytes): nothing to switch on. */
  runt: number;
  /** Longer than the hub's maximum frame size. */
  oversize: number;
  /** Nowhere to go: destination learned on the ingress port itself, or no other port attached. */
  noDestination: number;
}

/** Counters of one port, seen from the hub: "in" = received from the port, "out" = written to it. */
export interface PortCounters {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  drops: DropCounters;
  /**
   * Frames whose source MAC could not be learned because the MAC table was full. They are still
   * forwarded (their replies are flooded); a rising value means someone is filling the table.
   */
  notLearnedTableFull: number;
  /** Frames carrying a group (multicast/broadcast) source MAC, which is never learned. */
  multicastSource: number;
  /** MACs that were learned on another port and moved to this one. */
  macMovesIn: number;
}

export interface PortStats extends PortCounters {
  name: string;
  /** MAC table entries currently pointing at this port (expired ones excluded). */
  macs: number;
}

export interface HubStats {
  ports: PortStats[];
  /** Sums over the attached ports (counters of detached ports are gone with them). */
  totals: PortCounters;
  macTable: { size: number; limit: number; learned: number; aged: number; moves: number };
}

export interface MacTableRow {
  /** "02:00:5e:10:00:01" */
  mac: string;
  port: string;
  /** Milliseconds since the MAC was last seen as a source. */
  ageMs: number;
}

export function emptyCounters(): PortCounters {
  return {
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    drops: { runt: 0, oversize: 0, noDestination: 0 },
    notLearnedTableFull: 0,
    multicastSource: 0,
    macMovesIn: 0,
  };
}

/** Add `b` into `a` (used for hub totals). */
export function addCounters(a: PortCounters, b: PortCounters): void {
  a.framesIn += b.framesIn;
  a.bytesIn += b.bytesIn;
  a.framesOut += b.framesOut;
  a.bytesOut += b.bytesOut;
  a.drops.runt += b.drops.runt;
  a.drops.oversize += b.drops.oversize;
  a.drops.noDestination += b.drops.noDestination;
  a.notLearnedTableFull += b.notLearnedTableFull;
  a.multicastSource += b.multicastSource;
  a.macMovesIn += b.macMovesIn;
}
