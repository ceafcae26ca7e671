/**
 * The flaky "nsA found nsB by neighbour discovery" of raw-bridge.real.test.ts: the topology's random IPv6 prefix
 * was four random hex digits per group, e.g. "fd00:5eb:0abc:…", while `ip -j neigh` prints the canonical
 * "fd00:5eb:abc:…", and the check compared the two as strings. Whenever a group started with 0 (about one run in
 * eight) the entry was there but never matched: "got undefined". (The frame counters "stopping" were only the
 * 3 s wait with no traffic.) Now prefixes are canonical and entries are compared as addresses.
 */
import test from 'ava';
import { canonicalIp, resolvedNeighbour } from './netinfo.ts';
import { randomV6Prefix } from './e2e-topology.ts';

test('canonicalIp writes IPv6 the way ip prints it, and leaves IPv4 alone', (t) => {
  t.is(canonicalIp('fd00:5eb:0abc:0001::20'), 'fd00:5eb:abc:1::20');
  t.is(canonicalIp('FD00:05EB:0000:0000:0000:0000:0000:0020'), 'fd00:5eb::20');
  t.is(canonicalIp('fd00:5eb:abc:1::20'), 'fd00:5eb:abc:1::20');
  t.is(canonicalIp('198.18.3.20'), '198.18.3.20');
});

test('a neighbour entry is found whatever way its address was written', (t) => {
  // What `ip -6 -j neigh show` printed for an address the test had written as fd00:5eb:0abc:0001::20.
  const entries = [{ dst: 'fd00:5eb:abc:1::20', lladdr: 'be:a8:7c:32:22:2c', state: ['REACHABLE'] }];
  t.is(resolvedNeighbour(entries, 'fd00:5eb:0abc:0001::20'), 'be:a8:7c:32:22:2c');
  t.is(resolvedNeighbour(entries, 'fd00:5eb:abc:1::20'), 'be:a8:7c:32:22:2c');
  t.is(resolvedNeighbour([{ dst: 'fd00:5eb:abc:1::20', lladdr: 'be:a8:7c:32:22:2c', state: ['FAILED'] }], 'fd00:5eb:abc:1::20'), undefined);
  t.is(resolvedNeighbour([{ dst: 'fd00:5eb:abc:1::20', state: ['INCOMPLETE'] }], 'fd00:5eb:abc:1::20'), undefined);
  t.is(resolvedNeighbour(entries, 'fd00:5eb:abc:1::21'), undefined);
});

test('the topology\'s random IPv6 prefixes are always written canonically', (t) => {
  for (let i = 0; i < 20_000; i++) {
    const p = randomV6Prefix();
    for (const host of ['10', '20']) {
      const addr = `${p}::${host}`;
      if (canonicalIp(addr) !== addr) {
        t.fail(`${addr} is printed by ip as ${canonicalIp(addr)}`);
        return;
      }
    }
  }
  t.pass();
});
