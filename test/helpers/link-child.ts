import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/sebridge.js', import.meta.url));

/**
 * Runs `sebridge link ARGS` (the built command, as a user runs it) with `env` added to this process's environment
 * until its output matches `until`, then stops it with SIGTERM (by PID); resolves with everything it printed.
 * Rejects when it exits first or nothing matches within `timeoutMs` (then SIGKILL). Killed on teardown if alive.
 */
export function linkUntil(t: { teardown(f: () => void): void }, args: string[], env: Record<string, string>, until: RegExp, timeoutMs = 15_000): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'link', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no line matching ${until} within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    let stopping = false;
    const onText = (b: Buffer) => {
      out += b.toString();
      if (!stopping && until.test(out)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onText);
    child.stderr.on('data', onText);
    child.on('exit', () => {
      clearTimeout(timer);
      if (stopping) resolve(out);
      else reject(new Error(`sebridge exited early:\n${out}`));
    });
  });
}
