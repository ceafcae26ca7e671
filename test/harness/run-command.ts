import { spawn } from 'node:child_process';
import { BoundedText } from './bounded-text.ts';
import { HarnessError } from './errors.ts';

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit status; 128 + signal number when the process was killed by a signal. */
  code: number;
  /** True when we killed it because it ran past timeoutMs or asked to be stopped. */
  killed: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Output beyond this is dropped from the front (we keep the tail, where errors are). */
  maxOutputBytes?: number;
  /** Sees stdout as it arrives; return true to kill the process now (e.g. it started prompting). */
  watchStdout?: (textSoFar: string) => boolean;
  /** First signal when we stop it (a `timeout` wrapper forwards SIGTERM to its child); SIGKILL follows after 3 s. */
  killSignal?: 'SIGTERM' | 'SIGKILL';
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs argv with stdin from /dev/null (vpncmd and friends prompt on a terminal otherwise) and never
 * rejects on a non-zero status: callers decide what failure means. Rejects only when the program
 * cannot be started at all.
 */
export function runCommand(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new BoundedText(max);
    const err = new BoundedText(max);
    let killed = false;
    let escalate: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (killed) return;
      killed = true;
      // Only the child we spawned, by its PID; wrappers like `timeout` pass SIGTERM on.
      child.kill(opts.killSignal ?? 'SIGKILL');
      if (opts.killSignal === 'SIGTERM') escalate = setTimeout(() => child.kill('SIGKILL'), 3000);
    };
    const timer = setTimeout(kill, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      if (opts.watchStdout && opts.watchStdout(out.text())) kill();
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(escalate);
      reject(new HarnessError(`cannot run ${argv[0]}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(escalate);
      resolve({
        stdout: out.text(),
        stderr: err.text(),
        code: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0),
        killed,
      });
    });
  });
}

/** runCommand that throws a HarnessError with the output when the status is not 0. */
export async function runChecked(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0) {
    throw new HarnessError(`command failed (${r.code}${r.killed ? ', killed' : ''}): ${argv.join(' ')}`, `${r.stdout}${r.stderr}`);
  }
  return r;
}
