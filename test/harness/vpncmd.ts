import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from './csv.ts';
import { HarnessError, VpncmdError } from './errors.ts';
import { jailedArgv, VPNCMD } from './jail.ts';
import { runCommand } from './run-command.ts';

/**
 * Runs vpncmd against the server from inside the server's own namespaces (so it connects to
 * 127.0.0.1 and writes its lang.config into the instance's private lib/ directory).
 *
 * Facts this relies on (observed on 5.01 build 9674):
 * - `/PASSWORD:` and `/ADMINHUB:` must come before `/CMD`; `/ADMINHUB:HUB` with the *server*
 *   admin password is accepted and selects the hub (`/HUB:` with the same password is refused).
 * - Success exits 0; a server-side error prints "Error occurred. (Error code: N)" and exits N; a
 *   missing parameter prompts, reads EOF from /dev/null and exits 38.
 * - A wrong admin password makes vpncmd loop on "Password:" at 100 % CPU forever, so we watch
 *   stdout and stop it as soon as it asks, instead of waiting for the timeout.
 * - With /CSV a successful command prints only its table (nothing at all for most setters).
 */
export interface VpncmdTarget {
  netns: string;
  dir: string;
  port: number;
  adminPassword: string;
}

export interface VpncmdOptions {
  hub?: string;
  csv?: boolean;
  timeoutMs?: number;
}

// Plain words, or /NAME:value where the value may hold spaces (vpncmd keeps them) but no quotes
// or control characters (a newline would split a script line).
const ARG_RE = /^[^\s"]*$|^\/[A-Za-z]+:[^"\x00-\x1f\x7f]*$/;

function checkWords(command: string, args: string[]): void {
  if (!/^[A-Za-z]+$/.test(command)) throw new HarnessError(`not a vpncmd command name: ${JSON.stringify(command)}`);
  for (const a of args) {
    if (!ARG_RE.test(a)) throw new HarnessError(`vpncmd argument with quotes, control characters or stray spaces: ${JSON.stringify(a)}`);
  }
}

function connectArgs(target: VpncmdTarget, opts: VpncmdOptions): string[] {
  const argv = [`127.0.0.1:${target.port}`, '/SERVER'];
  if (target.adminPassword !== '') argv.push(`/PASSWORD:${target.adminPassword}`);
  if (opts.hub !== undefined) {
    if (!/^[A-Za-z0-9_.-]+$/.test(opts.hub)) throw new HarnessError(`bad hub name ${JSON.stringify(opts.hub)}`);
    argv.push(`/ADMINHUB:${opts.hub}`);
  }
  if (opts.csv) argv.push('/CSV');
  return argv;
}

export function vpncmdArgs(target: VpncmdTarget, command: string, args: string[], opts: VpncmdOptions): string[] {
  checkWords(command, args);
  return [...connectArgs(target, opts), '/CMD', command, ...args];
}

const DENIED = 'Access has been denied';

interface RawRun {
  stdout: string;
  output: string;
  code: number;
  denied: boolean;
  timedOut: boolean;
  seconds: number;
}

async function runRaw(target: VpncmdTarget, vpncmdArgv: string[], timeoutMs: number): Promise<RawRun> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const program = [
    'timeout', '--kill-after=2', String(seconds),
    // vpncmd is a child of `timeout`, not an exec of it: give it its own parent-death signal.
    'setpriv', '--pdeathsig', 'KILL',
    VPNCMD, ...vpncmdArgv,
  ];
  let denied = false;
  const r = await runCommand(jailedArgv(target.netns, target.dir, program), {
    timeoutMs: timeoutMs + 5000,
    killSignal: 'SIGTERM',
    watchStdout: (text) => {
      denied = text.includes(DENIED);
      return denied;
    },
  });
  return { stdout: r.stdout, output: `${r.stdout}${r.stderr}`, code: r.code, denied, timedOut: r.code === 124 || r.killed, seconds };
}

function failIfStuck(label: string, r: RawRun): void {
  if (r.denied) throw new VpncmdError(label, r.code, r.output, 'admin password refused');
  if (r.timedOut) throw new VpncmdError(label, r.code, r.output, `no answer within ${r.seconds} s`);
}

/** Returns vpncmd's stdout; throws VpncmdError with the whole output when it did not succeed. */
export async function runVpncmd(target: VpncmdTarget, command: string, args: string[] = [], opts: VpncmdOptions = {}): Promise<string> {
  const argv = vpncmdArgs(target, command, args, opts);
  const r = await runRaw(target, argv, opts.timeoutMs ?? 30_000);
  const output = r.output;
  const label = [command, ...args].join(' ');
  failIfStuck(label, r);
  const m = /Error occurred\. \(Error code: (\d+)\)\s*\n?([^\n]*)/.exec(output);
  if (m) throw new VpncmdError(label, Number(m[1]), output, m[2].trim());
  if (r.code !== 0) throw new VpncmdError(label, r.code, output, `exit status ${r.code}`);
  return r.stdout;
}

export async function runVpncmdCsv(target: VpncmdTarget, command: string, args: string[] = [], opts: VpncmdOptions = {}): Promise<string[][]> {
  return parseCsv(await runVpncmd(target, command, args, { ...opts, csv: true }));
}

/**
 * Several commands in one vpncmd connection (`/IN:` script), about 0.25 s instead of 0.25 s each.
 * In script mode vpncmd exits 0 even when a command fails, and a command missing a parameter
 * silently fails too; so every command must echo after a prompt ("VPN Server/HUB>Cmd ...") and
 * its section must say "The command completed successfully." or we throw for the first that did not.
 */
export async function runVpncmdScript(target: VpncmdTarget, commands: string[][], opts: VpncmdOptions = {}): Promise<string> {
  if (commands.length === 0) return '';
  for (const [command, ...args] of commands) checkWords(command ?? '', args);
  const lines = commands.map((c) => c.join(' '));
  const name = `vpncmd-${randomBytes(6).toString('hex')}.txt`;
  const hostPath = join(target.dir, 'tmp', name);
  writeFileSync(hostPath, `${lines.join('\n')}\n`);
  let r: RawRun;
  try {
    r = await runRaw(target, [...connectArgs(target, { ...opts, csv: false }), `/IN:/tmp/${name}`], opts.timeoutMs ?? 30_000);
  } finally {
    rmSync(hostPath, { force: true });
  }
  failIfStuck(lines[0], r);
  const sections = r.stdout.split(/^VPN Server(?:\/[^>\n]*)?>/m).slice(1);
  for (let i = 0; i < lines.length; i++) {
    const section = sections[i];
    if (section === undefined || !section.startsWith(lines[i])) {
      throw new VpncmdError(lines[i], r.code, r.output, 'command was not run (script out of step)');
    }
    if (!section.includes('The command completed successfully.')) {
      const m = /Error occurred\. \(Error code: (\d+)\)\s*\n?([^\n]*)/.exec(section);
      throw new VpncmdError(lines[i], m ? Number(m[1]) : r.code, r.output, m ? m[2].trim() : 'did not complete (missing parameter?)');
    }
  }
  if (r.code !== 0) throw new VpncmdError(lines.join('; '), r.code, r.output, `exit status ${r.code}`);
  return r.stdout;
}
