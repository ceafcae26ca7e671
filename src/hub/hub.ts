import type { Port } from '../ports/port.ts';
import { isGroupMacAt, macHiAt, macLoAt, macToString } from './mac.ts';
import { LearnResult, MacTable } from './mac-table.ts';
import { addCounters, emptyCounters } from './stats.ts';
import type { HubStats, MacTableRow, PortCounters, PortStats } from './stats.ts';

/** Shortest frame the hub will look at: destination, source, EtherType. */
export const ETHERNET_HEADER_SIZE = 14;

export interface HubOptions {
  /** MAC table limit (flood protection). Default 4096. */
  maxMacs?: number;
  /** An entry not refreshed for this long is forgotten. Default 300 000 (300 s). */
  agingMs?: number;
  /** Frames longer than this are dropped. Default 1600 (room for VLAN/QinQ tags on a 1500 MTU). */
  maxFrameSize?: number;
  /** Monotonic clock in ms; injectable for tests. Default `performance.now`. */
  now?: () => number;
}

export const HubErrorCode = {
  Closed: 'HUB_CLOSED',
  AlreadyAttached: 'PORT_ALREADY_ATTACHED',
} as const;
export type HubErrorCode = (typeof HubErrorCode)[keyof typeof HubErrorCode];

export class HubError extends Error {
  readonly code: HubErrorCode;
  constructor(code: HubErrorCode, message: string) {
    super(message);
    this.name = 'HubError';
    this.code = code;
  }
}

// Indexes into PortRecord.c.
const FRAMES_IN = 0;
const BYTES_IN = 1;
const FRAMES_OUT = 2;
const BYTES_OUT = 3;
const DROP_RUNT = 4;
const DROP_OVERSIZE = 5;
const DROP_NO_DESTINATION = 6;
const NOT_LEARNED_TABLE_FULL = 7;
const MULTICAST_SOURCE = 8;
const MAC_MOVES_IN = 9;
const COUNTER_COUNT = 10;

/** Per attached port state. */
class PortRecord {
  readonly port: Port;
  attached = true;
  // Batch bookkeeping: which output slot this port has in the batch numbered `batchId`.
  batchId = -1;
  slot = 0;
  // Counters live in a Float64Array: as plain fields, V8 starts them as small integers and the
  // first byte counter to pass 2^31 changes the object's shape and deoptimizes the hot path (seen
  // in bench/hub.bench.ts: ~2x slower afterwards).
  readonly c = new Float64Array(COUNTER_COUNT);

  constructor(port: Port) {
    this.port = port;
  }

  counters(): PortCounters {
    return {
      framesIn: this.c[FRAMES_IN],
      bytesIn: this.c[BYTES_IN],
      framesOut: this.c[FRAMES_OUT],
      bytesOut: this.c[BYTES_OUT],
      drops: { runt: this.c[DROP_RUNT], oversize: this.c[DROP_OVERSIZE], noDestination: this.c[DROP_NO_DESTINATION] },
      notLearnedTableFull: this.c[NOT_LEARNED_TABLE_FULL],
      multicastSource: this.c[MULTICAST_SOURCE],
      macMovesIn: this.c[MAC_MOVES_IN],
    };
  }
}

/**
 * A virtual Ethernet switch: learns source MACs, sends known unicast to one port, floods
 * broadcast/multicast/unknown unicast to all other ports, never sends a frame back where it came from.
 *
 * Frames are never copied: the same Buffer object goes to every destination (the Port contract makes
 * frames read-only). A batch arriving from one port leaves as at most one `write()` per destination
 * port, frames in arrival order.
 *
 * No timer: MAC aging is lazy (see MacTable), so `close()` only has to detach the ports.
 *
 * Re-entrancy: a port's `write()` may synchronously cause another batch to arrive (a test host
 * answering at once). Everything a batch needs is decided before the first `write()` and kept in
 * locals, so a nested batch is simply forwarded on its own.
 */
export class Hub {
  readonly maxFrameSize: number;
  #table: MacTable<PortRecord>;
  #ports: PortRecord[] = [];
  #byPort = new Map<Port, PortRecord>();
  #now: () => number;
  #batchCounter = 0;
  #closed = false;

  constructor(options: HubOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? 1600;
    this.#now = options.now ?? performance.now.bind(performance);
    this.#table = new MacTable<PortRecord>({ maxEntries: options.maxMacs ?? 4096, agingMs: options.agingMs ?? 300_000 });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Start switching frames to and from `port` (takes over its receiver). */
  attach(port: Port): void {
    if (this.#closed) throw new HubError(HubErrorCode.Closed, 'hub is closed');
    if (this.#byPort.has(port)) throw new HubError(HubErrorCode.AlreadyAttached, `port ${port.name} is already attached`);
    const rec = new PortRecord(port);
    this.#ports.push(rec);
    this.#byPort.set(port, rec);
    port.setReceiver((frames) => this.#forward(rec, frames));
  }

  /** Stop switching for `port`, forget the MACs learned on it. Returns false if it was not attached. */
  detach(port: Port): boolean {
    const rec = this.#byPort.get(port);
    if (rec === undefined) return false;
    rec.attached = false;
    this.#byPort.delete(port);
    this.#ports = this.#ports.filter((r) => r !== rec);
    this.#table.forgetPort(rec);
    port.setReceiver(null);
    return true;
  }

  /** Detach every port. Idempotent; the hub cannot be used afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const rec of [...this.#ports]) this.detach(rec.port);
    this.#table.clear();
  }

  stats(): HubStats {
    const now = this.#now();
    const macsPerPort = new Map<PortRecord, number>();
    for (const e of this.#table.entries(now)) macsPerPort.set(e.port, (macsPerPort.get(e.port) ?? 0) + 1);
    const totals = emptyCounters();
    const ports: PortStats[] = this.#ports.map((rec) => {
      const c = rec.counters();
      addCounters(totals, c);
      return { name: rec.port.name, macs: macsPerPort.get(rec) ?? 0, ...c };
    });
    const t = this.#table;
    return { ports, totals, macTable: { size: t.size, limit: t.maxEntries, learned: t.learned, aged: t.aged, moves: t.moves } };
  }

  macTable(): MacTableRow[] {
    const rows: MacTableRow[] = [];
    for (const e of this.#table.entries(this.#now())) rows.push({ mac: macToString(e.hi, e.lo), port: e.port.port.name, ageMs: e.ageMs });
    return rows;
  }

  #forward(ingress: PortRecord, frames: readonly Buffer[]): void {
    // A stale receiver (port kept a reference across detach) must not inject into the hub.
    if (!ingress.attached) return;
    const n = frames.length;
    if (n === 0) return;
    const now = this.#now();
    const table = this.#table;
    const ports = this.#ports;
    const maxFrameSize = this.maxFrameSize;
    // Output grouping: dests[i] gets outs[i]. Locals, not fields, so a nested batch cannot disturb them.
    let batchId = this.#batchCounter + 1;
    if (batchId > 0x3fffffff) {
      // Stay a small integer forever (a double would reshape PortRecord); forget old stamps on wrap.
      batchId = 0;
      for (const rec of ports) rec.batchId = -1;
    }
    this.#batchCounter = batchId;
    const dests: PortRecord[] = [];
    const outs: Buffer[][] = [];

    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      const len = f.length;
      ingress.c[FRAMES_IN]++;
      ingress.c[BYTES_IN] += len;
      if (len < ETHERNET_HEADER_SIZE) {
        ingress.c[DROP_RUNT]++;
        continue;
      }
      if (len > maxFrameSize) {
        ingress.c[DROP_OVERSIZE]++;
        continue;
      }

      if (isGroupMacAt(f, 6)) {
        ingress.c[MULTICAST_SOURCE]++;
      } else {
        const r = table.learn(macHiAt(f, 6), macLoAt(f, 6), ingress, now);
        if (r === LearnResult.Moved) ingress.c[MAC_MOVES_IN]++;
        else if (r === LearnResult.TableFull) ingress.c[NOT_LEARNED_TABLE_FULL]++;
      }

      const known = isGroupMacAt(f, 0) ? undefined : table.lookup(macHiAt(f, 0), macLoAt(f, 0), now);
      if (known !== undefined) {
        if (known === ingress) {
          ingress.c[DROP_NO_DESTINATION]++;
          continue;
        }
        known.c[FRAMES_OUT]++;
        known.c[BYTES_OUT] += len;
        if (known.batchId === batchId) outs[known.slot]!.push(f);
        else {
          known.batchId = batchId;
          known.slot = dests.length;
          dests.push(known);
          outs.push([f]);
        }
        continue;
      }

      // Flood.
      let sent = false;
      for (let p = 0; p < ports.length; p++) {
        const rec = ports[p]!;
        if (rec === ingress) continue;
        sent = true;
        rec.c[FRAMES_OUT]++;
        rec.c[BYTES_OUT] += len;
        if (rec.batchId === batchId) outs[rec.slot]!.push(f);
        else {
          rec.batchId = batchId;
          rec.slot = dests.length;
          dests.push(rec);
          outs.push([f]);
        }
      }
      if (!sent) ingress.c[DROP_NO_DESTINATION]++;
    }

    // A port whose write() throws is a bug in that port: the other destinations still get their
    // frames, then the first error goes up to whoever delivered the batch.
    let failure: unknown = undefined;
    let failed = false;
    for (let d = 0; d < dests.length; d++) {
      const rec = dests[d]!;
      const out = outs[d]!;
      if (rec.attached) {
        try {
          rec.port.write(out);
        } catch (err) {
          if (!failed) failure = err;
          failed = true;
        }
      } else {
        // Detached by an earlier write of this very batch: those frames never left.
        rec.c[FRAMES_OUT] -= out.length;
        for (const f of out) rec.c[BYTES_OUT] -= f.length;
      }
    }
    if (failed) throw failure;
  }
}
