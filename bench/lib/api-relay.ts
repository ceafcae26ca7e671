// Runs inside the bridge namespace (`ip netns exec NS node bench/lib/api-relay.ts PORT SHA256`) and carries the
// benchmark's admin API calls to the daemon on that namespace's loopback, which the benchmark (in the root
// namespace) cannot reach. One JSON request per stdin line: {"id", "method", "params", "password"}; one JSON
// answer per stdout line: {"id", "status", "result"?, "error"?}. The certificate is pinned to the fingerprint
// the daemon printed. Nothing is logged: requests carry the admin password.
import { createInterface } from 'node:readline';
import { AdminClient } from '../../test/control/admin-client.ts';

const [portArg, certSha256] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 1 || port > 65535 || !certSha256) {
  process.stderr.write('usage: api-relay.ts PORT CERT_SHA256\n');
  process.exit(2);
}
const base = new AdminClient('127.0.0.1', port, certSha256);

interface Request {
  id: number;
  method: string;
  params?: Record<string, unknown>;
  password?: string;
}

function answer(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    answer({ id: -1, status: 0, error: { code: -1, message: 'relay: request is not JSON' } });
    return;
  }
  const client = req.password === undefined ? base : base.withPassword(req.password);
  client.call(req.method, req.params ?? {}).then(
    (a) => answer({ id: req.id, status: a.status, ...(a.result ? { result: a.result } : {}), ...(a.error ? { error: a.error } : {}) }),
    (e: Error) => answer({ id: req.id, status: 0, error: { code: -1, message: `relay: ${e.message}` } }),
  );
});
// stdin closed: the benchmark is done with us (or gone)
process.stdin.on('end', () => process.exit(0));
