/**
 * A server that breaks the protocol where no real one does: bytes that are not TLS right behind a TLS handshake
 * answer, in the same TCP write. Whatever the server sends, the cascade must turn it into a connection error and
 * carry on, never crash the process. The cascade runs in a child process so that a crash shows as a failed test
 * instead of killing the test worker.
 */
import test from 'ava';
import { encodeKeepAlive } from '../../src/protocol/tunnel.ts';
import type { FakeServerScript } from './fake-server.ts';
import { fakeServer, runCascadeInChild, childOptions } from './fake-server.ts';

const garbage = () => encodeKeepAlive(8); // plain tunnel bytes: a TLS reader sees record type 0xff

interface Case {
  what: string;
  options: Record<string, unknown>;
  script: FakeServerScript;
  /** The child's phase to wait for before stopping. */
  phase: 'recovered' | 'settled';
}

// These used to crash the process: openTransport removed its 'error' listeners from the TLS socket after
// secureConnect and exchange() removed its own once the answer was parsed, so when the answer was then refused (an
// error Pack, a use_encrypt mismatch) OpenSSL's error about the bytes behind it had no listener. Fixed by a
// permanent no-op 'error' listener on the TLS socket (src/session/transport.ts: the socket's 'close' reaches
// whoever owns it now) and by exchange() rejecting at once on a destroyed stream (src/session/handshake.ts).
const formerlyCrashing: Case[] = [
  {
    what: 'a use_encrypt=0 welcome to a request for 1, raw tunnel bytes right behind it',
    options: {},
    script: { login: (r) => (r.n === 1 ? { welcome: { useEncrypt: false }, tunnelBytes: garbage() } : undefined) },
    phase: 'recovered',
  },
  {
    what: 'a login error (9) with unencrypted bytes right behind it',
    options: {},
    script: { login: (r) => (r.n === 1 ? { error: 9, bareBytes: garbage() } : undefined) },
    phase: 'recovered',
  },
  {
    what: 'an additional_connect error (15) with unencrypted bytes right behind it',
    options: { maxConnections: 2 },
    script: { additional: (r) => (r.n === 1 ? { error: 15, bareBytes: garbage() } : undefined) },
    phase: 'settled',
  },
];

// These never crashed (the tunnel connection owns the socket, with its listener, by the time the TLS error is
// emitted); they guard the same path.
const surviving: Case[] = [
  {
    what: 'an encrypted welcome with unencrypted bytes right behind it',
    options: {},
    script: { login: (r) => (r.n === 1 ? { bareBytes: garbage() } : undefined) },
    phase: 'recovered',
  },
  {
    what: 'an encrypted additional_connect reply with unencrypted bytes right behind it',
    options: { maxConnections: 2 },
    script: { additional: (r) => (r.n === 1 ? { bareBytes: garbage() } : undefined) },
    phase: 'settled',
  },
];

for (const [cases, mark] of [[formerlyCrashing, test], [surviving, test]] as const) {
  for (const c of cases) {
    mark(`${c.what}: a connection error, not a crash`, async (t) => {
      const server = await fakeServer(t, c.script);
      const { report, stderr } = await runCascadeInChild(t, c.phase, childOptions(server, c.options));
      t.is(report.before.state, 'online');
      const first = server.logins[0]!.conn;
      const victim = c.options.maxConnections === 2 ? server.additionals[0]!.conn : first;
      t.truthy(victim.replyWrite && victim.replyWrite.tunnelBytes > 0, 'the bad bytes left in the same write as the answer');
      t.true(victim.closed, 'the client closed the connection that got them');
      t.regex(stderr, /bad record type|use_encrypt=0|error 9|error 15/, 'the reason is logged');
    });
  }
}
