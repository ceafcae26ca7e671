import { EventEmitter } from 'node:events';
import type { AppConfig } from '../../src/control/config/types.ts';
import type { ApiContext, Caller, ConfigAccess } from '../../src/control/api/context.ts';
import { createDispatch } from '../../src/control/api/table.ts';
import { Supervisor } from '../../src/control/supervisor.ts';
import { memoryLog } from '../../src/control/control-log.ts';
import type { TestLoginResult } from '../../src/session/test-login.ts';
import { FakeSystem } from './fake-system.ts';
import { appConfig } from './config-fixtures.ts';

/** An in-memory config for method tests: deep copies, counts writes; the real store is tested on its own. */
export class MemoryConfig extends EventEmitter implements ConfigAccess {
  doc: AppConfig;
  writes = 0;
  readonly startupWarnings: string[] = [];

  constructor(doc: AppConfig = appConfig()) {
    super();
    this.doc = structuredClone(doc);
  }

  get(): Readonly<AppConfig> {
    return this.doc;
  }

  async update(mutate: (d: AppConfig) => void | Promise<void>): Promise<{ changed: boolean }> {
    const draft = structuredClone(this.doc);
    await mutate(draft);
    const changed = JSON.stringify(draft) !== JSON.stringify(this.doc);
    if (changed) {
      this.doc = draft;
      this.writes++;
    }
    return { changed };
  }

  exportConfig(): unknown {
    return structuredClone(this.doc);
  }

  async importConfig(json: unknown): Promise<unknown> {
    this.doc = structuredClone(json as AppConfig);
    this.writes++;
    return this.doc;
  }
}

export const ADMIN: Caller = { kind: 'admin', via: 'password', address: '127.0.0.1' };
export const SETUP: Caller = { kind: 'setup', via: 'none', address: '127.0.0.1' };

export function apiHarness(opts: { testLogin?: (o: unknown) => Promise<TestLoginResult> } = {}) {
  const system = new FakeSystem();
  const log = memoryLog();
  const supervisor = new Supervisor({ system, log, bridgeRetryMs: 50 });
  const config = new MemoryConfig();
  let restarts = 0;
  const ctx: ApiContext = {
    config,
    supervisor,
    hashAdminPassword: async (pw) => `test$${pw.length}`,
    testLogin: (opts.testLogin as ApiContext['testLogin']) ?? (async () => ({ ok: false, error: 1, errorText: 'no server in unit tests', server: null, granted: 0, certSha256: null, tls: null })),
    restart: () => void restarts++,
    version: '0.1.0',
    hostname: 'testbox',
    dataDir: '/nonexistent',
    startedAt: Date.parse('2026-12-01T00:00:00Z'),
    webCertSha256: () => 'AB:CD',
    now: Date.now,
  };
  const dispatch = createDispatch(ctx, log);
  const call = (method: string, params: Record<string, unknown> = {}, caller: Caller = ADMIN) => dispatch(method, params, caller);
  return { system, log, supervisor, config, ctx, call, restarts: () => restarts };
}
