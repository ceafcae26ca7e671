/**
 * The proxy step against scripted proxies on 127.0.0.1: exact request bytes, replies split at every byte, and the
 * bad cases: refusals become typed errors with the proxy's words, garbage and endless headers are cut off at a hard
 * limit (never a hang, never unbounded memory), a silent proxy hits the deadline, an unreachable one is named.
 */
import test from 'ava';
import net from 'node:net';
import fc from 'fast-check';
import { dial, DialTimeout } from '../../src/session/proxy/dial.ts';
import { ProxyError } from '../../src/session/proxy/proxy-error.ts';
import type { ProxyErrorKind } from '../../src/session/proxy/proxy-error.ts';
import type { ProxyOptions } from '../../src/session/proxy/proxy-options.ts';
import { parseProxyUrl, describeProxy, customHeaderLines, proxyTypeFromSoftEther, proxyTypeToSoftEther, proxyOptionsFromSoftEther, proxyOptionsToSoftEther } from '../../src/session/proxy/proxy-options.ts';
import { ConnectReplyParser, MAX_CONNECT_REPLY_HEADER } from '../../src/session/proxy/http-connect.ts';
import { parseSocks4Reply, parseSocks5ConnectReply, parseSocks5Method, parseSocks5AuthReply, socks5Connect } from '../../src/session/proxy/socks.ts';
import { ConfigError } from '../../src/session/config-error.ts';

/** A one-connection scripted proxy: `script` gets each received chunk-set and decides what to send back. */
async function scriptedProxy(
  t: { teardown(fn: () => void): void },
  onConnection: (sock: net.Socket, received: () => Buffer) => void,
): Promise<{ port: number; received: Buffer[]; bytesSent: () => number }> {
  const received: Buffer[] = [];
  let sent = 0;
  const sockets: net.Socket[] = [];
  const srv = net.createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    sock.on('data', (c: Buffer) => received.push(c));
    const w = sock.write.bind(sock);
    (sock as unknown as { write: (b: Buffer | string) => boolean }).write = (b) => {
      sent += typeof b === 'string' ? Buffer.byteLength(b) : b.length;
      return w(b);
    };
    onConnection(sock, () => Buffer.concat(received));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  return { port: (srv.address() as net.AddressInfo).port, received, bytesSent: () => sent };
}

function proxy(type: ProxyOptions['type'], port: number, more: Partial<ProxyOptions> = {}): ProxyOptions {
  return { type, host: '127.0.0.1', port, username: '', password: null, customHttpHeader: '', ...more };
}

function dialWithin(p: ProxyOptions, ms: number, host = 'vpn.example.test', port = 443) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DialTimeout('timed out')), ms);
  return dial({ host, port, proxy: p, signal: ac.signal }).finally(() => clearTimeout(timer));
}

/** Wait until the proxy has `n` bytes, then run `then`. */
function after(sock: net.Socket, received: () => Buffer, n: number, then: () => void) {
  const check = () => {
    if (received().length >= n) {
      sock.removeListener('data', check);
      then();
    }
  };
  sock.on('data', check);
}

test('HTTP CONNECT: request line, Host, Basic credentials, custom headers; 200 split into single bytes', async (t) => {
  const reply = 'HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n';
  const p = await scriptedProxy(t, (sock, received) => {
    after(sock, received, 10, () => {
      const wait = () => {
        if (!received().includes('\r\n\r\n')) return setTimeout(wait, 5);
        let i = 0;
        const drip = () => {
          if (i < reply.length) sock.write(reply[i++]!), setTimeout(drip, 1);
        };
        drip();
      };
      wait();
    });
  });
  const sock = await dialWithin(proxy('http', p.port, { username: 'me', password: 'pä:ss', customHttpHeader: 'X-One: 1\nX-Two: two words' }), 5000, '2001:db8::1', 5555);
  sock.destroy();
  const req = Buffer.concat(p.received).toString('utf8');
  t.is(req, [
    'CONNECT [2001:db8::1]:5555 HTTP/1.1',
    'Host: [2001:db8::1]:5555',
    `Proxy-Authorization: Basic ${Buffer.from('me:pä:ss').toString('base64')}`,
    'X-One: 1',
    'X-Two: two words',
    '', '',
  ].join('\r\n'));
});

const httpRefusals: Array<[string, ProxyErrorKind, RegExp]> = [
  ['HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n', 'auth', /^proxy authentication failed \(HTTP\/1\.1 407 Proxy Authentication Required\)$/],
  ['HTTP/1.0 401 Unauthorized\r\n\r\n', 'auth', /proxy authentication failed \(HTTP\/1\.0 401 Unauthorized\)/],
  ['HTTP/1.1 403 Forbidden\r\n\r\n', 'refused', /^proxy refused the connection: HTTP\/1\.1 403 Forbidden$/],
  ['HTTP/1.1 502 Bad Gateway\r\n', 'refused', /502 Bad Gateway/], // decided on the status line alone
  ['SSH-2.0-OpenSSH_9.2\r\n', 'protocol', /not an HTTP proxy reply: "SSH-2\.0/],
  ['\x05\x00', 'protocol', /not an HTTP proxy reply/],
  ['HTTP/1.1 200\x00\x01 garbage\r\n\r\n', 'protocol', /not an HTTP proxy reply/],
  ['HTTP/1.1 200 OK\r\n\r\nEXTRA', 'protocol', /unexpected byte/],
];
for (const [answer, kind, re] of httpRefusals) {
  test(`HTTP CONNECT answered ${JSON.stringify(answer.slice(0, 30))}: ProxyError ${kind}`, async (t) => {
    const p = await scriptedProxy(t, (sock) => sock.once('data', () => sock.write(answer)));
    const e = await t.throwsAsync(dialWithin(proxy('http', p.port), 5000), { instanceOf: ProxyError });
    t.is(e!.kind, kind);
    t.regex(e!.message, re);
  });
}

test('HTTP CONNECT: an endless header is cut off at the limit, quickly, without waiting for the deadline', async (t) => {
  const p = await scriptedProxy(t, (sock) => {
    sock.once('data', () => {
      sock.write('HTTP/1.1 200 OK\r\n');
      const line = `X-Filler: ${'y'.repeat(100)}\r\n`;
      const pump = () => {
        if (sock.destroyed) return;
        while (sock.write(line)) if (p.bytesSent() > 10 * MAX_CONNECT_REPLY_HEADER) return;
        sock.once('drain', pump);
      };
      pump();
    });
  });
  const started = Date.now();
  const e = await t.throwsAsync(dialWithin(proxy('http', p.port), 10_000), { instanceOf: ProxyError });
  t.is(e!.kind, 'protocol');
  t.regex(e!.message, /longer than 8192 bytes/);
  t.true(Date.now() - started < 3000);
});

test('HTTP CONNECT: a status line that never ends is cut off too', async (t) => {
  const p = await scriptedProxy(t, (sock) => sock.once('data', () => sock.write(`HTTP/1.1 200 ${'x'.repeat(4000)}`)));
  const e = await t.throwsAsync(dialWithin(proxy('http', p.port), 5000), { instanceOf: ProxyError });
  t.is(e!.kind, 'protocol');
});

for (const type of ['http', 'socks4', 'socks5'] as const) {
  test(`${type}: a proxy that accepts TCP and never answers hits the deadline with a timeout ProxyError naming the step`, async (t) => {
    const p = await scriptedProxy(t, () => {});
    const started = Date.now();
    const e = await t.throwsAsync(dialWithin(proxy(type, p.port), 700, '10.9.8.7'), { instanceOf: ProxyError });
    t.is(e!.kind, 'timeout');
    t.regex(e!.message, type === 'http' ? /HTTP CONNECT/ : type === 'socks4' ? /SOCKS4 CONNECT/ : /SOCKS5 greeting/);
    const took = Date.now() - started;
    t.true(took >= 650 && took < 2000, `took ${took} ms`);
  });

  test(`${type}: a proxy that closes at once gives a protocol ProxyError`, async (t) => {
    const p = await scriptedProxy(t, (sock) => sock.end());
    const e = await t.throwsAsync(dialWithin(proxy(type, p.port), 5000, '10.9.8.7'), { instanceOf: ProxyError });
    t.is(e!.kind, 'protocol');
    t.regex(e!.message, /closed the connection/);
  });
}

test('an unreachable proxy is a connect ProxyError naming the proxy (without its password)', async (t) => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const e = await t.throwsAsync(dialWithin(proxy('socks5', port, { username: 'u', password: 'secret-pw' }), 5000), { instanceOf: ProxyError });
  t.is(e!.kind, 'connect');
  t.regex(e!.message, new RegExp(`socks5://u@127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
  t.false(e!.message.includes('secret-pw'));
});

test('SOCKS5 with user/password: exact bytes of greeting, RFC 1929 and CONNECT with the name for the proxy to resolve', async (t) => {
  const p = await scriptedProxy(t, (sock, received) => {
    after(sock, received, 4, () => {
      sock.write(Buffer.from([5, 2]));
      after(sock, received, 4 + 3 + 2 + 2, () => {
        sock.write(Buffer.from([1, 0]));
        after(sock, received, 11 + 5 + 16 + 2, () => {
          // Reply with a domain-name bound address, in two pieces.
          const r = Buffer.from([5, 0, 0, 3, 4, 0x61, 0x62, 0x63, 0x64, 0x01, 0xbb]);
          sock.write(r.subarray(0, 6));
          setTimeout(() => sock.write(r.subarray(6)), 20);
        });
      });
    });
  });
  const sock = await dialWithin(proxy('socks5', p.port, { username: 'me', password: 'pw' }), 5000, 'vpn.example.test', 443);
  sock.destroy();
  t.deepEqual(Buffer.concat(p.received), Buffer.concat([
    Buffer.from([5, 2, 0, 2]),
    Buffer.from([1, 2]), Buffer.from('me'), Buffer.from([2]), Buffer.from('pw'),
    Buffer.from([5, 1, 0, 3, 16]), Buffer.from('vpn.example.test'), Buffer.from([0x01, 0xbb]),
  ]));
});

const socks5Refusals: Array<[string, Buffer[], boolean, ProxyErrorKind, RegExp]> = [
  ['no acceptable method, we had credentials', [Buffer.from([5, 0xff])], true, 'auth', /accepts none of our methods/],
  ['needs user/password, we have none', [Buffer.from([5, 0xff])], false, 'auth', /requires a user name and password/],
  ['user/password refused', [Buffer.from([5, 2]), Buffer.from([1, 1])], true, 'auth', /^proxy authentication failed \(SOCKS5 proxy refused the user name or password\)$/],
  ['connection refused by the target', [Buffer.from([5, 0]), Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])], false, 'refused', /SOCKS5 reply 5 \(connection refused\)/],
  ['ruleset', [Buffer.from([5, 0]), Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0])], false, 'refused', /not allowed by ruleset/],
  ['not SOCKS5 at all', [Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')], false, 'protocol', /not a SOCKS5 proxy/],
  ['bad address type', [Buffer.from([5, 0]), Buffer.from([5, 0, 0, 9, 1, 2, 3, 4, 5, 6])], false, 'protocol', /unknown address type/],
];
for (const [what, answers, creds, kind, re] of socks5Refusals) {
  test(`SOCKS5: ${what} → ProxyError ${kind}`, async (t) => {
    const p = await scriptedProxy(t, (sock) => {
      let i = 0;
      sock.on('data', () => {
        if (i < answers.length) sock.write(answers[i++]!);
      });
    });
    const e = await t.throwsAsync(dialWithin(proxy('socks5', p.port, creds ? { username: 'u', password: 'p' } : {}), 5000), { instanceOf: ProxyError });
    t.is(e!.kind, kind);
    t.regex(e!.message, re);
  });
}

test('SOCKS4: exact request (IPv4 + user id), 0x5A accepted; 0x5B is a refusal', async (t) => {
  const good = await scriptedProxy(t, (sock) => sock.once('data', () => sock.write(Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]))));
  const sock = await dialWithin(proxy('socks4', good.port, { username: 'bridge' }), 5000, '198.18.0.2', 5555);
  sock.destroy();
  t.deepEqual(Buffer.concat(good.received), Buffer.from([4, 1, 0x15, 0xb3, 198, 18, 0, 2, ...Buffer.from('bridge'), 0]));
  const bad = await scriptedProxy(t, (s2) => s2.once('data', () => s2.write(Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]))));
  const e = await t.throwsAsync(dialWithin(proxy('socks4', bad.port), 5000, '198.18.0.2'), { instanceOf: ProxyError });
  t.is(e!.kind, 'refused');
  t.regex(e!.message, /SOCKS4 reply 91 \(request rejected or failed\)/);
});

test('SOCKS4 resolves names itself (asynchronously); an unresolvable name is a clear error', async (t) => {
  const p = await scriptedProxy(t, (sock) => sock.once('data', () => sock.write(Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]))));
  const sock = await dialWithin(proxy('socks4', p.port), 5000, 'localhost', 5555);
  sock.destroy();
  t.deepEqual([...Buffer.concat(p.received).subarray(4, 8)], [127, 0, 0, 1]);
  const e = await t.throwsAsync(dialWithin(proxy('socks4', p.port), 5000, 'no-such-host.invalid'), { instanceOf: ProxyError });
  t.regex(e!.message, /cannot resolve no-such-host\.invalid/);
});

test('property: any bytes from a proxy give a parse result or a ProxyError, never anything else', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (bytes, cut) => {
    const b = Buffer.from(bytes);
    const parsers: Array<() => unknown> = [
      () => parseSocks5Method(b, true),
      () => parseSocks5AuthReply(b),
      () => parseSocks5ConnectReply(b),
      () => parseSocks4Reply(b),
      () => {
        const p = new ConnectReplyParser();
        let r: unknown = null;
        for (let i = 0; i < b.length && !r; i += cut) r = p.push(b.subarray(i, i + cut));
        return r;
      },
    ];
    for (const parse of parsers) {
      try {
        parse();
      } catch (e) {
        if (!(e instanceof ProxyError)) throw e;
      }
    }
  }), { numRuns: 2000 });
  t.pass();
});

test('proxy URLs for --proxy: schemes, user, IPv6, default ports; a password in the URL is refused', (t) => {
  t.deepEqual(parseProxyUrl('http://me@proxy.corp:3128'), { type: 'http', host: 'proxy.corp', port: 3128, username: 'me' });
  t.deepEqual(parseProxyUrl('socks5://[2001:db8::5]:1080'), { type: 'socks5', host: '2001:db8::5', port: 1080, username: '' });
  t.deepEqual(parseProxyUrl('socks4://bridge@10.1.2.3'), { type: 'socks4', host: '10.1.2.3', port: 1080, username: 'bridge' });
  t.deepEqual(parseProxyUrl('socks5h://a%40b@h:9'), { type: 'socks5', host: 'h', port: 9, username: 'a@b' });
  t.is(parseProxyUrl('http://h').port, 8080);
  for (const bad of ['ftp://h:1', 'http://u:pw@h:1', 'http://', 'h:3128', 'http://h:1/path', 'socks4a://h:1']) {
    const e = t.throws(() => parseProxyUrl(bad), { instanceOf: ConfigError }, bad);
    t.is(e!.field, '--proxy');
  }
  t.is(describeProxy({ type: 'socks5', host: '::1', port: 1, username: 'a b', password: 'pw', customHttpHeader: '' }), 'socks5://a%20b@[::1]:1');
});

test('custom header lines and SoftEther proxy type numbers', (t) => {
  t.deepEqual(customHeaderLines('X-A: 1\r\n\r\n  X-B:two  \n'), ['X-A: 1', 'X-B: two']);
  t.throws(() => customHeaderLines('X-A: 1\rX-Evil: 2'), { instanceOf: ConfigError });
  t.throws(() => customHeaderLines('Proxy-Authorization: Basic x'), { instanceOf: ConfigError });
  t.deepEqual([0, 1, 2, 3].map((n) => proxyTypeFromSoftEther(n)), ['direct', 'http', 'socks4', 'socks5']);
  t.is(proxyTypeToSoftEther('socks5'), 3);
  t.throws(() => proxyTypeFromSoftEther(4), { instanceOf: ConfigError });
});

test('SOCKS5 CONNECT address encodings: IPv4, IPv6 (also with an IPv4 tail), name', (t) => {
  t.deepEqual([...socks5Connect('10.1.2.3', 443)], [5, 1, 0, 1, 10, 1, 2, 3, 1, 187]);
  t.deepEqual([...socks5Connect('2001:db8::1', 5555)], [5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1, 0x15, 0xb3]);
  t.deepEqual([...socks5Connect('::ffff:1.2.3.4', 1)], [5, 1, 0, 4, ...Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4, 0, 1]);
  t.deepEqual([...socks5Connect('::', 1)].slice(4, 20), Array(16).fill(0));
  t.deepEqual([...socks5Connect('ab.c', 2)], [5, 1, 0, 3, 4, 0x61, 0x62, 0x2e, 0x63, 0, 2]);
});

test('JSON-RPC proxy fields (CreateLink/SetLink) map to ProxyOptions and back; errors name the RPC field', (t) => {
  const p = proxyOptionsFromSoftEther({ ProxyType_u32: 3, ProxyName_str: 'px', ProxyPort_u32: 1080, ProxyUsername_str: 'u', ProxyPassword_str: 'pw', CustomHttpHeader_str: '' });
  t.deepEqual(p, { type: 'socks5', host: 'px', port: 1080, username: 'u', password: 'pw', customHttpHeader: '' });
  t.deepEqual(proxyOptionsToSoftEther(p), { ProxyType_u32: 3, ProxyName_str: 'px', ProxyPort_u32: 1080, ProxyUsername_str: 'u', ProxyPassword_str: '', CustomHttpHeader_str: '' });
  t.is(proxyOptionsFromSoftEther({}).type, 'direct');
  t.is(proxyOptionsFromSoftEther({ ProxyType_u32: 1, ProxyName_str: 'h', ProxyPort_u32: 8080, ProxyPassword_str: '' }).password, null);
  for (const [fields, field] of [
    [{ ProxyType_u32: 7 }, 'ProxyType_u32'],
    [{ ProxyType_u32: 1, ProxyPort_u32: 8080 }, 'ProxyName_str'],
    [{ ProxyType_u32: 1, ProxyName_str: 'h', ProxyPort_u32: 0 }, 'ProxyPort_u32'],
    [{ ProxyType_u32: 2, ProxyName_str: 'h', ProxyPort_u32: 1, ProxyUsername_str: 'u', ProxyPassword_str: 'x' }, 'ProxyPassword_str'],
    [{ ProxyType_u32: 1, ProxyName_str: 'h', ProxyPort_u32: 1, CustomHttpHeader_str: 'bad' }, 'CustomHttpHeader_str'],
  ] as const) {
    const e = t.throws(() => proxyOptionsFromSoftEther(fields), { instanceOf: ConfigError });
    t.is(e!.field, field);
    t.true(e!.message.startsWith(`${field}: `), e!.message);
  }
});
