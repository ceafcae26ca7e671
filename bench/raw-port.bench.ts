// Frames per second a RawSocketPort reads and writes in batches, over a veth pair made for the run (root).
// Usage: node bench/raw-port.bench.ts [seconds=3]
// Port X writes batches of 64 frames as fast as the event loop turns; port Y (the other end) reads them.
// Prints, per frame size: frames/s written, frames/s read, Mbit/s read, and where the rest went.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RawSocketPort } from '../src/ports/raw-socket-port.ts';

const seconds = Number(process.argv[2] ?? 3);
const id = randomBytes(3).toString('hex');
const x = `sebnb${id}x`;
const y = `sebnb${id}y`;
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'ignore' });
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  try {
    ip('link', 'del', x);
  } catch {
    // already gone
  }
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

ip('link', 'add', x, 'type', 'veth', 'peer', 'name', y);
for (const n of [x, y]) {
  execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${n}.disable_ipv6=1`]);
  ip('link', 'set', n, 'up');
}

async function run(size: number): Promise<void> {
  const tx = RawSocketPort.open(x);
  const rx = RawSocketPort.open(y);
  let received = 0;
  let batches = 0;
  rx.setReceiver((frames) => {
    received += frames.length;
    batches++;
  });
  const frame = Buffer.alloc(size);
  Buffer.from('025eb0000002025eb000000188b5', 'hex').copy(frame); // unicast, local experimental EtherType
  const batch = Array.from({ length: 64 }, () => frame);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (performance.now() >= end) return resolve();
      tx.write(batch);
      setImmediate(pump);
    };
    pump();
  });
  await new Promise((r) => setTimeout(r, 200)); // let the last frames arrive
  const secs = (performance.now() - t0 - 200) / 1000;
  const ts = tx.stats();
  const rs = rx.stats();
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `${String(size).padStart(5)} B: write ${fmt(ts.txFrames / secs)} frames/s, read ${fmt(received / secs)} frames/s ` +
      `(${((received * size * 8) / secs / 1e6).toFixed(0)} Mbit/s, ${(received / Math.max(batches, 1)).toFixed(1)} frames per JS call); ` +
      `tx queue drops ${fmt(ts.txDropQueueFull)}, tx errors ${fmt(ts.txDropError)}, rx kernel drops ${fmt(rs.rxDropKernel)}`,
  );
  tx.close();
  rx.close();
}

try {
  console.log(`RawSocketPort over a veth pair, ${seconds} s per size, node ${process.version}`);
  for (const size of [60, 590, 1514]) await run(size);
} finally {
  cleanup();
}
