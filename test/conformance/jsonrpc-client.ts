import { request } from 'node:https';

/**
 * A minimal JSON-RPC 2.0 client for SoftEther's admin API (`POST https://host:port/api/`), with nothing
 * SoftEther-specific baked in beyond the auth headers, so the same client talks to the stock vpnbridge and to
 * sebridge. It reports what came over the wire (HTTP status, the error object, a hang-up) instead of throwing,
 * because the conformance calls compare exactly those.
 */

/** How a request authenticates. `password` is SoftEther's own header scheme. */
export type RpcAuth =
  | { kind: 'password'; password: string; /** sent as X-VPNADMIN-HUBNAME when given, even if empty */ hub?: string }
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'none' };

export interface RpcError {
  code: number;
  message: string;
}

export type RpcReply =
  | { result: Record<string, unknown>; httpStatus: number }
  | { error: RpcError; httpStatus: number }
  /** The server answered with something that is not a JSON-RPC reply (e.g. an HTML 401 page), or hung up. */
  | { transport: string; httpStatus: number; body: string };

export interface RpcCallOptions {
  /** overrides the client's default auth for this call */
  auth?: RpcAuth;
  /** send this instead of the JSON-RPC body built from method and params (for malformed-request checks) */
  rawBody?: string;
  timeoutMs?: number;
}

export interface RpcClient {
  call(method: string, params?: Record<string, unknown>, opts?: RpcCallOptions): Promise<RpcReply>;
}

export interface RpcEndpoint {
  host: string;
  port: number;
  auth: RpcAuth;
  /** Default 10 s. */
  timeoutMs?: number;
}

/** Replies bigger than this are cut off and reported as a transport problem (bounded memory). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

function authHeaders(auth: RpcAuth): Record<string, string> {
  switch (auth.kind) {
    case 'password': {
      const h: Record<string, string> = { 'X-VPNADMIN-PASSWORD': auth.password };
      if (auth.hub !== undefined) h['X-VPNADMIN-HUBNAME'] = auth.hub;
      return h;
    }
    case 'basic':
      return { Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
    case 'none':
      return {};
  }
}

let nextId = 1;

/** Classifies a finished HTTP exchange as a JSON-RPC result, a JSON-RPC error, or neither. */
export function classifyReply(httpStatus: number, body: string): RpcReply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { transport: `HTTP ${httpStatus}, body is not JSON`, httpStatus, body: body.slice(0, 2000) };
  }
  if (parsed && typeof parsed === 'object') {
    const o = parsed as Record<string, unknown>;
    const err = o.error as Record<string, unknown> | undefined;
    if (err && typeof err === 'object' && typeof err.code === 'number' && typeof err.message === 'string') {
      return { error: { code: err.code, message: err.message }, httpStatus };
    }
    if (o.result && typeof o.result === 'object' && !Array.isArray(o.result)) {
      return { result: o.result as Record<string, unknown>, httpStatus };
    }
  }
  return { transport: `HTTP ${httpStatus}, JSON without result or error`, httpStatus, body: body.slice(0, 2000) };
}

export function jsonRpcClient(endpoint: RpcEndpoint): RpcClient {
  return {
    call(method, params = {}, opts = {}) {
      const auth = opts.auth ?? endpoint.auth;
      const body = opts.rawBody ?? JSON.stringify({ jsonrpc: '2.0', id: String(nextId++), method, params });
      const timeoutMs = opts.timeoutMs ?? endpoint.timeoutMs ?? 10_000;
      return new Promise<RpcReply>((resolve) => {
        let settled = false;
        const done = (r: RpcReply): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(r);
        };
        const req = request(
          {
            host: endpoint.host,
            port: endpoint.port,
            method: 'POST',
            path: '/api/',
            // The test servers use self-signed certificates; we only ever talk to our own namespaces.
            rejectUnauthorized: false,
            agent: false,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...authHeaders(auth) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (b: Buffer) => {
              size += b.length;
              if (size > MAX_REPLY_BYTES) {
                req.destroy();
                done({ transport: `reply larger than ${MAX_REPLY_BYTES} bytes`, httpStatus: res.statusCode ?? 0, body: '' });
                return;
              }
              chunks.push(b);
            });
            res.on('end', () => done(classifyReply(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
            res.on('error', (e) => done({ transport: `reply aborted: ${e.message}`, httpStatus: res.statusCode ?? 0, body: '' }));
          },
        );
        const timer = setTimeout(() => {
          req.destroy();
          done({ transport: `no reply within ${timeoutMs} ms`, httpStatus: 0, body: '' });
        }, timeoutMs);
        req.on('error', (e) => done({ transport: `connection failed: ${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim(), httpStatus: 0, body: '' }));
        req.end(body);
      });
    },
  };
}
