import type { Duplex } from 'node:stream';
import { HttpResponseParser, encodePackRequest, encodeSignatureRequest, packFromResponse } from '../protocol/http.ts';
import type { HttpResponse } from '../protocol/http.ts';
import { parseHello, parseWelcome, parseAdditionalConnectReply, buildLoginPack, buildAdditionalConnectPack } from '../protocol/login.ts';
import type { Hello, Welcome, LoginOptions, ClientIdentity } from '../protocol/login.ts';
import type { Pack } from '../protocol/pack.ts';

/**
 * The HTTP-style part of a connection (docs/protocol-notes.md §2-§4, §8): signature POST -> hello, then login or
 * additional_connect -> welcome/reply. After the last answer the stream is left PAUSED, so no tunnel byte that
 * arrives in the same read is lost; `rest` holds tunnel bytes that came in the same chunk as the answer.
 */
export const HANDSHAKE_STEP_TIMEOUT_MS = 15_000;

function exchange(stream: Duplex, request: Buffer, what: string, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const parser = new HttpResponseParser();
    const done = (err: Error | null, res?: HttpResponse) => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
      stream.pause();
      if (err) reject(err);
      else resolve(res!);
    };
    const onData = (chunk: Buffer) => {
      let res: HttpResponse | null;
      try {
        res = parser.push(chunk);
      } catch (e) {
        done(e as Error);
        return;
      }
      if (res) done(null, res);
    };
    const onError = (e: Error) => done(e);
    const onClose = () => done(new Error(`server closed the connection while waiting for the ${what}`));
    const timer = setTimeout(() => done(new Error(`no ${what} from the server within ${timeoutMs / 1000} s`)), timeoutMs);
    if (stream.destroyed) {
      done(new Error(`connection closed before the ${what} was asked for`));
      return;
    }
    stream.on('data', onData);
    stream.once('error', onError);
    stream.once('close', onClose);
    stream.write(request);
    stream.resume();
  });
}

async function packExchange(stream: Duplex, request: Buffer, what: string, timeoutMs: number): Promise<{ pack: Pack; rest: Buffer }> {
  const res = await exchange(stream, request, what, timeoutMs);
  return { pack: packFromResponse(res), rest: res.rest };
}

export async function getHello(stream: Duplex, hostHeader: string, timeoutMs = HANDSHAKE_STEP_TIMEOUT_MS): Promise<Hello> {
  const { pack } = await packExchange(stream, encodeSignatureRequest(hostHeader), 'hello', timeoutMs);
  return parseHello(pack);
}

export async function login(
  stream: Duplex,
  hostHeader: string,
  opts: LoginOptions,
  hello: Hello,
  timeoutMs = HANDSHAKE_STEP_TIMEOUT_MS,
): Promise<{ welcome: Welcome; rest: Buffer }> {
  const request = encodePackRequest(hostHeader, buildLoginPack(opts, hello.random));
  const { pack, rest } = await packExchange(stream, request, 'welcome', timeoutMs);
  return { welcome: parseWelcome(pack), rest };
}

export async function additionalConnect(
  stream: Duplex,
  hostHeader: string,
  sessionKey: Buffer,
  identity: ClientIdentity,
  timeoutMs = HANDSHAKE_STEP_TIMEOUT_MS,
): Promise<{ direction: 0 | 1 | 2; rest: Buffer }> {
  const request = encodePackRequest(hostHeader, buildAdditionalConnectPack(sessionKey, identity));
  const { pack, rest } = await packExchange(stream, request, 'additional connection reply', timeoutMs);
  return { ...parseAdditionalConnectReply(pack), rest };
}
