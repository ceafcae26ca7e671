/**
 * `sebridge link` numeric flags are read strictly and range-checked before anything starts: --status-interval used
 * to accept any number of seconds, and beyond 2^31 ms setInterval overflows (Node then fires it every 1 ms);
 * Number() also took '', ' 8', '0x8' and '1e3'. Every refusal names the flag, exits 2, and starts nothing.
 */
import test from 'ava';
import { main, numberFlag, statusIntervalFlag, MAX_STATUS_INTERVAL_SEC } from '../../src/cli.ts';
import { runLink } from '../../src/link.ts';
import { parseCascadeOptions } from '../../src/session/options.ts';

const BASE = ['link', '--server', '127.0.0.1:1', '--hub', 'H', '--user', 'u', '--password-env', 'SEBT_CLI_PW'];

/** Run main() in this process with stderr captured; a run that got past validation would try to connect. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  process.env.SEBT_CLI_PW = 'pw';
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

const refused: Array<[flag: string, value: string]> = [
  ['--status-interval', '2147484'], // 2^31 ms and a bit: the old overflow
  ['--status-interval', '1e10'],
  ['--status-interval', '-1'],
  ['--status-interval', ''],
  ['--status-interval', '0.01'],
  ['--status-interval', 'Infinity'],
  ['--status-interval', String(MAX_STATUS_INTERVAL_SEC + 1)],
  ['--connections', '0'],
  ['--connections', '33'],
  ['--connections', '0x8'],
  ['--connections', ' 8'],
  ['--connections', '8.5'],
  ['--connections', ''],
];

for (const [flag, value] of refused) {
  test.serial(`${flag} "${value}" is refused with the flag named (exit 2)`, async (t) => {
    const { code, stderr } = await cli([...BASE, `${flag}=${value}`]);
    t.is(code, 2);
    t.regex(stderr, new RegExp(`^sebridge: ${flag}: must be`));
  });
}

test.serial('--server with a port out of range or not decimal is refused', async (t) => {
  for (const server of ['127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:99999999999999999999']) {
    const args = [...BASE];
    args[2] = server;
    const { code, stderr } = await cli(args);
    t.is(code, 2, server);
    t.regex(stderr, /^sebridge: --server: must be a whole number from 1 to 65535/, server);
  }
});

test('numberFlag and statusIntervalFlag accept what is in range', (t) => {
  t.is(numberFlag('--connections', '1', 1, 32), 1);
  t.is(numberFlag('--connections', '32', 1, 32), 32);
  t.is(statusIntervalFlag(undefined), 0);
  t.is(statusIntervalFlag('0'), 0);
  t.is(statusIntervalFlag('0.5'), 0.5);
  t.is(statusIntervalFlag(String(MAX_STATUS_INTERVAL_SEC)), MAX_STATUS_INTERVAL_SEC);
});

test('runLink refuses a status interval setInterval cannot hold, before opening anything', async (t) => {
  const options = parseCascadeOptions({ host: '127.0.0.1', port: 1, hub: 'H', username: 'u', password: 'pw' });
  for (const statusIntervalMs of [2 ** 31, -1, 50, 1.5, Number.NaN]) {
    await t.throwsAsync(runLink({ options, statusIntervalMs }), { message: /^statusIntervalMs: must be 0 \(off\) or/ }, String(statusIntervalMs));
  }
});
