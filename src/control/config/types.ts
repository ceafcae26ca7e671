/**
 * The one document the daemon keeps in its data directory (`config.json`), version 1.
 *
 * Only settings live here: no counters, no status, nothing that changes by itself, so the file is written only when
 * the administrator changes something (flash wear). Limits and rules for every field: `schema.ts`.
 */

import type { ProxyOptions, ProxyType } from '../../session/proxy/proxy-options.ts';

export const CONFIG_VERSION = 1;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type CascadeAuthType = 'anonymous' | 'password' | 'plain' | 'cert';
export type { ProxyType } from '../../session/proxy/proxy-options.ts';

export interface AppConfig {
  version: 1;
  /** `passwordHash`: opaque scrypt string from the auth module (<= 512 chars); null = not set up yet. */
  admin: { passwordHash: string | null };
  /** <= 64; names unique case-insensitively (like SoftEther account names). */
  cascades: CascadeConfig[];
  /** <= 32; devices unique. */
  bridges: BridgeConfig[];
  health: HealthConfig;
  log: LogConfig;
}

export interface HealthConfig {
  /** http(s) URL or null. */
  webhookUrl: string | null;
  /** 1..100 */
  cpuWarnPercent: number;
  /** 1..100 */
  memoryWarnPercent: number;
  /** 1..100 */
  diskWarnPercent: number;
  /** 30..120 */
  temperatureWarnC: number;
}

export interface LogConfig {
  level: LogLevel;
  /** Remote syslog (UDP, RFC 5424); null = none. */
  syslog: { host: string; port: number } | null;
}

/** One cascade link: the options of SoftEther's "CreateLink" (client account). */
export interface CascadeConfig {
  /** AccountName: 1..255 chars, no control chars, not only spaces. */
  name: string;
  online: boolean;
  /** Host name or IPv4/IPv6 literal. */
  host: string;
  /** 1..65535 */
  port: number;
  /** Remote virtual hub name: 1..255, no whitespace. */
  hub: string;
  /** 0..255; empty only for anonymous. */
  username: string;
  authType: CascadeAuthType;
  /** Base64 of the 20-byte SHA0(password || UPPER(username)); required for 'password'. Secret. */
  hashedPassword: string | null;
  /** Required for 'plain' (RADIUS/NT users). Secret. */
  plainPassword: string | null;
  /** Required for 'cert' (PEM). */
  clientCertPem: string | null;
  /** Required for 'cert' (PEM). Secret. */
  clientKeyPem: string | null;
  /** 1..32 */
  maxConnections: number;
  /** Seconds, 1..3600. */
  additionalConnectionInterval: number;
  /** Seconds, 0 = never (SoftEther ConnectionDisconnectSpan). */
  connectionLifetime: number;
  halfDuplex: boolean;
  compress: boolean;
  encrypt: boolean;
  disableQos: boolean;
  checkServerCert: boolean;
  /** 64 lowercase hex digits: the trusted (pinned) server certificate, or null. */
  serverCertSha256: string | null;
  proxy: ProxyConfig;
}

/**
 * How a cascade's TCP connections reach the server: the engine's own options (src/session/proxy), stored as they
 * are. `port` 0..65535 (0 only with 'direct'); `password` is a secret; `customHttpHeader` <= 4 KiB of
 * "Name: value" lines (sent to an HTTP proxy).
 */
export type ProxyConfig = ProxyOptions;

export interface BridgeConfig {
  /** Linux interface name: 1..15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
  device: string;
  /** true: `device` is a TAP device sebridge creates; false: an existing NIC bridged through a raw socket. */
  tapMode: boolean;
  /** Existing Linux bridge the TAP device joins; only with tapMode. */
  linuxBridge: string | null;
}

/** First start: no admin password, no cascade, no bridge. */
export function defaultConfig(): AppConfig {
  return {
    version: CONFIG_VERSION,
    admin: { passwordHash: null },
    cascades: [],
    bridges: [],
    health: { webhookUrl: null, cpuWarnPercent: 90, memoryWarnPercent: 90, diskWarnPercent: 90, temperatureWarnC: 80 },
    log: { level: 'info', syslog: null },
  };
}

export function defaultProxy(): ProxyConfig {
  return { type: 'direct', host: '', port: 0, username: '', password: null, customHttpHeader: '' };
}

/**
 * A cascade with the stock defaults (8 connections, 1 s apart, encrypted, QoS, server certificate checked), offline
 * and anonymous until the caller sets an authentication. The result still goes through `validateCascade`.
 */
export function defaultCascade(name: string, host: string, port: number, hub: string, username: string): CascadeConfig {
  return {
    name,
    online: false,
    host,
    port,
    hub,
    username,
    authType: 'anonymous',
    hashedPassword: null,
    plainPassword: null,
    clientCertPem: null,
    clientKeyPem: null,
    maxConnections: 8,
    additionalConnectionInterval: 1,
    connectionLifetime: 0,
    halfDuplex: false,
    compress: false,
    encrypt: true,
    disableQos: false,
    checkServerCert: true,
    serverCertSha256: null,
    proxy: defaultProxy(),
  };
}
