/** The wizard's single "server address" box: host, host:port, [v6]:port or a bare IPv6 address. */
import { FieldError } from './errors.ts';

export const DEFAULT_PORT = 443;

export function parseHostPort(raw: string): { host: string; port: number } {
  const s = raw.trim();
  if (!s) throw new FieldError('Hostname_str', 'Enter the server address (host name or IP, optionally :port)');
  let host = s;
  let port = DEFAULT_PORT;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d*))?$/.exec(s);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) {
      if (!/^\d+$/.test(v6[2])) throw new FieldError('Hostname_str', 'The port after ":" is missing');
      port = Number(v6[2]);
    }
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.lastIndexOf(':');
    host = s.slice(0, i);
    const p = s.slice(i + 1);
    if (!/^\d+$/.test(p)) throw new FieldError('Hostname_str', p ? `"${p}" is not a port number` : 'The port after ":" is missing');
    port = Number(p);
  }
  if (!host || /[\s/@[\]]/.test(host)) throw new FieldError('Hostname_str', 'The server address must be a host name or IP address without spaces, slashes or brackets');
  if (host.length > 255) throw new FieldError('Hostname_str', 'The server address is longer than 255 characters');
  if (port < 1 || port > 65535) throw new FieldError('Hostname_str', 'The port must be from 1 to 65535');
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  const h6 = host.includes(':') ? `[${host}]` : host;
  return port === DEFAULT_PORT ? h6 : `${h6}:${port}`;
}
