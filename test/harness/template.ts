import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VPNSERVER } from './jail.ts';

/**
 * A fresh server needs one-time setup (admin password, listeners, keep-alive, then a stop + config
 * edit + start for DDNS and NAT-T). That costs seconds, so the result is cached per machine as a
 * vpn_server.config that later instances start from. The cache is keyed on the vpnserver binary
 * (an upgrade writes a new default config) and on FORMAT (bump it when the setup steps change).
 * Written to a staging directory and renamed into place, so test files starting at the same time
 * either see a whole template or none.
 */
export const TEMPLATE_DIR = join(tmpdir(), 'sebridge-softether-template');
const FORMAT = 1;

export interface TemplateMeta {
  format: number;
  binary: string;
  adminPassword: string;
  createdAt: string;
}

export interface Template {
  configPath: string;
  meta: TemplateMeta;
}

function binaryIdentity(): string {
  const s = statSync(VPNSERVER);
  return `${s.size}:${Math.trunc(s.mtimeMs)}`;
}

export function readTemplate(dir = TEMPLATE_DIR): Template | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as TemplateMeta;
    const configPath = join(dir, 'vpn_server.config');
    if (meta.format !== FORMAT || meta.binary !== binaryIdentity() || typeof meta.adminPassword !== 'string') return undefined;
    if (statSync(configPath).size === 0) return undefined;
    return { configPath, meta };
  } catch {
    return undefined;
  }
}

/** Stores configPath as the template unless another process got there first; never throws. */
export function saveTemplate(configPath: string, adminPassword: string, dir = TEMPLATE_DIR): boolean {
  const staging = `${dir}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(staging, { mode: 0o700 });
    copyFileSync(configPath, join(staging, 'vpn_server.config'));
    const meta: TemplateMeta = { format: FORMAT, binary: binaryIdentity(), adminPassword, createdAt: new Date().toISOString() };
    writeFileSync(join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
    if (!readTemplate(dir)) rmSync(dir, { recursive: true, force: true }); // stale or broken
    renameSync(staging, dir);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export function dropTemplate(dir = TEMPLATE_DIR): void {
  rmSync(dir, { recursive: true, force: true });
}
