import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickFreeSlash30, type Slash30 } from './addresses.ts';
import { serverCapability } from './capability.ts';
import { csvItems, csvRecords } from './csv.ts';
import { HarnessError } from './errors.ts';
import { ensureMountTargets, SOFTETHER_PATHS } from './jail.ts';
import { randomNames, type InstanceNames } from './names.ts';
import { runCommand, type CommandResult } from './run-command.ts';
import { protect } from './safety-net.ts';
import { disableInternetFeatures } from './server-config.ts';
import { ServerProcess } from './server-process.ts';
import { readTemplate, saveTemplate } from './template.ts';
import { buildNetwork, makeInstanceDir, removeInstance } from './topology.ts';
import { runVpncmd, runVpncmdCsv, runVpncmdScript, type VpncmdTarget } from './vpncmd.ts';

export { serverCapability } from './capability.ts';
export { makeClientCert } from './client-cert.ts';
export { killTcpConnections } from './tcp-kill.ts';
export { HarnessError, VpncmdError } from './errors.ts';

export interface SessionSummary {
  name: string;
  user: string;
  sourceHost: string;
  raw: Record<string, string>;
}

export interface SessionDetail {
  tcpConnections: number;
  bridgeMode: boolean;
  raw: Record<string, string>;
}

export interface SoftEtherServer {
  readonly netns: string;
  /** the server's address, 198.18.N.2 */
  readonly host: string;
  readonly port: number;
  /** the root-namespace end of the veth, 198.18.N.1: the address the server sees the engine as */
  readonly clientAddress: string;
  /** current server process (changes on restart) */
  readonly pid: number;
  readonly adminPassword: string;
  /** private directory with lib/ (vpn_server.config) log/ run/ tmp/ */
  readonly dir: string;
  vpncmd(command: string, args?: string[], opts?: { hub?: string }): Promise<string>;
  vpncmdCsv(command: string, args?: string[], opts?: { hub?: string }): Promise<string[][]>;
  /** Writes the running configuration to disk (the helpers below do it themselves), so restart() after a SIGKILL keeps it. */
  flush(): Promise<void>;
  createHub(hub: string): Promise<void>;
  createPasswordUser(hub: string, user: string, password: string): Promise<void>;
  createAnonymousUser(hub: string, user: string): Promise<void>;
  createCertUser(hub: string, user: string, certPem: string): Promise<void>;
  enableSecureNat(hub: string): Promise<void>;
  listSessions(hub: string): Promise<SessionSummary[]>;
  getSession(hub: string, name: string): Promise<SessionDetail>;
  signal(sig: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL' | 'SIGTERM'): void;
  restart(): Promise<void>;
  waitListening(timeoutMs?: number): Promise<void>;
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Last part of the server's own log (its stdout in --foreground mode), for failure messages. */
  logTail(maxChars?: number): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Default: the password the cached template was made with (no extra vpncmd call). */
  adminPassword?: string;
  /** false: do the one-time setup on this instance and neither read nor write the cache (for measuring). */
  useTemplate?: boolean;
  /** Keep UDP acceleration enabled on hubs made by createHub (off by default for like-for-like tests). */
  udpAcceleration?: boolean;
}

const PORT = 5555;
const UNUSED_LISTENERS = ['443', '992', '1194'];
const NAME_RE = /^[A-Za-z0-9_.-]{1,63}$/;
const PASSWORD_RE = /^[\x21-\x7e]{1,255}$/;

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) throw new HarnessError(`bad ${kind} name ${JSON.stringify(name)} (letters, digits, _ . -)`);
}

function checkPassword(pw: string): void {
  if (!PASSWORD_RE.test(pw) || pw.includes('"') || pw.startsWith('/')) {
    throw new HarnessError('password must be printable ASCII without spaces or quotes and not start with /');
  }
}

class Instance implements SoftEtherServer {
  readonly netns: string;
  readonly host: string;
  readonly port = PORT;
  readonly clientAddress: string;
  readonly dir: string;
  adminPassword = '';
  private readonly names: InstanceNames;
  private readonly udpAcceleration: boolean;
  private process: ServerProcess | undefined;
  private stopping: Promise<void> | undefined;
  private readonly unprotect: () => void;

  constructor(names: InstanceNames, net: Slash30, udpAcceleration: boolean) {
    this.names = names;
    this.netns = names.netns;
    this.dir = names.dir;
    this.host = net.server;
    this.clientAddress = net.client;
    this.udpAcceleration = udpAcceleration;
    this.unprotect = protect(() => this.teardownNow());
  }

  get pid(): number {
    if (!this.process) throw new HarnessError('server not started');
    return this.process.pid;
  }

  get configPath(): string {
    return join(this.dir, 'lib', 'vpn_server.config');
  }

  private get target(): VpncmdTarget {
    return { netns: this.netns, dir: this.dir, port: this.port, adminPassword: this.adminPassword };
  }

  /** Starts vpnserver on whatever is in lib/ and waits until it accepts TCP from the root namespace. */
  async launch(timeoutMs = 15_000): Promise<void> {
    if (this.stopping) throw new HarnessError('server has been stopped');
    this.process = new ServerProcess(this.netns, this.dir);
    await this.process.waitListening(this.host, this.port, timeoutMs);
  }

  async vpncmd(command: string, args: string[] = [], opts: { hub?: string } = {}): Promise<string> {
    return runVpncmd(this.target, command, args, opts);
  }

  async vpncmdCsv(command: string, args: string[] = [], opts: { hub?: string } = {}): Promise<string[][]> {
    return runVpncmdCsv(this.target, command, args, opts);
  }

  async flush(): Promise<void> {
    await this.vpncmd('Flush');
  }

  /** Several commands over one admin connection; each helper ends with Flush so a SIGKILL +
   * restart() keeps what it made (the server otherwise saves its config only now and then). */
  async script(commands: string[][], hub?: string): Promise<string> {
    return runVpncmdScript(this.target, commands, hub === undefined ? {} : { hub });
  }

  async setAdminPassword(pw: string): Promise<void> {
    checkPassword(pw);
    await this.script([['ServerPasswordSet', pw], ['Flush']]);
    this.adminPassword = pw;
  }

  async createHub(hub: string): Promise<void> {
    checkName('hub', hub);
    await this.script([
      ['HubCreate', hub, `/PASSWORD:${this.adminPassword || randomBytes(8).toString('hex')}`],
      ['Hub', hub],
      // The packet log is on by default and, in --foreground mode, floods stdout; the security
      // log adds a line per login attempt.
      ['LogDisable', 'packet'],
      ['LogDisable', 'security'],
      // An *extended* hub option: AdminOptionSet rejects this name with error 29.
      ...(this.udpAcceleration ? [] : [['ExtOptionSet', 'DisableUdpAcceleration', '/VALUE:1']]),
      ['Flush'],
    ]);
  }

  private userCommands(hub: string, user: string): string[][] {
    checkName('hub', hub);
    checkName('user', user);
    return [['UserCreate', user, '/GROUP:none', '/REALNAME:none', '/NOTE:none']];
  }

  async createPasswordUser(hub: string, user: string, password: string): Promise<void> {
    checkPassword(password);
    await this.script([...this.userCommands(hub, user), ['UserPasswordSet', user, `/PASSWORD:${password}`], ['Flush']], hub);
  }

  async createAnonymousUser(hub: string, user: string): Promise<void> {
    await this.script([...this.userCommands(hub, user), ['UserAnonymousSet', user], ['Flush']], hub);
  }

  async createCertUser(hub: string, user: string, certPem: string): Promise<void> {
    if (!certPem.includes('-----BEGIN CERTIFICATE-----')) throw new HarnessError('createCertUser needs a PEM certificate');
    const commands = this.userCommands(hub, user);
    // vpncmd reads the file from its own view of the filesystem, where our tmp/ is /tmp.
    const name = `cert-${randomBytes(6).toString('hex')}.cer`;
    const hostPath = join(this.dir, 'tmp', name);
    writeFileSync(hostPath, certPem);
    try {
      await this.script([...commands, ['UserCertSet', user, `/LOADCERT:${SOFTETHER_PATHS.tmp}/${name}`], ['Flush']], hub);
    } finally {
      rmSync(hostPath, { force: true });
    }
  }

  async enableSecureNat(hub: string): Promise<void> {
    checkName('hub', hub);
    // A new hub's SecureNAT defaults are the ones we want (virtual host 192.168.30.1/24, DHCP
    // .10-.200); the host is set explicitly anyway so a hub changed earlier ends up the same.
    await this.script([
      ['SecureNatHostSet', '/MAC:none', '/IP:192.168.30.1', '/MASK:255.255.255.0'],
      ['SecureNatEnable'],
      ['Flush'],
    ], hub);
  }

  async listSessions(hub: string): Promise<SessionSummary[]> {
    checkName('hub', hub);
    const records = csvRecords(await this.vpncmdCsv('SessionList', [], { hub }));
    return records.map((raw) => ({
      name: raw['Session Name'] ?? '',
      user: raw['User Name'] ?? '',
      sourceHost: raw['Source Host Name'] ?? '',
      raw,
    }));
  }

  /**
   * SessionGet's "Item,Value" table. Rows used (5.01 build 9674 wording):
   * - "Number of TCP Connections": current count of TCP connections in the session
   *   (0 for SecureNAT, which has none);
   * - "Bridge / Router Mode": "Yes" when the session was granted bridge/routing mode.
   */
  async getSession(hub: string, name: string): Promise<SessionDetail> {
    checkName('hub', hub);
    checkName('session', name);
    const raw = csvItems(await this.vpncmdCsv('SessionGet', [name], { hub }));
    const tcp = raw['Number of TCP Connections'];
    const bridge = raw['Bridge / Router Mode'];
    if (tcp === undefined || !/^\d+$/.test(tcp) || (bridge !== 'Yes' && bridge !== 'No')) {
      throw new HarnessError(`SessionGet ${name}: unexpected output`, JSON.stringify(raw, null, 1));
    }
    return { tcpConnections: Number(tcp), bridgeMode: bridge === 'Yes', raw };
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL' | 'SIGTERM'): void {
    if (!this.process) throw new HarnessError('server not started');
    this.process.signal(sig);
  }

  async restart(): Promise<void> {
    if (this.process && !(await this.process.waitExit(5000))) {
      throw new HarnessError(`restart(): server ${this.process.pid} is still running; signal SIGKILL or SIGTERM first`);
    }
    await this.launch();
  }

  async waitListening(timeoutMs = 15_000): Promise<void> {
    if (!this.process) throw new HarnessError('server not started');
    await this.process.waitListening(this.host, this.port, timeoutMs);
  }

  async exec(argv: string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
    if (argv.length === 0) throw new HarnessError('exec needs a command');
    return runCommand(['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', this.netns, ...argv], { timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  logTail(maxChars = 4000): string {
    return this.process ? this.process.log.text().slice(-maxChars) : '';
  }

  /** SIGTERM, then SIGKILL; then namespace, veth, /etc/netns entry and private directory go. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.process?.stop();
      } finally {
        const problems = removeInstance(this.names);
        this.unprotect();
        if (problems.length > 0) throw new HarnessError(`stop(): could not remove everything for ${this.netns}`, problems.join('\n'));
      }
    })();
    return this.stopping;
  }

  /** For the exit safety net: no awaiting possible there. */
  private teardownNow(): void {
    if (this.process?.running) {
      try {
        process.kill(this.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    removeInstance(this.names);
  }

  /**
   * One-time setup of a server that started from no config at all (see the test docs):
   * admin password, only the 5555 listener, no keep-alive; then stop (SIGTERM saves the config),
   * switch off DDNS and NAT traversal in the file, and start again.
   */
  async setUpFresh(adminPassword: string): Promise<void> {
    await this.script([
      ['ServerPasswordSet', adminPassword],
      ...UNUSED_LISTENERS.map((port) => ['ListenerDelete', port]),
      ['KeepDisable'],
    ]);
    this.adminPassword = adminPassword;
    await this.process?.stop();
    writeFileSync(this.configPath, disableInternetFeatures(readFileSync(this.configPath, 'utf8')));
  }
}

/**
 * Starts a real SoftEther VPN Server in its own network namespace, reachable from the test
 * process at `host:5555` over a veth pair. Throws HarnessError when the machine cannot do it (call
 * serverCapability() first to skip loudly instead).
 */
export async function startServer(opts: StartOptions = {}): Promise<SoftEtherServer> {
  const cap = serverCapability();
  if (!cap.ok) throw new HarnessError(`cannot run the SoftEther server here: ${cap.reason}`);
  if (opts.adminPassword !== undefined) checkPassword(opts.adminPassword);
  ensureMountTargets();
  const names = randomNames();
  const net = await pickFreeSlash30();
  const inst = new Instance(names, net, opts.udpAcceleration ?? false);
  try {
    makeInstanceDir(names);
    await buildNetwork(names, net);
    const template = opts.useTemplate === false ? undefined : readTemplate();
    if (template) {
      copyFileSync(template.configPath, inst.configPath);
      inst.adminPassword = template.meta.adminPassword;
      await inst.launch();
    } else {
      await inst.launch();
      const pw = randomBytes(12).toString('hex');
      await inst.setUpFresh(pw);
      if (opts.useTemplate !== false) saveTemplate(inst.configPath, pw);
      await inst.launch();
    }
    if (opts.adminPassword !== undefined && opts.adminPassword !== inst.adminPassword) {
      await inst.setAdminPassword(opts.adminPassword);
    }
    return inst;
  } catch (e) {
    const tail = inst.logTail(2000);
    await inst.stop().catch(() => undefined);
    if (e instanceof HarnessError || !tail) throw e;
    throw new HarnessError(`startServer failed: ${(e as Error).message}`, tail);
  }
}
