import test from 'ava';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthMonitor } from '../../../src/control/health/monitor.ts';
import type { HealthChange } from '../../../src/control/health/tracker.ts';
import { HealthWebhook, parseWebhookUrl } from '../../../src/control/health/webhook.ts';
import { cascadeStatus, fakeClock } from './fixtures.ts';

interface Receiver {
  url: string;
  bodies: unknown[];
  pending: ServerResponse[];
  close(): Promise<void>;
  next(): Promise<unknown>;
}

/** An HTTP receiver on 127.0.0.1; `mode` decides how it answers. */
async function receiver(mode: () => 'ok' | 'hang' | 'fail'): Promise<Receiver> {
  const bodies: unknown[] = [];
  const pending: ServerResponse[] = [];
  let waiter: ((b: unknown) => void) | null = null;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = mode();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      bodies.push({ ...body, _path: req.url, _type: req.headers['content-type'], _method: req.method });
      waiter?.(bodies.at(-1));
      waiter = null;
      if (m === 'hang') return void pending.push(res);
      res.statusCode = m === 'ok' ? 204 : 500;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook?token=secret-token`,
    bodies,
    pending,
    next: () => new Promise((r) => (waiter = r)),
    close: async () => {
      for (const r of pending) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const change = (n: number, healthy = false): HealthChange => ({
  code: 'cascade-down', target: `c${n}`, title: 'Cascade not connected', severity: 'high', impactsConnectivity: true,
  healthy, text: `Cascade c${n} is enabled but not connected`, time: new Date(0).toISOString(),
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('every visible change of the monitor is POSTed as JSON to the webhook', async (t) => {
  const rx = await receiver(() => 'ok');
  t.teardown(() => rx.close());
  const clock = fakeClock();
  let status = cascadeStatus({ state: 'waiting', lastError: { message: 'connection refused', at: '' } });
  const m = new HealthMonitor({
    inputs: {
      cascades: () => [{ name: 'hq', enabled: true, status }],
      bridges: () => [],
      system: async () => ({ cpuPercent: 1, memPercent: 1, diskPercent: 1, temperatureC: null }),
      thresholds: () => ({ cpuWarnPercent: 90, memoryWarnPercent: 90, diskWarnPercent: 90, temperatureWarnC: 80 }),
      configWritable: async () => true,
    },
    now: clock.now,
    monotonicNow: clock.now,
    webhook: { url: rx.url, timeoutMs: 1000 },
  });
  await m.runLinkChecks();
  clock.advance(15_000);
  const first = rx.next();
  await m.runLinkChecks();
  t.like(await first, {
    code: 'cascade-down', target: 'hq', severity: 'high', healthy: false,
    text: 'Cascade hq is enabled but not connected: connection refused',
    time: new Date(clock.now()).toISOString(), _method: 'POST', _type: 'application/json', _path: '/hook?token=secret-token',
  });
  status = cascadeStatus();
  const second = rx.next();
  clock.advance(5000);
  await m.runLinkChecks();
  t.like(await second, { code: 'cascade-down', target: 'hq', healthy: true });
  await until(() => m.stats().webhook!.sent === 2);
  t.like(m.stats().webhook, { sent: 2, failed: 0, dropped: 0, queued: 0, url: rx.url.replace('?token=secret-token', '') });
  t.false(JSON.stringify(m.stats()).includes('secret-token'), 'the token in the URL is not shown by stats');
  await m.stop();
});

test('a hanging receiver: timeout, back-off instead of a retry storm, bounded queue dropping the oldest', async (t) => {
  const rx = await receiver(() => 'hang');
  t.teardown(() => rx.close());
  const errors: string[] = [];
  const w = new HealthWebhook({ url: rx.url, timeoutMs: 200, maxQueue: 3, backoffMs: 400, maxBackoffMs: 400, onError: (e) => errors.push(e) });
  for (let i = 1; i <= 5; i++) w.enqueue(change(i));
  // c1 is in flight (the head is never dropped); c2 and c3 were dropped for c4 and c5.
  t.like(w.stats(), { queued: 3, dropped: 2 });
  await until(() => w.stats().failed === 1);
  t.regex(w.stats().lastError!, /no answer within 200 ms/);
  t.regex(errors[0], /^health webhook http:\/\/127\.0\.0\.1:\d+\/hook: no answer within 200 ms$/);
  t.false(errors[0].includes('secret-token'));
  t.not(w.stats().nextAttemptAt, null);
  const requestsAfterFirstFailure = rx.bodies.length;
  await new Promise((r) => setTimeout(r, 300));
  t.is(rx.bodies.length, requestsAfterFirstFailure, 'no new request during the back-off');
  await until(() => w.stats().failed === 2);
  t.is(rx.bodies.length, 2, 'one request per back-off period');
  t.deepEqual(rx.bodies.map((b) => (b as HealthChange).target), ['c1', 'c1'], 'the failed head is retried in order');
  await w.close();
});

test('the URL can change at runtime: the queue goes to the new receiver at once', async (t) => {
  const dead = await receiver(() => 'fail');
  const live = await receiver(() => 'ok');
  t.teardown(async () => { await dead.close(); await live.close(); });
  const w = new HealthWebhook({ url: dead.url, backoffMs: 60_000 });
  w.enqueue(change(1));
  await until(() => w.stats().failed === 1);
  t.is(w.stats().lastError, 'HTTP 500');
  w.enqueue(change(2));
  t.throws(() => w.setUrl('ftp://example.invalid/x'), { message: 'webhook.url: must start with http:// or https://' });
  t.is(w.stats().url, dead.url.replace('?token=secret-token', ''), 'a bad URL changes nothing');
  w.setUrl(live.url);
  await until(() => w.stats().sent === 2);
  t.deepEqual(live.bodies.map((b) => (b as HealthChange).target), ['c1', 'c2']);
  t.like(w.stats(), { queued: 0, nextAttemptAt: null });
  w.setUrl(null);
  w.enqueue(change(3));
  t.is(w.stats().queued, 0, 'off: nothing is queued');
  await w.close();
});

test('webhook options are validated with the field named', (t) => {
  t.throws(() => parseWebhookUrl('not a url'), { message: 'webhook.url: not a valid URL' });
  t.is(parseWebhookUrl(''), null);
  t.throws(() => new HealthWebhook({ url: null, timeoutMs: 0 }), { message: /webhook\.timeoutMs/ });
  t.throws(() => new HealthWebhook({ url: null, maxQueue: -1 }), { message: /webhook\.maxQueue/ });
});
