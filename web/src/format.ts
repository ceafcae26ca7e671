/** Human-readable numbers for network engineers: rates in bit/s, sizes in bytes (binary units). */

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** Bytes per second → bit/s with SI prefixes (link speeds are quoted that way). */
export function rate(bytesPerSec: number): string {
  if (!Number.isFinite(bytesPerSec)) return '–';
  const bits = bytesPerSec * 8;
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let i = 0;
  let v = bits;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

export function count(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '–';
}

/** "3d 4h", "2h 05m", "4m 09s", "12s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  if (mm > 0) return `${mm}m ${String(ss).padStart(2, '0')}s`;
  return `${ss}s`;
}

export function parseDate(iso: string | undefined | null): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  // SoftEther's "no date" is the epoch or year 1970/0001; treat anything before 2000 as unset.
  return Number.isFinite(t) && t > 946684800000 ? t : null;
}

export function dateTime(iso: string | undefined | null): string {
  const t = parseDate(iso);
  if (t === null) return '–';
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds since an ISO date, or null. */
export function since(iso: string | undefined | null, now = Date.now()): number | null {
  const t = parseDate(iso);
  return t === null ? null : Math.max(0, (now - t) / 1000);
}

/** SoftEther versions are integers: 501 → "5.01". */
export function version(v: number, build?: number): string {
  if (!v) return '–';
  const s = `${Math.floor(v / 100)}.${String(v % 100).padStart(2, '0')}`;
  return build ? `${s} build ${build}` : s;
}

/** A SHA-256 fingerprint as colon-separated upper-case hex pairs. */
export function fingerprint(hex: string): string {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (!clean) return '–';
  return clean.match(/.{1,2}/g)!.join(':');
}

export function speed(mbps: number): string {
  if (!mbps) return 'unknown';
  return mbps >= 1000 ? `${mbps / 1000} Gbit/s` : `${mbps} Mbit/s`;
}

export function percent(used: number, total: number): number {
  return total > 0 ? Math.round((used / total) * 100) : 0;
}

/** Short axis labels for a bit rate: "800k", "7.5M", "1.2G". */
export function bitsShort(bits: number): string {
  const a = Math.abs(bits);
  if (a >= 1e9) return `${+(bits / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(bits / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(bits / 1e3).toFixed(1)}k`;
  return `${Math.round(bits)}`;
}

/** Axis labels for times (s since the epoch, uPlot's form): with seconds when the ticks are under a minute apart. */
export function timeTicks(vals: number[]): string[] {
  const step = vals.length > 1 ? Math.abs(vals[1]! - vals[0]!) : 60;
  return vals.map((v) => (step < 60 ? clockSeconds(v * 1000) : clock(v * 1000)));
}

export function clockSeconds(ms: number): string {
  const d = new Date(ms);
  return `${clock(ms)}:${String(d.getSeconds()).padStart(2, '0')}`;
}

export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A fingerprint in the API's form: 64 lower-case hex digits without colons ('' when there is none). */
export function fingerprintHex(value: string): string {
  return value.replace(/[:\s]/g, '').toLowerCase();
}

/** Whether two fingerprints name the same certificate, whatever their notation (colons, case). */
export function sameFingerprint(a: string, b: string): boolean {
  const x = fingerprintHex(a);
  return x !== '' && x === fingerprintHex(b);
}

/** A fingerprint typed or pasted by the user: '' (none) or 64 hex digits, colons and spaces allowed; null if invalid. */
export function parseFingerprint(input: string): string | null {
  const hex = fingerprintHex(input.trim());
  if (hex === '') return '';
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/** A bridge port's drop counters (the API's DropList reasons) in words; an unknown reason is shown as it is. */
const DROP_REASONS: Record<string, string> = {
  rxDropAqm: 'CoDel, LAN host slowed (normal under load)',
  rxDropPathAqm: 'CoDel, queue beyond the bridge (normal under load)',
  rxDropKernel: 'receive buffer full',
  rxDropNoMemory: 'no receive buffer free',
  rxDropOversize: 'longer than 1600 bytes',
  rxDropTruncated: 'longer than 64 KiB',
  rxDropRunt: 'shorter than an Ethernet header',
  rxDropBadGso: 'bad offload metadata',
  rxDropNoReceiver: 'arrived before the bridge listened',
  txDropQueueFull: 'send queue full',
  txDropInvalid: 'invalid length to send',
  txDropError: 'refused by the interface',
  txDropNoDevice: 'interface missing',
};

export function dropReason(reason: string): string {
  return Object.hasOwn(DROP_REASONS, reason) ? DROP_REASONS[reason]! : reason;
}
