/**
 * Real Debian proxies (tinyproxy for HTTP CONNECT, dante's danted for SOCKS4/SOCKS5) for the cascade tests, run
 * INSIDE the real server's network namespace (made and removed by test/harness): they listen on the server's veth
 * address and connect on to the server over that namespace's loopback, so the server sees 127.0.0.1 as the client
 * address instead of the root-namespace veth address a direct cascade comes from. Nothing leaves the namespace.
 *
 * Each proxy runs in a private mount namespace of its own with bind mounts over /etc/hosts (a name for the server
 * that only the proxy can resolve, so a working cascade proves the proxy did the resolving) and, for dante's
 * user/password method, over /etc/passwd, /etc/shadow and /etc/group (a test user that exists nowhere else).
 * Processes are stopped by PID; their private files are removed.
 */
import { spawn, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryConnect } from '../harness/server-process.ts';
import { BoundedText } from '../harness/bounded-text.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';

/** The server's name as only the proxies know it. */
export const SERVER_NAME = 'vpn.sebridge-proxy.test';

export interface ProxyProcess {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Which proxy programs are installed (the tests skip loudly without them; CI installs them via .ci/run). */
export function proxyCapability(): { ok: true } | { ok: false; reason: string } {
  for (const [bin, pkg] of [['/usr/bin/tinyproxy', 'tinyproxy'], ['/usr/sbin/danted', 'dante-server']] as const) {
    const r = spawnSync('test', ['-x', bin]);
    if (r.status !== 0) return { ok: false, reason: `${bin} missing: apt-get install ${pkg}` };
  }
  return { ok: true };
}

class Running implements ProxyProcess {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #log = new BoundedText(64 * 1024);
  readonly #dir: string;
  #exited: Promise<void>;
  #running = true;

  constructor(host: string, port: number, dir: string, netns: string, binds: Record<string, string>, program: string[]) {
    this.host = host;
    this.port = port;
    this.#dir = dir;
    const mounts = Object.entries(binds).map(([target, source]) => `mount --bind '${source}' '${target}'`).join(' && ');
    const argv = ['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', netns, 'unshare', '--mount', '--propagation', 'private',
      'sh', '-c', `${mounts} && exec "$@"`, 'proxy', ...program];
    this.#child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.#child.pid === undefined) throw new Error(`could not spawn ${program[0]}`);
    this.pid = this.#child.pid;
    this.#child.stdout?.on('data', (b: Buffer) => this.#log.push(b));
    this.#child.stderr?.on('data', (b: Buffer) => this.#log.push(b));
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', () => {
        this.#running = false;
        resolve();
      });
      this.#child.once('error', () => {
        this.#running = false;
        resolve();
      });
    });
  }

  log(): string {
    return this.#log.text();
  }

  async waitListening(program: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.#running) throw new Error(`${program} exited before listening on ${this.host}:${this.port}:\n${this.log().slice(-3000)}`);
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${this.pid}/exe`);
      } catch {
        // gone or not yet exec'd
      }
      if (exe.endsWith(program) && (await tryConnect(this.host, this.port, 500))) return;
      if (Date.now() > deadline) throw new Error(`${program} not listening on ${this.host}:${this.port}:\n${this.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.#running) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      await this.#exited;
      clearTimeout(t);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function privateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sebridge-proxy-'));
  chmodSync(dir, 0o755); // the proxies drop to nobody after start
  return dir;
}

function hostsFile(dir: string): string {
  const p = join(dir, 'hosts');
  writeFileSync(p, `127.0.0.1\tlocalhost\n127.0.0.1\t${SERVER_NAME}\n`, { mode: 0o644 });
  return p;
}

let nextPort = 20000 + (process.pid % 20000);
function freshPort(): number {
  nextPort = nextPort >= 45000 ? 20000 : nextPort + 1;
  return nextPort;
}

/** tinyproxy (HTTP CONNECT to port 5555 only), optionally with Basic auth. */
export async function startTinyproxy(server: SoftEtherServer, auth?: { user: string; password: string }): Promise<ProxyProcess> {
  const dir = privateDir();
  const port = freshPort();
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(conf, [
    'User nobody',
    'Group nogroup',
    `Port ${port}`,
    `Listen ${server.host}`,
    'Timeout 600',
    'MaxClients 100',
    'LogLevel Info',
    `PidFile "${join(dir, 'tinyproxy.pid')}"`,
    `ConnectPort ${server.port}`,
    ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
    '',
  ].join('\n'), { mode: 0o644 });
  const p = new Running(server.host, port, dir, server.netns, { '/etc/hosts': hostsFile(dir) }, ['/usr/bin/tinyproxy', '-d', '-c', conf]);
  try {
    await p.waitListening('tinyproxy');
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}

/** danted: SOCKS4/4a and SOCKS5 without authentication, or SOCKS5 with user/password (RFC 1929). */
export async function startDante(server: SoftEtherServer, auth?: { user: string; password: string }): Promise<ProxyProcess> {
  const dir = privateDir();
  const port = freshPort();
  const conf = join(dir, 'danted.conf');
  writeFileSync(conf, [
    'logoutput: stderr',
    `internal: ${server.host} port = ${port}`,
    'external: 127.0.0.1',
    'clientmethod: none',
    `socksmethod: ${auth ? 'username' : 'none'}`,
    'user.privileged: root',
    'user.unprivileged: nobody',
    `client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }`,
    `socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect }`,
    '',
  ].join('\n'), { mode: 0o644 });
  const binds: Record<string, string> = { '/etc/hosts': hostsFile(dir) };
  if (auth) {
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${auth.password}\n`, encoding: 'utf8' }).trim();
    const passwd = join(dir, 'passwd');
    const shadow = join(dir, 'shadow');
    const group = join(dir, 'group');
    writeFileSync(passwd, `root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n${auth.user}:x:64990:65534::/nonexistent:/usr/sbin/nologin\n`, { mode: 0o644 });
    writeFileSync(shadow, `root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n${auth.user}:${hash}:19000:0:99999:7:::\n`, { mode: 0o600 });
    writeFileSync(group, 'root:x:0:\nnogroup:x:65534:\n', { mode: 0o644 });
    Object.assign(binds, { '/etc/passwd': passwd, '/etc/shadow': shadow, '/etc/group': group });
  }
  const p = new Running(server.host, port, dir, server.netns, binds, ['/usr/sbin/danted', '-f', conf, '-N', '1']);
  try {
    await p.waitListening('danted');
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}
