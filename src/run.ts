import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Daemon } from './control/daemon.ts';
import { startHeapTrimmer } from './ports/heap-trim.ts';
import { helperPolicy, lowerHelperThreads, type HelperPolicy } from './ports/helper-threads.ts';
import { ConfigError } from './session/options.ts';
import { lanAqm, lanAqmNotes } from './ports/lan-aqm.ts';
import { describeTlsCipherChoice, processTlsCipherChoice } from './session/tls-cipher.ts';
import { embedded } from './embedded.ts';

export const RUN_USAGE = `usage:
  sebridge run [--data-dir DIR] [--runtime-dir DIR] [--web ADDR:PORT]

  --data-dir DIR        configuration and web certificate (default /var/lib/sebridge; the only place written on flash)
  --runtime-dir DIR     logs and crash-recovery records, on a RAM disk (default /run/sebridge)
  --web ADDR:PORT       web UI and SoftEther JSON-RPC admin API, HTTPS; plain HTTP on the same port only redirects
                        (default 0.0.0.0:443; [::]:443 for IPv6; port 0 picks a free port and prints it)
`;


/** Where `npm run build` puts the browser UI: dist/web next to the compiled dist/run.js. */
function defaultStaticDir(): string | null {
  const dir = fileURLToPath(new URL('./web/', import.meta.url));
  return existsSync(`${dir}index.html`) ? dir : null;
}

function version(): string {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
}

export function parseListen(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(flag, `"${value}" is not ADDR:PORT (e.g. 0.0.0.0:443, [::]:443, 127.0.0.1:8443)`);
  return { host: m[1] ?? m[2]!, port };
}

/** `sebridge run`: the appliance daemon in the foreground (a service manager or the image's init runs it). */
export async function runDaemon(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        'runtime-dir': { type: 'string' },
        web: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (e) {
    process.stderr.write(`sebridge: ${(e as Error).message}\n${RUN_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(RUN_USAGE);
    return 0;
  }
  let web;
  let helperPolicyWanted: HelperPolicy;
  const startupNotes: string[] = [];
  try {
    web = parseListen(values.web ?? '0.0.0.0:443', '--web');
    helperPolicyWanted = helperPolicy(process.env.SEBRIDGE_HELPER_POLICY);
    // the ports read it when they open: refused here, at start
    startupNotes.push(...lanAqmNotes(lanAqm(process.env.SEBRIDGE_LAN_AQM), process.env.SEBRIDGE_IO_THREAD));
    // the cascades read it when they connect: refused (and, for auto, measured) here, at start
    startupNotes.push(describeTlsCipherChoice(processTlsCipherChoice()));
  } catch (e) {
    process.stderr.write(`sebridge: ${(e as Error).message}\n`);
    return 2;
  }
  // Signals are taken from the start: a SIGTERM while the daemon is still starting (NICs already bridged, web
  // server not yet up) must still give the interfaces back, not kill the process with the default action.
  let stopRequested!: (sig: string) => void;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: string) => stopRequested(sig);
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const daemon = await Daemon.start({
    dataDir: values['data-dir'] ?? '/var/lib/sebridge',
    runtimeDir: values['runtime-dir'] ?? '/run/sebridge',
    web,
    staticDir: embedded.staticDir !== undefined ? embedded.staticDir : defaultStaticDir(),
    version: embedded.version ?? version(),
    echo: (line) => process.stdout.write(`${line}\n`),
    startupNotes,
  });
  const trimmer = startHeapTrimmer();
  const lowered = lowerHelperThreads({ policy: helperPolicyWanted });
  if (lowered.failed.length) daemon.log.warn({ object: 'daemon', failed: lowered.failed }, 'could not move the V8 worker threads to SCHED_BATCH');
  daemon.log.info({ object: 'daemon' }, `${await stopSignal}: stopping`);
  trimmer.stop();
  await daemon.stop();
  return 0;
}
