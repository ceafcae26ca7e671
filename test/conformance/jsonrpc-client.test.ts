/** The JSON-RPC client against a local HTTPS server on 127.0.0.1 (no SoftEther needed). */
import test from 'ava';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { jsonRpcClient } from './jsonrpc-client.ts';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let port: number;
const seen: Seen[] = [];

test.before(async () => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
  server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const auth = req.headers['x-vpnadmin-password'];
      if (req.headers['x-vpnadmin-hubname'] === 'hangup') return req.socket.destroy();
      if (req.headers['x-vpnadmin-hubname'] === 'slow') return; // never answers
      if (req.headers['x-vpnadmin-hubname'] === 'huge') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
        return;
      }
      if (auth !== 'pw' && req.headers.authorization !== `Basic ${Buffer.from('administrator:pw').toString('base64')}`) {
        res.writeHead(401, { 'Content-Type': 'text/html' });
        return res.end('<html>401</html>');
      }
      let parsed: { method?: string; params?: Record<string, unknown> };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ jsonrpc: '2.0', id: '0', error: { code: 38, message: 'Error code 38: Parameter is invalid: JSON-RPC Parse Error' } }));
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: '1', result: { Echo_str: parsed.method, ...parsed.params } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

test.after.always(() => {
  server?.closeAllConnections();
  server?.close();
});

const client = () => jsonRpcClient({ host: '127.0.0.1', port, auth: { kind: 'password', password: 'pw' }, timeoutMs: 3000 });

test.serial('POSTs a JSON-RPC 2.0 request to /api/ with the password header and no hub header', async (t) => {
  seen.length = 0;
  const r = await client().call('GetLink', { HubName_Ex_str: 'BRIDGE' });
  t.deepEqual(r, { result: { Echo_str: 'GetLink', HubName_Ex_str: 'BRIDGE' }, httpStatus: 200 });
  const s = seen[0]!;
  t.is(s.method, 'POST');
  t.is(s.url, '/api/');
  t.is(s.headers['x-vpnadmin-password'], 'pw');
  t.false('x-vpnadmin-hubname' in s.headers);
  const body = JSON.parse(s.body) as Record<string, unknown>;
  t.is(body.jsonrpc, '2.0');
  t.is(body.method, 'GetLink');
  t.is(typeof body.id, 'string');
  t.deepEqual(body.params, { HubName_Ex_str: 'BRIDGE' });
});

test.serial('per-call auth: wrong password gives the HTTP status, Basic works, an empty hub header is sent as such', async (t) => {
  seen.length = 0;
  t.like(await client().call('Test', {}, { auth: { kind: 'password', password: 'nope' } }), { httpStatus: 401, transport: 'HTTP 401, body is not JSON' });
  t.like(await client().call('Test', {}, { auth: { kind: 'basic', user: 'administrator', password: 'pw' } }), { httpStatus: 200, result: { Echo_str: 'Test' } });
  t.like(await client().call('Test', {}, { auth: { kind: 'none' } }), { httpStatus: 401 });
  await client().call('Test', {}, { auth: { kind: 'password', password: 'pw', hub: '' } });
  t.is(seen[3]!.headers['x-vpnadmin-hubname'], '');
  t.false('authorization' in seen[2]!.headers || 'x-vpnadmin-password' in seen[2]!.headers);
});

test.serial('a raw body is sent as is; a JSON-RPC error comes back as error', async (t) => {
  seen.length = 0;
  const r = await client().call('Test', {}, { rawBody: '{not json' });
  t.is(seen[0]!.body, '{not json');
  t.deepEqual(r, { error: { code: 38, message: 'Error code 38: Parameter is invalid: JSON-RPC Parse Error' }, httpStatus: 200 });
});

test.serial('hang-up, timeout and an oversized reply are reported, not thrown', async (t) => {
  const hang = await client().call('Test', {}, { auth: { kind: 'password', password: 'pw', hub: 'hangup' } });
  t.like(hang, { httpStatus: 0 });
  t.regex('transport' in hang ? hang.transport : '', /connection failed/);
  const slow = await client().call('Test', {}, { auth: { kind: 'password', password: 'pw', hub: 'slow' }, timeoutMs: 300 });
  t.deepEqual(slow, { transport: 'no reply within 300 ms', httpStatus: 0, body: '' });
  const huge = await client().call('Test', {}, { auth: { kind: 'password', password: 'pw', hub: 'huge' } });
  t.regex('transport' in huge ? huge.transport : '', /reply larger than/);
});

test.serial('a closed port is a transport problem', async (t) => {
  const r = await jsonRpcClient({ host: '127.0.0.1', port: 1, auth: { kind: 'none' } }).call('Test');
  t.like(r, { httpStatus: 0 });
  t.regex('transport' in r ? r.transport : '', /ECONNREFUSED/);
});
