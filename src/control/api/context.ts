import type { AppConfig } from '../config/types.ts';
import type { Supervisor } from '../supervisor.ts';
import type { CascadeOptions } from '../../session/options.ts';
import type { TestLoginResult } from '../../session/test-login.ts';
import type { FirmwareInfo, UploadResult } from '../firmware/manager.ts';

/** Who is calling (decided by the transport: JSON-RPC password header, browser session, or setup mode). */
export interface Caller {
  kind: 'setup' | 'admin';
  via: 'password' | 'basic' | 'session' | 'none' | 'internal';
  address: string;
}

/** What the config store offers the API (src/control/config/store.ts). */
export interface ConfigAccess {
  get(): Readonly<AppConfig>;
  update(mutate: (draft: AppConfig) => void | Promise<void>): Promise<{ changed: boolean }>;
  exportConfig(opts: { includeSecrets: boolean }): unknown;
  importConfig(json: unknown): Promise<unknown>;
  readonly startupWarnings: readonly string[];
}

export interface HealthWarningView {
  code: string;
  target: string;
  severity: 'low' | 'medium' | 'high';
  title: string;
  text: string;
  brokenSince: Date;
  impactsConnectivity: boolean;
}

export interface HealthEventView {
  time: Date;
  code: string;
  target: string;
  severity: 'low' | 'medium' | 'high';
  healthy: boolean;
  text: string;
}

export interface LogEntryView {
  time: Date;
  level: string;
  message: string;
  object: string;
}

export interface SystemStatusView {
  cpuPercent: number;
  memTotal: number;
  memUsed: number;
  temperatureC: number | null;
  systemUptimeSec: number;
  diskTotal: number;
  diskUsed: number;
}

export interface NicView {
  name: string;
  mac: string;
  carrier: boolean;
  speedMbps: number | null;
  mtu: number;
  addresses: string[];
  virtual: boolean;
}

export interface TrafficPoint {
  time: Date;
  bytesInPerSec: number;
  bytesOutPerSec: number;
}

/** Firmware upgrades (src/control/firmware/); the upload itself is the web server's POST /firmware/upload. */
export interface FirmwareAccess {
  info(): Promise<FirmwareInfo>;
  /** Writes `try` for the verified upload and reboots shortly after; refuses with a FirmwareError. */
  apply(opts: { version: string }): Promise<UploadResult>;
  maxUploadBytes(): Promise<number>;
  uploadPath: string;
}

/** Everything a method may use. Optional parts are absent in small unit tests. */
export interface ApiContext {
  config: ConfigAccess;
  supervisor: Supervisor;
  /** Returns the self-describing scrypt string for a new admin password (refuses weak ones with ApiError). */
  hashAdminPassword(password: string): Promise<string>;
  /** A one-shot real login to a server, then a clean logout (the "Test connection" button). */
  testLogin(options: CascadeOptions): Promise<TestLoginResult>;
  health?: {
    warnings(): HealthWarningView[];
    history(): HealthEventView[];
    /** The system checks' readings, oldest first (temperature null where the board has no sensor). */
    resources(): { intervalSec: number; points: Array<{ time: Date; cpuPercent: number; memPercent: number; diskPercent: number; temperatureC: number | null }> };
  };
  logs?: { query(q: { minLevel: string; text: string; max: number }): LogEntryView[] };
  metrics?: {
    history(cascade: string): { intervalSec: number; points: TrafficPoint[] };
    rate(cascade: string): { bytesInPerSec: number; bytesOutPerSec: number };
    eventLoopDelayP99Us(): number;
  };
  system?: { status(dataDir: string): Promise<SystemStatusView>; nics(): Promise<NicView[]> };
  firmware?: FirmwareAccess;
  /** Soft restart of every service in-process (RebootServer). */
  restart(): void;
  version: string;
  hostname: string;
  dataDir: string;
  startedAt: number;
  webCertSha256(): string;
  now(): number;
}
