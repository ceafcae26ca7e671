// Preloaded into the sebridge process by scripts/soak.ts (NODE_OPTIONS=--import): every SOAK_PROBE_MS it appends
// one JSON line to the file SOAK_PROBE_FILE with what keeps the process alive (active handles and requests by
// type: sockets, timers, ...) and its memory. Its own timer is unref'd and not counted.
import { appendFileSync } from 'node:fs';

const file = process.env.SOAK_PROBE_FILE;
const every = Number(process.env.SOAK_PROBE_MS ?? 10_000);
if (file) {
  const probe = () => {
    const resources = {};
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
    const m = process.memoryUsage();
    // Synchronous on purpose: a diagnostic in a test-only preload, a few hundred bytes every few seconds.
    appendFileSync(file, JSON.stringify({ t: Date.now(), resources, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss }) + '\n');
  };
  const timer = setInterval(probe, every);
  timer.unref();
  probe();
}
