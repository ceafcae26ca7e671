import type { Socket } from 'node:net';
import { SECURITY_HEADERS } from './security-headers.ts';

/**
 * The answer to a plain-HTTP connection on the web port: one 308 redirect to the same path over HTTPS, then the
 * connection is closed. A tiny header reader of our own instead of Node's HTTP server, because Node's server
 * reads the socket from C++ and would never see the first chunk that port sharing had to read to look at it.
 * Bounded: the request head must arrive within MAX_HEAD bytes and `timeoutMs`; a body is never read.
 */
const MAX_HEAD = 8192;

export function answerPlainHttp(socket: Socket, firstChunk: Buffer, httpsPort: number, timeoutMs = 10_000): void {
  let head = firstChunk;
  let finished = false;
  const finish = (status: string, extra: string[]): void => {
    if (finished) return;
    finished = true;
    socket.removeListener('data', onData);
    socket.setTimeout(0);
    const lines = [`HTTP/1.1 ${status}`, ...extra, 'Content-Length: 0', 'Connection: close', 'Cache-Control: no-store'];
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) lines.push(`${k}: ${v}`);
    socket.end(`${lines.join('\r\n')}\r\n\r\n`);
    // A client that keeps sending after our answer must not hold the socket open.
    setTimeout(() => socket.destroy(), 2000).unref();
  };
  const tryAnswer = (): void => {
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD) finish('431 Request Header Fields Too Large', []);
      return;
    }
    const text = head.subarray(0, end).toString('latin1');
    const [requestLine, ...headerLines] = text.split('\r\n');
    const m = /^[A-Z]{1,16} (\/[^\s]{0,4095}) HTTP\/1\.[01]$/.exec(requestLine);
    if (!m) return finish('400 Bad Request', []);
    const host = hostFrom(headerLines, socket);
    if (!host) return finish('400 Bad Request', []);
    const location = `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${m[1]}`;
    finish('308 Permanent Redirect', [`Location: ${location}`]);
  };
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    tryAnswer();
  };
  socket.on('data', onData);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  tryAnswer();
  if (!finished) socket.resume();
}

/** The host name (without port) the client used, from its Host header, or the address it connected to. */
function hostFrom(headerLines: string[], socket: Socket): string | null {
  const line = headerLines.find((l) => /^host:/i.test(l));
  if (line !== undefined) {
    const value = line.slice(5).trim();
    const v6 = /^(\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?$/.exec(value);
    if (v6) return v6[1];
    const name = /^([A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?$/.exec(value);
    return name ? name[1] : null;
  }
  const local = socket.localAddress;
  if (!local) return null;
  const plain = local.startsWith('::ffff:') ? local.slice(7) : local;
  return plain.includes(':') ? `[${plain}]` : plain;
}
