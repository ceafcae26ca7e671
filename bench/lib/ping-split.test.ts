// parsePingSplit: the bridge's share of each ping from a tcpdump -i any -n -tt of its LAN and uplink interfaces.
import test from 'ava';
import { parsePingSplit, parseServerSplit } from './ping-split.ts';

const LAN = 'sebpXlr';
const UP = 'sebpXur';
const req = (t: string, seq: number) => `${t} ${LAN} P   IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7, seq ${seq}, length 64`;
const rep = (t: string, seq: number) => `${t} ${LAN} Out IP 198.18.0.2 > 198.18.0.1: ICMP echo reply, id 7, seq ${seq}, length 64`;
const up = (t: string) => `${t} ${UP} Out IP 198.18.1.1.40000 > 198.18.1.2.5555: tcp 128`; // tcpdump -q
const down = (t: string) => `${t} ${UP} In  IP 198.18.1.2.5555 > 198.18.1.1.40000: Flags [P.], seq 1:129, ack 129, length 128`;

test('request and reply paths per ping; pings without all four packets are left out', (t) => {
  const lines = [
    req('100.000000', 1), up('100.000100'), down('100.000400'), rep('100.000450', 1),
    req('100.010000', 2), up('100.010300'), down('100.010700'), rep('100.010800', 2),
    req('100.020000', 3), up('100.020050'), rep('100.020500', 3), // reply without a record from the server: skipped
    `100.030000 ${LAN} Out IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7, seq 4, length 64`, // our own request: not counted
    'garbage line',
  ];
  const s = parsePingSplit(lines.join('\n'), LAN, UP);
  t.truthy(s);
  t.is(s!.pings, 2);
  t.is(Number(s!.requestP50Ms.toFixed(3)), 0.1);
  t.is(Number(s!.requestP99Ms.toFixed(3)), 0.3);
  t.is(Number(s!.replyP50Ms.toFixed(3)), 0.05);
  t.is(Number(s!.replyP99Ms.toFixed(3)), 0.1);
  t.is(Number(s!.bridgeP99Ms.toFixed(3)), 0.4);
  t.is(Number(s!.serverP50Ms.toFixed(3)), 0.3);
  t.is(Number(s!.serverP99Ms.toFixed(3)), 0.4);
});

test('nothing matched: undefined', (t) => {
  t.is(parsePingSplit('', LAN, UP), undefined);
  t.is(parsePingSplit([req('1.0', 1), rep('1.1', 1)].join('\n'), LAN, UP), undefined);
});

test('inside the server: record in -> request to host B, host B, reply -> record out; lo is ignored', (t) => {
  const lines = [
    '200.000000 sebtU In  IP 198.18.1.1.40000 > 198.18.1.2.5555: tcp 128',
    '200.000050 lo In  IP 127.0.0.1.50000 > 127.0.0.1.5555: tcp 300',
    '200.000100 sebtS Out IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7, seq 1, length 64',
    '200.000150 sebtS P   IP 198.18.0.2 > 198.18.0.1: ICMP echo reply, id 7, seq 1, length 64',
    '200.000350 sebtU Out IP 198.18.1.2.5555 > 198.18.1.1.40000: tcp 128',
    '200.010000 sebtU In  IP 198.18.1.1.40000 > 198.18.1.2.5555: tcp 128',
    '200.010300 sebtS Out IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7, seq 2, length 64',
    '200.010400 sebtS P   IP 198.18.0.2 > 198.18.0.1: ICMP echo reply, id 7, seq 2, length 64',
    '200.010500 sebtU Out IP 198.18.1.2.5555 > 198.18.1.1.40000: tcp 128',
  ];
  const s = parseServerSplit(lines.join('\n'));
  t.truthy(s);
  t.is(s!.pings, 2);
  t.is(Number(s!.requestP50Ms.toFixed(3)), 0.1);
  t.is(Number(s!.requestP99Ms.toFixed(3)), 0.3);
  t.is(Number(s!.hostBP50Ms.toFixed(3)), 0.05);
  t.is(Number(s!.replyP50Ms.toFixed(3)), 0.1);
  t.is(Number(s!.replyP99Ms.toFixed(3)), 0.2);
});
