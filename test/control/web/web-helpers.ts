import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startWebServer, type WebServer, type WebServerOptions } from '../../../src/control/web/server.ts';
import type { Caller, Dispatch } from '../../../src/control/web/types.ts';
import { ApiError } from '../../../src/control/web/api-error.ts';

export const ADMIN_PASSWORD = 'correct horse battery';

export type Call = { method: string; params: Record<string, unknown>; caller: Caller };

export type Harness = {
  server: WebServer;
  port: number;
  calls: Call[];
  clock: { t: number };
  state: { setUp: boolean; verifyCount: number };
  logs: { level: string; msg: string; fields?: object }[];
  certDir: string;
};

/**
 * A web server on 127.0.0.1 (ephemeral port) with a fake method table that records its calls:
 * Test echoes its params, Fail throws an ApiError naming a field, Crash throws a plain Error, SetServerPassword
 * sets `state.setUp`, GetSetupState reports it. The password check is a fake with a counter (no scrypt).
 */
export async function startHarness(
  t: ExecutionContext,
  overrides: Partial<WebServerOptions> = {},
  setUp = true,
): Promise<Harness> {
  const certDir = await mkdtemp(join(tmpdir(), 'sebridge-web-'));
  const calls: Call[] = [];
  const clock = { t: Date.now() };
  const state = { setUp, verifyCount: 0 };
  const logs: Harness['logs'] = [];
  const dispatch: Dispatch = async (method, params, caller) => {
    calls.push({ method, params, caller });
    switch (method) {
      case 'Test':
        return { ...params, Echo_bool: true };
      case 'GetSetupState':
        return { AdminPasswordSet_bool: state.setUp };
      case 'SetServerPassword':
        state.setUp = true;
        return {};
      case 'Fail':
        throw new ApiError(38, "field Port_u32 must be 1..65535", 'Port_u32');
      case 'Crash':
        throw new Error('secret internal detail');
      case 'Slow':
        await new Promise((r) => setTimeout(r, 50));
        return { Done_bool: true };
      default:
        throw new ApiError(33, `method ${method} is not supported`);
    }
  };
  const server = await startWebServer({
    host: '127.0.0.1',
    port: 0,
    certDir,
    dispatch,
    isSetUp: () => state.setUp,
    verifyAdminPassword: async (pw) => {
      state.verifyCount++;
      await new Promise((r) => setTimeout(r, 2));
      return pw === ADMIN_PASSWORD;
    },
    staticDir: null,
    now: () => clock.t,
    log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }),
    ...overrides,
  });
  t.teardown(async () => {
    await server.close();
    await rm(certDir, { recursive: true, force: true });
  });
  return { server, port: server.port, calls, clock, state, logs, certDir };
}

export type Response = { status: number; headers: Record<string, string | string[] | undefined>; body: string; json(): any };

export function request(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers ?? {},
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function rpc(
  port: number,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD },
  id: string | number = 'req-1',
): Promise<Response> {
  return request(port, {
    method: 'POST',
    path: '/api/',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
}

/** Send raw bytes over plain TCP and collect everything until the server closes. */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${Buffer.concat(chunks).toString('latin1')}`));
    }, timeoutMs);
    s.on('connect', () => s.write(data));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

export async function login(port: number, password = ADMIN_PASSWORD): Promise<{ cookie: string; csrf: string; res: Response }> {
  const res = await request(port, {
    method: 'POST',
    path: '/auth/login',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  const setCookie = [res.headers['set-cookie'] ?? []].flat()[0] ?? '';
  return { cookie: setCookie.split(';')[0], csrf: res.status === 200 ? res.json().csrfToken : '', res };
}
