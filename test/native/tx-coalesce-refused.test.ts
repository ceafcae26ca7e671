// A kernel or device that refuses super-frames (sendmmsg fails with EINVAL on a message whose virtio-net header asks
// for segmentation): the channel stops building them after the first refusal and sends every frame on its own;
// nothing is lost, nothing arrives twice. No kernel here refuses a well-formed super-frame, so a small preloaded
// library (fixtures/refuse-gso.c, compiled here) plays that kernel in a child process that runs the port.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batch } from './tx-frames.ts';
import { isRoot, vethLab } from './netlab.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHIM = fileURLToPath(new URL('./fixtures/refuse-gso.c', import.meta.url));

function gcc(): string | undefined {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return 'gcc';
  } catch {
    return undefined;
  }
}

const missing = !isRoot ? 'needs root (network namespaces, AF_PACKET)' : !gcc() ? 'needs gcc (to build the preloaded shim)' : undefined;
if (missing) {
  if (process.env.CI) throw new Error(`test/native/tx-coalesce-refused.test.ts ${missing}, and CI must have it`);
  console.warn(`SKIPPING test/native/tx-coalesce-refused.test.ts: ${missing}`);
}
const rootTest = missing ? test.skip : test.serial;

// The port in the child: two writes of the same batch, then its counters.
const CHILD = `
import { RawSocketPort } from ${JSON.stringify(join(ROOT, 'src/ports/raw-socket-port.ts'))};
import { batch } from ${JSON.stringify(join(ROOT, 'test/native/tx-frames.ts'))};
const port = RawSocketPort.open(process.env.PORT_IF);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
port.write(batch().frames);
await sleep(200);
port.write(batch().frames);
await sleep(200);
console.log(JSON.stringify(port.stats()));
port.close();
`;

rootTest('after a refused super-frame every frame goes out on its own, once, byte for byte; no second attempt', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seb-refuse-gso-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const so = join(dir, 'refuse-gso.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', so, SHIM, '-ldl']);
  const { lab, ns, outer, inner } = vethLab(t);
  const peer = await lab.peer(ns, inner);
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, LD_PRELOAD: so, PORT_IF: outer },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  t.is(code, 0, err);

  const { frames, superFrames } = batch();
  t.true(superFrames > 0, 'precondition: the batch has runs that would be merged');
  t.regex(err, /refuse-gso: offered 1\n/, 'one super-frame offered, refused, and none after it');
  const st = JSON.parse(out) as { txSuperFrames: number; txSuperSegments: number; txSuperRefused: number; txFrames: number; txDropError: number };
  t.is(st.txSuperRefused, 1);
  t.is(st.txSuperFrames, 0);
  t.is(st.txSuperSegments, 0);
  t.is(st.txFrames, 2 * frames.length, 'every frame of both writes counted as sent');
  t.is(st.txDropError, 0, 'the refused super-frame was not counted as a loss: its frames went out on their own');

  // Both writes arrive whole: each frame exactly twice, nothing else.
  await peer.waitFor(() => peer.frames.length >= 2 * frames.length, 3000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 200)); // anything extra would arrive meanwhile
  t.is(peer.frames.length, 2 * frames.length, 'nothing lost, nothing extra');
  for (const [i, f] of frames.entries()) {
    t.is(peer.frames.filter((p) => p.frame.equals(f)).length, 2, `frame ${i} arrived twice (once per write), as written`);
  }
});
