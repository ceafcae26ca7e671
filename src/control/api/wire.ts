/** Small helpers for SoftEther's JSON values. */

/**
 * `_dt`: ISO 8601 in UTC. "Never" is what the stock 5.01 server sends for it, 1970-01-01T09:00 (its zero time
 * shifted by the developers' JST offset, measured: docs/softether-admin-api.md); clients compare against it.
 */
export const ZERO_TIME = '1970-01-01T09:00:00.000Z';

export function dt(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return ZERO_TIME;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? ZERO_TIME : d.toISOString();
}

export function b64(buf: Uint8Array | null | undefined): string {
  return buf && buf.length > 0 ? Buffer.from(buf).toString('base64') : '';
}

/** "aa:bb:..." or "AABB..." → the MAC as 6 bytes, base64 (MacAddress_bin). */
export function macBin(mac: string): string {
  return Buffer.from(mac.replace(/[^0-9a-fA-F]/g, ''), 'hex').toString('base64');
}

/** Splits "authentication failed (error 9): check user name and password" into text and hint. */
export function splitHint(message: string): { text: string; hint: string } {
  const m = /^(.*?\(error \d+\)):\s*(.*)$/s.exec(message);
  return m ? { text: m[1], hint: m[2] } : { text: message, hint: '' };
}
