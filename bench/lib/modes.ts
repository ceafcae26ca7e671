/** The cascade configurations measured, the same for both bridges. */
export interface Mode {
  id: string;
  label: string;
  connections: number;
  encrypt: boolean;
}

export const MODES: readonly Mode[] = [
  { id: 'tls8', label: '8 connections, TLS', connections: 8, encrypt: true },
  { id: 'tls1', label: '1 connection, TLS', connections: 1, encrypt: true },
  { id: 'plain8', label: '8 connections, no encryption', connections: 8, encrypt: false },
];

export const BRIDGE_KINDS = ['softether', 'sebridge'] as const;
export type BridgeKind = (typeof BRIDGE_KINDS)[number];

/** What a bridge needs to log in to the benchmark's server. */
export interface CascadeTarget {
  host: string;
  port: number;
  hub: string;
  user: string;
  password: string;
}
