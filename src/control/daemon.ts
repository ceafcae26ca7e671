import os from 'node:os';
import { mkdir } from 'node:fs/promises';
import { ConfigStore } from './config/store.ts';
import type { AppConfig } from './config/types.ts';
import { Supervisor } from './supervisor.ts';
import type { SystemLayer } from './system-layer.ts';
import { LinuxSystem } from './linux-system.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import type { InstanceLock } from './instance-lock.ts';
import { createDispatch } from './api/table.ts';
import { apiError, ERR } from './api/errors.ts';
import type { ApiContext } from './api/context.ts';
import { hashPassword, passwordRuleViolation, verifyPassword } from './auth/password-hash.ts';
import { startWebServer } from './web/server.ts';
import type { WebServer } from './web/server.ts';
import { HealthMonitor, SYSTEM_CHECK_INTERVAL_SEC } from './health/index.ts';
import type { HealthInputs } from './health/index.ts';
import { LoopDelayMonitor, TrafficHistory } from './metrics/index.ts';
import { SystemInfo } from './system/index.ts';
import { createLogger } from './log/index.ts';
import type { LogSystem } from './log/index.ts';
import { configDirWritable } from './system/index.ts';
import type { ControlLog } from './control-log.ts';
import { testLogin } from '../session/test-login.ts';
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { FirmwareManager, type FirmwareOptions } from './firmware/index.ts';
import { FIRMWARE_UPLOAD_PATH } from './web/server.ts';
import { faultDrops } from '../ports/port-drops.ts';

export interface DaemonOptions {
  /** Where the config (and the web certificate) live: the only directory written on flash. */
  dataDir: string;
  /** RAM disk for logs and crash-recovery records (e.g. /run/sebridge). */
  runtimeDir: string;
  web: { host: string; port: number };
  /** Built browser UI (dist/web); null serves the API only. */
  staticDir: string | null;
  version: string;
  /** The kernel/network side; tests pass the in-memory fake. */
  system?: SystemLayer;
  now?: () => number;
  /** Where log lines also go as text (the foreground daemon prints them). */
  echo?: (line: string) => void;
  /** Facts decided before the start (the TLS cipher this CPU gets, queue management notes): logged first, so they
   *  are on the Logs page too. */
  startupNotes?: readonly string[];
  /**
   * Firmware upgrade paths and hooks (docs/firmware.md); the defaults are the appliance's (/run/sebridge-boot.env,
   * /data/boot, /etc/sebridge/firmware-keys, busybox `reboot`). Tests point them at temp files.
   */
  firmware?: Partial<Omit<FirmwareOptions, 'version' | 'log'>>;
}

/**
 * The composition root of `sebridge run`: builds every component, wires them, starts them in order and stops
 * them in reverse. Components only hold their dependencies until `start` and release everything in `stop`
 * (zigbee2mqtt's controller). Nothing here runs on the data path: the cascades and bridges the supervisor owns
 * carry the frames, on the same event loop, and every control-plane call is asynchronous.
 */
export class Daemon {
  readonly options: DaemonOptions;
  readonly startedAt: number;
  log!: ControlLog;
  config!: ConfigStore;
  #lock: InstanceLock | null = null;
  supervisor!: Supervisor;
  web!: WebServer;
  #logger!: LogSystem;
  #system: SystemLayer;
  #health!: HealthMonitor;
  #traffic!: TrafficHistory;
  #loopDelay = new LoopDelayMonitor();
  #sysinfo!: SystemInfo;
  #now: () => number;
  #restarting: Promise<void> | null = null;
  firmware!: FirmwareManager;

  private constructor(o: DaemonOptions) {
    this.options = o;
    this.#now = o.now ?? Date.now;
    this.startedAt = this.#now();
    this.#system = o.system ?? new LinuxSystem(o.runtimeDir);
  }

  static async start(o: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(o);
    try {
      await d.#start();
    } catch (e) {
      // A half-started daemon (say the web port is taken after the NICs were bridged) gives everything back.
      await d.stop().catch(() => {});
      throw e;
    }
    return d;
  }

  async #start(): Promise<void> {
    const o = this.options;
    await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
    this.#lock = await acquireInstanceLock(o.dataDir);
    await mkdir(o.runtimeDir, { recursive: true, mode: 0o700 });
    // Logs live on the RAM disk (flash wear), a few rotated files of 256 KiB; the foreground daemon also prints them.
    this.#logger = createLogger({
      level: 'info',
      file: { path: `${o.runtimeDir}/sebridge.log`, maxBytes: 256 * 1024, files: 4 },
      extraStream: o.echo ? { write: (line: string) => o.echo!(humanLine(line)) } : null,
    });
    this.log = this.#logger.logger;
    for (const note of o.startupNotes ?? []) this.log.info({ object: 'system' }, note);
    this.config = await ConfigStore.open(o.dataDir);
    for (const w of this.config.startupWarnings) this.log.warn({ object: 'config' }, w);
    this.#applyLogSettings(this.config.get());

    for (const fixed of await this.#system.restoreLeftovers().catch((e: Error) => [`could not restore: ${e.message}`])) {
      this.log.warn({ object: 'system' }, `restored interface settings a killed sebridge left changed: ${fixed}`);
    }

    this.supervisor = this.#newSupervisor();
    await this.supervisor.apply(this.config.get());
    this.config.on('change', (_prev, next) => this.#applyLogSettings(next));

    this.#loopDelay.start();
    this.#traffic = new TrafficHistory({
      source: () => this.supervisor.cascades().filter((c) => c.status).map((c) => ({ name: c.config.name, bytesIn: c.status!.traffic.bytesIn, bytesOut: c.status!.traffic.bytesOut })),
      now: this.#now,
    });
    this.#traffic.start();
    this.#sysinfo = new SystemInfo({ dataDir: o.dataDir });
    this.#health = new HealthMonitor({
      inputs: this.#healthInputs(),
      now: this.#now,
      webhook: { url: this.config.get().health.webhookUrl },
      onError: (m) => this.log.warn({ object: 'health' }, m),
    });
    this.#health.tracker.on('change', (c: { code: string; target: string; healthy: boolean; text: string; severity: string }) => {
      const level = c.healthy ? 'info' : c.severity === 'high' ? 'error' : 'warn';
      this.log[level]({ object: 'health', code: c.code, target: c.target }, `${c.healthy ? 'healthy again' : 'warning'}: ${c.text}`);
    });
    this.config.on('change', (prev, next) => {
      if (prev.health.webhookUrl !== next.health.webhookUrl) this.#health.setWebhookUrl(next.health.webhookUrl);
    });
    this.#health.start();

    this.firmware = new FirmwareManager({
      version: o.version,
      reboot: rebootMachine,
      ...o.firmware,
      log: (level, msg) => this.log[level]({ object: 'firmware' }, msg),
    });

    const ctx = this.#apiContext();
    const dispatch = createDispatch(ctx, this.log);
    this.web = await startWebServer({
      host: o.web.host,
      port: o.web.port,
      certDir: o.dataDir,
      dispatch,
      isSetUp: () => this.config.get().admin.passwordHash !== null,
      verifyAdminPassword: async (pw) => {
        const h = this.config.get().admin.passwordHash;
        return h !== null && verifyPassword(pw, h);
      },
      staticDir: o.staticDir,
      log: (level, msg, fields) => this.log[level]({ object: 'web', ...(fields ?? {}) }, msg),
      firmware: { upload: (body, opts) => this.firmware.upload(body, opts), maxBytes: () => this.firmware.maxUploadBytes() },
    });
    this.log.info({ object: 'web' }, `web UI and admin API on https://${o.web.host.includes(':') ? `[${o.web.host}]` : o.web.host}:${this.web.port}/ (certificate SHA-256 ${this.web.certSha256})`);
    if (this.config.get().admin.passwordHash === null) {
      this.log.warn({ object: 'setup' }, 'no admin password yet: open the web UI to set one (nothing else is reachable until then)');
    }
    await this.#confirmTrialBoot();
    await this.firmware.recordRunningSlot().catch((e: Error) => this.log.warn({ object: 'firmware' }, `could not record the running slot's version: ${e.message}`));
  }

  /**
   * A trial boot of new firmware is confirmed once the daemon is up and its web API answers (docs/firmware.md):
   * only then is `active` switched to this slot. If the API never answers, nothing is confirmed and the next boot
   * falls back to the old slot.
   */
  async #confirmTrialBoot(): Promise<void> {
    if (!(await this.firmware.trialPending())) return;
    for (let attempt = 1; attempt <= 3; attempt++) {
      if (await webAnswers(this.options.web.host, this.web.port)) {
        const outcome = await this.firmware.confirmTrialBoot().catch((e: Error) => {
          this.log.error({ object: 'firmware' }, `could not confirm the trial boot: ${e.message}`);
          return 'failed';
        });
        if (outcome === 'confirmed') this.log.info({ object: 'firmware' }, `firmware ${this.options.version} confirmed after its trial boot`);
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.log.error({ object: 'firmware' }, 'the web API does not answer its own request: a trial boot stays unconfirmed (the next boot falls back)');
  }

  #newSupervisor(): Supervisor {
    const sup = new Supervisor({ system: this.#system, log: this.log, now: this.#now });
    // Trust on first use: the fingerprint a cascade recorded goes into the config, so it survives a restart.
    sup.on('certificate-trusted', (name: string, sha256: string) => {
      this.config
        .update((d) => {
          const c = d.cascades.find((x) => x.name === name);
          if (c && c.checkServerCert && c.serverCertSha256 === null) c.serverCertSha256 = sha256;
        })
        .then(() => sup.apply(this.config.get()))
        .catch((e: Error) => this.log.error({ object: `cascade/${name}` }, `could not store the trusted certificate: ${e.message}`));
    });
    return sup;
  }

  #applyLogSettings(c: Readonly<AppConfig>): void {
    this.#logger.setLevel(c.log.level);
    this.#logger.setSyslog(c.log.syslog).catch((e: Error) => this.log.warn({ object: 'log' }, `remote syslog not changed: ${e.message}`));
  }

  #healthInputs(): HealthInputs {
    return {
      cascades: () => this.supervisor.cascades().filter((c) => c.status).map((c) => ({ name: c.config.name, enabled: c.config.online, status: c.status! })),
      bridges: () => this.supervisor.bridges().map((b) => ({
        device: b.config.device,
        present: b.status?.present ?? false,
        up: b.status?.up ?? false,
        carrier: b.status?.up ?? false,
        framesIn: b.status?.framesIn ?? 0,
        framesOut: b.status?.framesOut ?? 0,
        drops: faultDrops(b.status?.drops ?? {}),
      })),
      system: () => this.#sysinfo.healthSnapshot(),
      thresholds: () => this.config.get().health,
      configWritable: () => configDirWritable(this.options.dataDir),
    };
  }

  #apiContext(): ApiContext {
    const daemon = this;
    return {
      config: this.config,
      // A getter: RebootServer replaces the supervisor, and methods must always see the current one.
      get supervisor() {
        return daemon.supervisor;
      },
      hashAdminPassword: async (pw) => {
        const bad = passwordRuleViolation(pw);
        if (bad) throw apiError(ERR.INVALID_PARAMETER, `PlainTextPassword_str: ${bad}`, 'PlainTextPassword_str');
        return hashPassword(pw);
      },
      testLogin: (options) => testLogin(options),
      health: {
        warnings: () => this.#health.tracker.visible().map((w) => ({ ...w, brokenSince: new Date(w.brokenSince) })),
        history: () => this.#health.tracker.history().map((h) => {
          const w = this.#health.tracker.warnable(h.code);
          return { ...h, time: new Date(h.time), severity: w.severity };
        }),
        resources: () => ({
          intervalSec: SYSTEM_CHECK_INTERVAL_SEC,
          points: this.#health.resources.points().map((p) => ({ ...p, time: new Date(p.time) })),
        }),
      },
      logs: {
        query: (q) => this.#logger.ring.query({ minLevel: q.minLevel as 'debug', text: q.text, max: q.max })
          .map((e) => ({ time: new Date(e.time), level: e.levelName, message: e.msg, object: e.object ?? '' })),
      },
      metrics: {
        history: (name) => {
          const s = this.#traffic.series(name);
          if (!s) return { intervalSec: this.#traffic.intervalMs / 1000, points: [] };
          const [t, i, out] = s.columns;
          return { intervalSec: s.intervalMs / 1000, points: t.map((time, k) => ({ time: new Date(time), bytesInPerSec: i[k], bytesOutPerSec: out[k] })) };
        },
        rate: (name) => {
          const r = this.#traffic.rateNow(name);
          return { bytesInPerSec: r?.inBps ?? 0, bytesOutPerSec: r?.outBps ?? 0 };
        },
        eventLoopDelayP99Us: () => this.#loopDelay.read()?.p99Us ?? 0,
      },
      system: {
        status: async () => {
          const f = await this.#sysinfo.facts();
          return {
            cpuPercent: f.cpuPercent,
            memTotal: f.memTotalBytes,
            memUsed: f.memTotalBytes - f.memAvailableBytes,
            temperatureC: f.temperatureC,
            systemUptimeSec: f.uptimeSec,
            diskTotal: f.disk.totalBytes,
            diskUsed: f.disk.totalBytes - f.disk.availableBytes,
          };
        },
        nics: async () => (await this.#sysinfo.listNics()).map((n) => ({ ...n })),
      },
      restart: () => void this.restart(),
      version: this.options.version,
      hostname: os.hostname(),
      dataDir: this.options.dataDir,
      startedAt: this.startedAt,
      webCertSha256: () => this.web?.certSha256 ?? '',
      firmware: {
        info: () => this.firmware.info(),
        apply: (opts) => this.firmware.apply(opts),
        maxUploadBytes: () => this.firmware.maxUploadBytes(),
        uploadPath: FIRMWARE_UPLOAD_PATH,
      },
      now: this.#now,
    };
  }

  /**
   * RebootServer: stop every cascade and bridge and start them again from the stored config, in-process. The
   * web server (and so the admin's connection) stays up.
   */
  restart(): Promise<void> {
    this.#restarting ??= (async () => {
      this.log.warn({ object: 'daemon' }, 'restart requested: stopping all cascades and local bridges');
      await this.supervisor.stop();
      const old = this.supervisor;
      this.supervisor = this.#newSupervisor();
      old.removeAllListeners();
      await this.supervisor.apply(this.config.get());
      this.log.info({ object: 'daemon' }, 'restart done');
    })().finally(() => {
      this.#restarting = null;
    });
    return this.#restarting;
  }

  /** Clean shutdown: graceful TLS close of every cascade, interfaces given back, config closed. */
  async stop(): Promise<void> {
    this.firmware?.close();
    await this.web?.close();
    await this.#health?.stop();
    this.#traffic?.stop();
    this.#loopDelay.stop();
    await (this.supervisor as Supervisor | undefined)?.stop();
    await (this.config as ConfigStore | undefined)?.close?.();
    this.log?.info({ object: 'daemon' }, 'stopped');
    await this.#logger?.close();
    await this.#lock?.release();
    this.#lock = null;
  }
}

/** The appliance's reboot: busybox init then sends SIGTERM, and `sebridge run` stops cleanly before the restart. */
function rebootMachine(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('reboot', [], { timeout: 10_000 }, (err) => (err ? reject(err) : resolve()));
  });
}

/** Does our own HTTPS server answer a request (any HTTP status)? Loopback for a wildcard listen address. */
function webAnswers(host: string, port: number): Promise<boolean> {
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((resolve) => {
    const req = httpsRequest({ host: target, port, path: '/auth/state', method: 'GET', rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) > 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** pino's JSON line → "2026-12-03T08:00:00.000Z INFO  cascade/hq: message" for the foreground console. */
function humanLine(json: string): string {
  try {
    const o = JSON.parse(json) as { time?: number; level?: number; msg?: string; object?: string };
    const level = ({ 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' } as Record<number, string>)[o.level ?? 30] ?? 'INFO';
    return `${new Date(o.time ?? Date.now()).toISOString()} ${level.padEnd(5)} ${o.object ? `${o.object}: ` : ''}${o.msg ?? ''}`;
  } catch {
    return json.trimEnd();
  }
}
