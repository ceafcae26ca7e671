import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BenchError } from './child.ts';
import { NODE } from './sebridge-process.ts';

const RELAY = fileURLToPath(new URL('./api-relay.ts', import.meta.url));
const CALL_TIMEOUT_MS = 30_000;
/** The benchmark makes a handful of calls at a time; more in flight would be a bug here. */
const MAX_IN_FLIGHT = 16;

interface Answer {
  id: number;
  status: number;
  result?: Record<string, any>;
  error?: { code: number; message: string };
}

/**
 * sebridge's admin API inside a network namespace, through api-relay.ts running there (a process in the root
 * namespace cannot connect to another namespace's loopback). Calls are sent with the admin password once one is
 * set (`password`); close() ends the relay (it also exits when this process dies: its stdin closes).
 */
export class NetnsApi {
  readonly pid: number;
  password: string | undefined;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #exit: string | undefined;

  constructor(netns: string, port: number, certSha256: string) {
    this.#child = spawn('setpriv', ['--pdeathsig', 'KILL', 'ip', 'netns', 'exec', netns, NODE, RELAY, String(port), certSha256], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (this.#child.pid === undefined) throw new BenchError('could not spawn the API relay');
    this.pid = this.#child.pid;
    let stderr = '';
    this.#child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      let a: Answer;
      try {
        a = JSON.parse(line) as Answer;
      } catch {
        return;
      }
      const p = this.#pending.get(a.id);
      if (!p) return;
      this.#pending.delete(a.id);
      clearTimeout(p.timer);
      p.resolve(a);
    });
    this.#child.once('exit', (code, signal) => {
      this.#exit = signal ? `killed by ${signal}` : `exited with ${code}`;
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer);
        p.reject(new BenchError(`API relay ${this.#exit}`, stderr));
        this.#pending.delete(id);
      }
    });
  }

  /** One JSON-RPC call; resolves with the HTTP status and the result or error the daemon gave. */
  call(method: string, params: Record<string, unknown> = {}): Promise<Answer> {
    if (this.#exit) return Promise.reject(new BenchError(`API relay ${this.#exit}`));
    if (this.#pending.size >= MAX_IN_FLIGHT) return Promise.reject(new BenchError(`API relay: ${MAX_IN_FLIGHT} calls already in flight`));
    const id = this.#nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new BenchError(`${method}: no answer within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.#child.stdin!.write(`${JSON.stringify({ id, method, params, ...(this.password !== undefined ? { password: this.password } : {}) })}\n`);
    });
  }

  /** The result, or throw with the daemon's error (code and message). */
  async ok(method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const a = await this.call(method, params);
    if (!a.result) throw new BenchError(`${method} failed: HTTP ${a.status} ${a.error ? `error ${a.error.code}: ${a.error.message}` : ''}`);
    return a.result;
  }

  async close(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
