import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Runs the built command (dist/, which `npm test` builds first), as a user would.
const BIN = fileURLToPath(new URL('../bin/sebridge.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

test('no command prints the usage and exits 0; an unknown one exits 2', (t) => {
  const none = run();
  t.is(none.status, 0);
  t.regex(none.stderr, /sebridge link --server HOST\[:PORT\]/);
  t.is(run('frobnicate').status, 2);
});

const bad: Array<[string[], RegExp]> = [
  [['link', '--hub', 'H', '--user', 'u', '--auth', 'anonymous'], /--server: is required/],
  [['link', '--server', '198.18.0.1:99999', '--hub', 'H', '--user', 'u', '--auth', 'anonymous'], /--server: must be a whole number from 1 to 65535/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u'], /--password-env: is required/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--password-env', 'SEB_TEST_UNSET_VAR'], /--password-env: environment variable SEB_TEST_UNSET_VAR is not set/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--connections', '40'], /--connections: must be a whole number from 1 to 32/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--pin', 'xyz'], /--pin: must be 64 hex digits/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--tap-bridge', 'br0'], /--tap-bridge: needs --tap NAME/],
  [['link', '--bogus'], /Unknown option '--bogus'/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy', 'http://u:pw@p:1'], /--proxy: put no password in the URL; use --proxy-password-env VAR/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy', 'gopher://p:1'], /--proxy: "gopher:\/\/p:1" is not http:\/\//],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy', 'socks5://p:70000'], /--proxy: must be a whole number from 1 to 65535/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy', 'socks5://p:1', '--proxy-password-env', 'SEB_TEST_UNSET_VAR'], /--proxy-password-env: environment variable SEB_TEST_UNSET_VAR is not set/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy', 'socks5://p:1', '--proxy-header', 'X: y'], /--proxy-header: is only for HTTP proxies/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy', 'http://p:1', '--proxy-header', 'no colon'], /--proxy-header: "no colon" is not a "Name: value" header line/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--proxy-header', 'X: y'], /--proxy: is required with --proxy-password-env and --proxy-header/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--insecure-accept-any-cert', '--pin', 'AB'.repeat(32)], /--insecure-accept-any-cert: contradicts --pin/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--ca', '/nonexistent/ca.pem'], /--ca: cannot read \/nonexistent\/ca\.pem/],
  [['link', '--server', '198.18.0.1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous', '--trust-file', '/etc/hostname'], /--trust-file: (\/etc\/hostname must hold exactly one|must be 64 hex digits)/],
];
for (const [args, message] of bad) {
  test(`refused with a message naming the flag: ${args.slice(1).join(' ')}`, (t) => {
    const r = run(...args);
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, message);
  });
}

for (const [name, value, message] of [
  ['SEBRIDGE_LAN_AQM', 'fq', /SEBRIDGE_LAN_AQM: must be one of codel, buffer, off, got "fq"/],
  ['SEBRIDGE_TLS_CIPHER', 'aes', /SEBRIDGE_TLS_CIPHER: must be one of auto, server, chacha20, got "aes"/],
] as const) {
  test(`a bad ${name} is refused at start by run and link, with the variable named`, (t) => {
    const link = ['link', '--server', '127.0.0.1:1', '--hub', 'H', '--user', 'u', '--auth', 'anonymous'];
    for (const args of [['run'], link]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, [name]: value } });
      t.is(r.status, 2, `${args[0]}: ${r.stderr}`);
      t.regex(r.stderr, message);
    }
  });
}
