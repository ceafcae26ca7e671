import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export interface RpcAnswer {
  status: number;
  result?: Record<string, any>;
  error?: { code: number; message: string };
  raw: string;
}

/**
 * A JSON-RPC client for tests of sebridge's admin API that trusts exactly one certificate: the fingerprint the
 * daemon printed at start (what the README tells a user to compare), never "any certificate".
 */
export class AdminClient {
  readonly host: string;
  readonly port: number;
  readonly certSha256: string;
  readonly headers: Record<string, string>;

  constructor(host: string, port: number, certSha256: string, headers: Record<string, string> = {}) {
    this.host = host;
    this.port = port;
    this.certSha256 = certSha256;
    this.headers = headers;
  }

  withPassword(password: string): AdminClient {
    return new AdminClient(this.host, this.port, this.certSha256, { 'X-VPNADMIN-PASSWORD': password });
  }

  request(path: string, body: string | null, headers: Record<string, string> = {}, method = 'POST'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.host,
          port: this.port,
          path,
          method,
          headers: { ...(body !== null ? { 'Content-Type': 'application/json' } : {}), ...this.headers, ...headers },
          rejectUnauthorized: false, // self-signed: checked by fingerprint below instead
          checkServerIdentity: (_host: string, cert: PeerCertificate) => {
            const got = new X509Certificate(cert.raw).fingerprint256;
            return got === this.certSha256 ? undefined : new Error(`certificate ${got} is not the daemon's ${this.certSha256}`);
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  async call(method: string, params: Record<string, unknown> = {}): Promise<RpcAnswer> {
    const r = await this.request('/api/', JSON.stringify({ jsonrpc: '2.0', id: '1', method, params }));
    let parsed: any = {};
    try {
      parsed = JSON.parse(r.body);
    } catch {
      // an HTML 401 page, for example
    }
    return { status: r.status, result: parsed.result, error: parsed.error, raw: r.body };
  }

  /** The result, or throw with the error the API gave. */
  async ok(method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const a = await this.call(method, params);
    if (!a.result) throw new Error(`${method} failed: HTTP ${a.status} ${a.raw.slice(0, 300)}`);
    return a.result;
  }
}
