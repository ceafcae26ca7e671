import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { HttpResponseParser, encodePackRequest, encodeSignatureRequest, packFromResponse } from '../../src/protocol/http.ts';
import type { HttpResponse } from '../../src/protocol/http.ts';
import { Pack, decodePack, encodePack } from '../../src/protocol/pack.ts';

function splitRequest(req: Buffer): { head: string; body: Buffer } {
  const i = req.indexOf('\r\n\r\n');
  return { head: req.subarray(0, i).toString('latin1'), body: req.subarray(i + 4) };
}

function headerMap(head: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of head.split('\r\n').slice(1)) {
    const c = line.indexOf(': ');
    m.set(line.slice(0, c), line.slice(c + 2));
  }
  return m;
}

test('signature request: POST connect.cgi with the VPNCONNECT body', (t) => {
  const req = encodeSignatureRequest('198.18.0.1');
  t.is(
    req.toString('latin1'),
    'POST /vpnsvc/connect.cgi HTTP/1.1\r\nConnection: Keep-Alive\r\nContent-Length: 10\r\nContent-Type: image/jpeg\r\nHost: 198.18.0.1\r\n\r\nVPNCONNECT',
  );
  t.throws(() => encodeSignatureRequest(''), { instanceOf: RangeError });
  t.throws(() => encodeSignatureRequest('a\r\nX-Evil: 1'), { instanceOf: RangeError });
});

test('pack request: headers per the notes, pencore appended without touching the Pack', (t) => {
  const p = new Pack().addStr('method', 'login').addInt('authtype', 1);
  const before = encodePack(p);
  const date = new Date(Date.UTC(2026, 10, 21, 22, 54, 55));
  const lengths = new Set<number>();
  for (let i = 0; i < 30; i++) {
    const { head, body } = splitRequest(encodePackRequest('vpn.example', p, date));
    const lines = head.split('\r\n');
    t.is(lines[0], 'POST /vpnsvc/vpn.cgi HTTP/1.1');
    const h = headerMap(head);
    t.deepEqual([...h.keys()], ['Connection', 'Content-Length', 'Content-Type', 'Date', 'Host', 'Keep-Alive']);
    t.is(h.get('Connection'), 'Keep-Alive');
    t.is(h.get('Content-Type'), 'application/octet-stream');
    t.is(h.get('Date'), 'Sat, 21 Nov 2026 22:54:55 GMT');
    t.is(h.get('Host'), 'vpn.example');
    t.is(h.get('Keep-Alive'), 'timeout=15; max=19');
    t.is(Number(h.get('Content-Length')), body.length);
    const sent = decodePack(body);
    t.is(sent.size, 3);
    t.is(sent.getStr('method'), 'login');
    t.is(sent.getInt('authtype'), 1);
    const pad = sent.getData('pencore')!;
    t.true(pad.length >= 0 && pad.length <= 999);
    lengths.add(pad.length);
    t.deepEqual(sent.elements().slice(0, 2), p.elements(), 'original elements first, in order');
  }
  t.true(lengths.size > 1, 'padding length is random');
  t.is(p.size, 2, 'caller Pack not mutated');
  t.true(encodePack(p).equals(before));
});

test('pack request keeps an existing pencore and enforces the 64 KiB body limit', (t) => {
  const withPad = new Pack().addStr('method', 'x').addData('PENCORE', Buffer.alloc(3));
  const { body } = splitRequest(encodePackRequest('h', withPad));
  t.true(body.equals(encodePack(withPad)));

  // Pad shrinks so that a Pack just under the limit still fits.
  const near = new Pack().addData('blob', Buffer.alloc(65536 - 4 - 4 - 4 - 4 - 4 - 4 - 23 - 100));
  for (let i = 0; i < 10; i++) t.true(splitRequest(encodePackRequest('h', near)).body.length <= 65536);
  // Fits only without padding: sent without pencore rather than refused.
  const tight = new Pack().addData('blob', Buffer.alloc(65536 - 4 - 4 - 4 - 4 - 4 - 4 - 10));
  const tightBody = splitRequest(encodePackRequest('h', tight)).body;
  t.is(tightBody.length, 65536 - 10);
  t.false(decodePack(tightBody).has('pencore'));
  const over = new Pack().addData('blob', Buffer.alloc(65536));
  t.throws(() => encodePackRequest('h', over), { instanceOf: RangeError, message: /too large/ });
  const overWithPad = new Pack().addData('blob', Buffer.alloc(65536)).addData('pencore', Buffer.alloc(0));
  t.throws(() => encodePackRequest('h', overWithPad), { instanceOf: RangeError, message: /too large/ });
});

function response(body: Buffer, extra = '', status = '200 OK', contentType = 'application/octet-stream'): Buffer {
  const head =
    `HTTP/1.1 ${status}\r\nConnection: Keep-Alive\r\nContent-Length: ${body.length}\r\nContent-Type: ${contentType}\r\n` +
    `Date: Sat, 21 Nov 2026 22:54:55 GMT\r\nKeep-Alive: timeout=15; max=19\r\n${extra}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const helloBody = encodePack(new Pack().addStr('hello', 'test server').addData('random', Buffer.alloc(20, 7)));
const tunnelBytes = Buffer.from('ffffffff0000000441424344', 'hex');

function checkHello(t: ExecutionContext, res: HttpResponse) {
  t.is(res.version, 'HTTP/1.1');
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/octet-stream');
  t.is(res.headers.get('keep-alive'), 'timeout=15; max=19');
  t.true(res.body.equals(helloBody));
  t.is(packFromResponse(res).getStr('hello'), 'test server');
}

test('parser: one chunk, with tunnel bytes left over in rest', (t) => {
  const parser = new HttpResponseParser();
  const res = parser.push(Buffer.concat([response(helloBody), tunnelBytes]));
  t.truthy(res);
  checkHello(t, res!);
  t.true(res!.rest.equals(tunnelBytes));
});

test('parser: byte by byte, and at every split point', (t) => {
  const wire = Buffer.concat([response(helloBody), tunnelBytes]);
  const parser = new HttpResponseParser();
  let res: HttpResponse | null = null;
  const rest: Buffer[] = [];
  for (let i = 0; i < wire.length; i++) {
    const chunk = wire.subarray(i, i + 1);
    if (res) rest.push(chunk);
    else res = parser.push(chunk);
  }
  t.truthy(res);
  checkHello(t, res!);
  t.is(res!.rest.length, 0, 'the response ended exactly at a chunk boundary');
  t.true(Buffer.concat(rest).equals(tunnelBytes));

  const headLen = wire.length - tunnelBytes.length - helloBody.length;
  for (let cut = 1; cut < wire.length; cut++) {
    const p = new HttpResponseParser();
    const first = p.push(wire.subarray(0, cut));
    const second = first ? null : p.push(wire.subarray(cut));
    const r = first ?? second;
    t.truthy(r, `cut ${cut}`);
    t.true(r!.body.equals(helloBody));
    const bodyEnd = headLen + helloBody.length;
    t.is(first !== null, cut >= bodyEnd, 'completes exactly when the last body byte arrives');
    // Whatever followed the body in the chunk that completed it is handed back, nothing else.
    const expectedRest = first ? wire.subarray(bodyEnd, cut) : tunnelBytes;
    t.true(r!.rest.equals(expectedRest), `cut ${cut}`);
  }
});

test('parser: bare LF line endings and a reset for the next response', (t) => {
  const parser = new HttpResponseParser();
  const lf = Buffer.from(`HTTP/1.1 200 OK\nContent-Length: 3\nContent-Type: application/octet-stream\n\nabc`, 'latin1');
  const r1 = parser.push(lf);
  t.is(r1?.body.toString(), 'abc');
  const r2 = parser.push(response(helloBody));
  t.true(r2?.body.equals(helloBody));
});

const isHttpError = (t: ExecutionContext, fn: () => unknown, message?: RegExp) => {
  const e = t.throws(fn, { instanceOf: ProtocolError, message });
  t.is(e?.layer, 'http');
};

test('parser limits and malformed input', (t) => {
  const longLine = Buffer.from(`HTTP/1.1 200 OK\r\nX-Long: ${'a'.repeat(5000)}\r\n`, 'latin1');
  isHttpError(t, () => new HttpResponseParser().push(longLine), /longer than 4096/);
  // Same thing fed in small pieces: must fail as soon as the line passes the limit, not buffer it.
  const p = new HttpResponseParser();
  let thrown: unknown;
  let fed = 0;
  for (let i = 0; i < longLine.length && !thrown; i += 100) {
    try {
      p.push(longLine.subarray(i, i + 100));
      fed = i + 100;
    } catch (e) {
      thrown = e;
    }
  }
  t.true(thrown instanceof ProtocolError);
  t.true(fed < 17 + 4096 + 200);
  t.notThrows(() => new HttpResponseParser().push(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(4093)}\r\n`)));

  const manyHeaders = `HTTP/1.1 200 OK\r\n${Array.from({ length: 65 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n`;
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from(manyHeaders)), /more than 64/);
  isHttpError(t, () => new HttpResponseParser({ maxHeaders: 3 }).push(response(helloBody)), /more than 3/);

  const huge = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n');
  isHttpError(t, () => new HttpResponseParser().push(huge), /exceeds/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n')), /invalid Content-Length/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')), /invalid Content-Length/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: x/y\r\n\r\n')), /without Content-Length/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')), /Transfer-Encoding/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')), /conflicting/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('SSH-2.0-OpenSSH\r\n')), /status line/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n')), /status line/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nNoColon\r\n')), /malformed header/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nX-Empty:   \r\n')), /empty value/);
  isHttpError(t, () => new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nBad Name: v\r\n')), /invalid header name/);

  // A smaller body limit is honoured.
  isHttpError(t, () => new HttpResponseParser({ maxBody: 10 }).push(response(helloBody)), /exceeds the 10-byte/);
});

test('packFromResponse requires HTTP/1.1, 200 and application/octet-stream', (t) => {
  const parse = (wire: Buffer) => new HttpResponseParser().push(wire)!;
  isHttpError(t, () => packFromResponse(parse(response(Buffer.from('Forbidden'), '', '403 Forbidden', 'text/html'))), /HTTP 403/);
  isHttpError(t, () => packFromResponse(parse(response(helloBody, '', '404 Not Found'))), /HTTP 404/);
  isHttpError(t, () => packFromResponse(parse(response(helloBody, '', '200 OK', 'text/html'))), /Content-Type/);
  isHttpError(t, () => packFromResponse(parse(response(helloBody, '', '200 OK', 'application/octet-stream; charset=x'))), /Content-Type/);
  isHttpError(t, () => packFromResponse(parse(response(Buffer.alloc(0)))), /empty/);
  const http10 = Buffer.from(response(helloBody).toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'), 'latin1');
  isHttpError(t, () => packFromResponse(parse(http10)), /HTTP\/1\.1/);
  t.is(packFromResponse(parse(response(helloBody, '', '200 OK', 'Application/Octet-Stream'))).getStr('hello'), 'test server');
  // A 200 whose body is not a Pack is a pack-layer error.
  const e = t.throws(() => packFromResponse(parse(response(Buffer.from([0, 0, 0, 9])))), { instanceOf: ProtocolError });
  t.is(e?.layer, 'pack');
});
