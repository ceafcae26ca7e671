import { hashPassword } from '../../src/protocol/password.ts';
import type { AppConfig, BridgeConfig, CascadeConfig } from '../../src/control/config/types.ts';

export function cascadeConfig(over: Partial<CascadeConfig> = {}): CascadeConfig {
  const username = over.username ?? 'bridge1';
  return {
    name: 'hq', online: true, host: '198.18.0.1', port: 5555, hub: 'HUB1', username,
    authType: 'password', hashedPassword: hashPassword(username, 'secret').toString('base64'), plainPassword: null,
    clientCertPem: null, clientKeyPem: null, maxConnections: 8, additionalConnectionInterval: 1, connectionLifetime: 0,
    halfDuplex: false, compress: false, encrypt: true, disableQos: false, checkServerCert: false, serverCertSha256: null,
    proxy: { type: 'direct', host: '', port: 0, username: '', password: null, customHttpHeader: '' },
    ...over,
  };
}

export function bridgeConfig(over: Partial<BridgeConfig> = {}): BridgeConfig {
  return { device: 'eth1', tapMode: false, linuxBridge: null, ...over };
}

export function appConfig(over: Partial<AppConfig> = {}): AppConfig {
  return {
    version: 1,
    admin: { passwordHash: null },
    cascades: [],
    bridges: [],
    health: { webhookUrl: null, cpuWarnPercent: 90, memoryWarnPercent: 90, diskWarnPercent: 90, temperatureWarnC: 80 },
    log: { level: 'info', syslog: null },
    ...over,
  };
}
