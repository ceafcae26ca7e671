/** The daemon's configuration document, v1 (placeholder until the config store lands; same shape). */
export const CONFIG_VERSION = 1;

export interface AppConfig {
  version: 1;
  admin: { passwordHash: string | null };
  cascades: CascadeConfig[];
  bridges: BridgeConfig[];
  health: {
    webhookUrl: string | null;
    cpuWarnPercent: number;
    memoryWarnPercent: number;
    diskWarnPercent: number;
    temperatureWarnC: number;
  };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; syslog: { host: string; port: number } | null };
}

export interface CascadeConfig {
  name: string;
  online: boolean;
  host: string;
  port: number;
  hub: string;
  username: string;
  authType: 'anonymous' | 'password' | 'plain' | 'cert';
  hashedPassword: string | null;
  plainPassword: string | null;
  clientCertPem: string | null;
  clientKeyPem: string | null;
  maxConnections: number;
  additionalConnectionInterval: number;
  connectionLifetime: number;
  halfDuplex: boolean;
  compress: boolean;
  encrypt: boolean;
  disableQos: boolean;
  checkServerCert: boolean;
  serverCertSha256: string | null;
  proxy: {
    type: 'direct' | 'http' | 'socks4' | 'socks5';
    host: string;
    port: number;
    username: string;
    password: string | null;
    customHttpHeader: string;
  };
}

export interface BridgeConfig {
  device: string;
  tapMode: boolean;
  linuxBridge: string | null;
}
