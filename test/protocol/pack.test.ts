import test from 'ava';
import { readFileSync } from 'node:fs';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { byteSwap32 } from '../../src/protocol/node-info.ts';
import { DEFAULT_PACK_LIMITS, Pack, decodePack, encodePack } from '../../src/protocol/pack.ts';
import type { PackElement } from '../../src/protocol/pack.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const vectors = JSON.parse(fixture('vectors.json').toString('utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');

function isPackError(t: import('ava').ExecutionContext, fn: () => unknown, message?: RegExp) {
  const e = t.throws(fn, { instanceOf: ProtocolError, message });
  t.is(e?.layer, 'pack');
}

test('pack_small encodes byte for byte and decodes back', (t) => {
  const v = vectors.pack_small;
  const p = new Pack().addInt('build', 9674).addStr('hello', 'Hi').addData('random', hex('000102030405060708090a0b0c0d0e0f10111213')).addInt('version', 501);
  const bytes = encodePack(p);
  t.is(bytes.toString('hex'), v.hex);
  t.is(bytes.length, v.size);
  const q = decodePack(bytes);
  t.is(q.getInt('build'), 9674);
  t.is(q.getStr('hello'), 'Hi');
  t.is(q.getData('random')?.toString('hex'), '000102030405060708090a0b0c0d0e0f10111213');
  t.is(q.getInt('version'), 501);
  t.deepEqual(q.elements().map((e) => e.name), v.elements.map((e: { name: string }) => e.name));
});

// A one-element Pack = u32 count 1 + the element, which is how these single-element vectors are given.
const oneElement = (elementHex: string) => Buffer.concat([hex('00000001'), hex(elementHex)]);

test('UNISTR element from the real server: length counts the NUL, the NUL is sent and stripped', (t) => {
  const v = vectors.pack_unistr_element;
  const p = decodePack(oneElement(v.hex));
  t.is(p.getUniStr(v.name), v.value);
  t.is(p.getStr(v.name), undefined, 'typed look-up: a UNISTR is not a STR');
  t.is(encodePack(new Pack().addUniStr(v.name, v.value)).subarray(4).toString('hex'), v.hex);
});

test('INT64 element from the real server', (t) => {
  const v = vectors.pack_int64_element;
  const p = decodePack(oneElement(v.hex));
  t.is(p.getInt64(v.name), BigInt(v.value));
  t.is(p.getInt(v.name), undefined, 'an INT64 is not an INT');
  t.is(encodePack(new Pack().addInt64(v.name, BigInt(v.value))).subarray(4).toString('hex'), v.hex);
});

test('IPv4 addresses are byte-reversed INTs with optional companions', (t) => {
  for (const ex of vectors.pack_ipv4.examples) {
    const p = new Pack().addIp('ip', ex.ip);
    t.is(p.getInt('ip'), ex.int_value);
    const wire = encodePack(p);
    // element 'ip': count(4) namelen(4) name(2) type(4) nvalues(4) value(4)
    t.is(wire.subarray(18, 22).toString('hex'), ex.wire_hex);
    const q = decodePack(wire);
    t.is(q.getIp('ip'), ex.ip);
    t.is(q.getInt('ip@ipv6_bool'), 0);
    t.is(q.getData('ip@ipv6_array')?.toString('hex'), '00'.repeat(16));
    t.is(q.getInt('ip@ipv6_scope_id'), 0);
    // Companions are optional for readers.
    t.is(new Pack().addInt('bare', ex.int_value).getIp('bare'), ex.ip);
  }
  t.is(new Pack().getIp('nothing'), undefined);
  t.throws(() => new Pack().addIp('x', '1.2.3.256'), { instanceOf: RangeError });
  t.throws(() => new Pack().addIp('x', '::1'), { instanceOf: RangeError });
  t.throws(() => new Pack().addIp('x'.repeat(60), '1.2.3.4'), { instanceOf: RangeError }, 'companion name would exceed 63');
});

test('getIp uses the IPv6 companion when @ipv6_bool is 1', (t) => {
  const v6 = hex('20010db8000000000000000000000001');
  const p = new Pack().addInt('a', 0).addInt('a@ipv6_bool', 1).addData('a@ipv6_array', v6);
  t.is(p.getIp('a'), '2001:db8::1');
  const mapped = new Pack().addInt('m', 0).addInt('m@ipv6_bool', 1).addData('m@ipv6_array', hex('00000000000000000000ffffc0a8010a'));
  t.is(mapped.getIp('m'), '192.168.1.10');
  const full = new Pack().addInt('f@ipv6_bool', 1).addData('f@ipv6_array', hex('fe800001000200030004000500060007'));
  t.is(full.getIp('f'), 'fe80:1:2:3:4:5:6:7');
});

test('node-info INTs are byte-swapped as in the real login', (t) => {
  const login = decodePack(fixture('real_cascade_login_pack.bin'));
  for (const ex of vectors.node_info_swapped_ints.examples) {
    t.is(byteSwap32(ex.logical), ex.int_value);
    t.is(byteSwap32(ex.int_value), ex.logical);
    t.is(login.getInt(ex.field), ex.int_value);
    const wire = encodePack(new Pack().addInt(ex.field, byteSwap32(ex.logical)));
    t.is(wire.subarray(wire.length - 4).toString('hex'), ex.wire_hex);
  }
});

function checkFields(t: import('ava').ExecutionContext, p: Pack, fields: Record<string, { type: string; value?: unknown; len?: number; hex?: string }>) {
  for (const [name, f] of Object.entries(fields)) {
    switch (f.type) {
      case 'INT':
        t.is(p.getInt(name), f.value as number, name);
        break;
      case 'STR':
        t.is(p.getStr(name), f.value as string, name);
        break;
      case 'DATA': {
        const d = p.getData(name);
        t.is(d?.length, f.len, name);
        const h = (f.hex ?? '').replace(/\.\.\.$/, '');
        t.is(d?.toString('hex').slice(0, h.length), h, name);
        break;
      }
      default:
        t.fail(`unexpected field type ${f.type}`);
    }
  }
}

const realPacks = [
  ['server_hello', 'real_server_hello_pack.bin'],
  ['server_welcome', 'real_server_welcome_pack.bin'],
  ['cascade_login', 'real_cascade_login_pack.bin'],
  ['cascade_additional_connect', 'real_cascade_additional_connect_pack.bin'],
] as const;

for (const [key, file] of realPacks) {
  test(`real ${key} Pack: every field decodes, re-encodes byte for byte`, (t) => {
    const bytes = fixture(file);
    const v = vectors.real_packs[key];
    if (v.hex) t.is(bytes.toString('hex'), v.hex);
    if (v.size) t.is(bytes.length, v.size);
    const p = decodePack(bytes);
    t.is(p.size, Object.keys(v.fields).length);
    checkFields(t, p, v.fields);
    t.true(encodePack(p).equals(bytes));
    // Rebuilding from the element list through the public API gives the same bytes too.
    const rebuilt = new Pack();
    for (const el of p.elements()) rebuilt.addElement(el);
    t.true(encodePack(rebuilt).equals(bytes));
  });
}

test('real cascade login keeps the stock element order', (t) => {
  const p = decodePack(fixture('real_cascade_login_pack.bin'));
  t.deepEqual(p.elements().map((e) => e.name), vectors.real_packs.cascade_login.element_order);
  t.is(p.getIp('ClientIpAddress'), '127.0.0.1');
});

test('admin RPC Test packs decode and re-encode (INT, INT64, STR, UNISTR)', (t) => {
  for (const file of ['admin_rpc_test_request_pack.bin', 'real_admin_rpc_test_response_pack.bin']) {
    const bytes = fixture(file);
    const p = decodePack(bytes);
    t.is(p.getInt('IntValue'), 0x01020304);
    t.is(p.getInt64('Int64Value'), 0x1122334455667788n);
    t.is(p.getUniStr('UniStrValue'), 'héllo ✓');
    t.true(encodePack(p).equals(bytes));
  }
});

test('look-ups are case-insensitive and typed', (t) => {
  const p = new Pack().addInt('use_encrypt', 1).addStr('Name', '  padded\t').addInt64('big', 5n).addBool('flag', true);
  t.is(p.getInt('USE_ENCRYPT'), 1);
  t.true(p.has('name'));
  t.is(p.getStr('NAME'), 'padded', 'trimmed of spaces and tabs');
  t.is(p.getInt('big'), undefined);
  t.false(p.getBool('big'), 'an INT64 is not a bool');
  t.true(p.getBool('flag'));
  t.false(p.getBool('missing'));
  t.is(p.getData('name'), undefined);
  t.is(p.getUniStr('Name'), undefined);
  t.is(p.size, 4);
  t.is(new Pack().addStr('s', '\n x \n').getStr('s'), '\n x \n', 'only spaces and tabs are trimmed');
});

test('int arrays', (t) => {
  const p = decodePack(encodePack(new Pack().addIntArray('Port', [443, 992, 5555]).addIntArray('none', [])));
  t.deepEqual(p.getIntArray('port'), [443, 992, 5555]);
  t.is(p.getInt('Port'), 443);
  t.deepEqual(p.getIntArray('none'), []);
  t.is(p.getInt('none'), undefined);
  t.deepEqual(p.getIntArray('missing'), []);
});

test('writer rejects duplicates, bad names and out-of-range values', (t) => {
  const p = new Pack().addInt('x', 1);
  t.throws(() => p.addStr('X', 'dup'), { message: /duplicate/ });
  t.throws(() => p.addInt('', 1), { instanceOf: RangeError });
  t.throws(() => p.addInt('a'.repeat(64), 1), { instanceOf: RangeError });
  t.notThrows(() => new Pack().addInt('a'.repeat(63), 1));
  t.throws(() => p.addInt('naïve', 1), { instanceOf: RangeError });
  t.throws(() => p.addInt('y', -1), { instanceOf: RangeError });
  t.throws(() => p.addInt('y', 2 ** 32), { instanceOf: RangeError });
  t.throws(() => p.addInt('y', 1.5), { instanceOf: RangeError });
  t.throws(() => p.addInt64('y', -1n), { instanceOf: RangeError });
  t.throws(() => p.addInt64('y', 1n << 64n), { instanceOf: RangeError });
  t.is(p.size, 1, 'failed adds leave the Pack unchanged');
});

test('round trip of every type including empty and multi-byte values', (t) => {
  const els: PackElement[] = [
    { name: 'i', type: 'int', values: [0, 0xffffffff] },
    { name: 'l', type: 'int64', values: [0n, 0xffffffffffffffffn] },
    { name: 'd', type: 'data', values: [Buffer.alloc(0), Buffer.from([1, 2, 3])] },
    { name: 's', type: 'str', values: ['', 'ü€'] },
    { name: 'u', type: 'unistr', values: ['', '日本'] },
  ];
  const p = new Pack();
  for (const el of els) p.addElement(el);
  t.deepEqual([...decodePack(encodePack(p)).elements()], els);
});

// Hand-built wire bytes for decoder error cases.
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const el = (name: string, type: number, values: Buffer[]) =>
  Buffer.concat([u32(name.length + 1), Buffer.from(name, 'latin1'), u32(type), u32(values.length), ...values]);
const pack = (...elements: Buffer[]) => Buffer.concat([u32(elements.length), ...elements]);

test('decoder rejects malformed Packs with ProtocolError', (t) => {
  isPackError(t, () => decodePack(Buffer.alloc(0)), /truncated/);
  isPackError(t, () => decodePack(Buffer.from([0, 0, 1])), /truncated/);
  isPackError(t, () => decodePack(Buffer.concat([u32(1), u32(0), u32(0), u32(0)])), /name length 0/);
  isPackError(t, () => decodePack(pack(el('', 0, []))), /empty name/);
  isPackError(t, () => decodePack(pack(el('a', 0, [u32(1)]), el('A', 0, [u32(2)]))), /duplicate/);
  isPackError(t, () => decodePack(pack(el('a', 5, []))), /unknown type/);
  isPackError(t, () => decodePack(pack(el('a\x01', 0, []))), /non-printable/);
  isPackError(t, () => decodePack(pack(el('a\xe9', 0, []))), /non-printable/);
  isPackError(t, () => decodePack(pack(el('a', 0, [u32(1)])).subarray(0, -1)), /larger than the data|truncated/);
  isPackError(t, () => decodePack(pack(el('a', 1, [Buffer.concat([u32(10), Buffer.alloc(9)])]))), /truncated/);
  isPackError(t, () => decodePack(pack(el('a', 4, [u32(1)]))), /larger than the data/);
});

test('decoder checks counts against the remaining bytes before allocating', (t) => {
  // Huge counts in a tiny buffer must fail fast, not allocate.
  isPackError(t, () => decodePack(Buffer.concat([u32(0xfffffffe), Buffer.alloc(20)]), { maxElements: 0xffffffff }), /element count/);
  const bigValues = Buffer.concat([u32(1), u32(2), Buffer.from('a'), u32(0), u32(0x7fffffff), Buffer.alloc(16)]);
  isPackError(t, () => decodePack(bigValues, { maxValuesPerElement: 0xffffffff }), /value count/);
  const bigData = pack(el('a', 1, [Buffer.concat([u32(0xffffffff), Buffer.alloc(8)])]));
  isPackError(t, () => decodePack(bigData, { maxValueBytes: 0xffffffff }), /truncated/);
});

test('decoder limits', (t) => {
  t.is(DEFAULT_PACK_LIMITS.maxBytes, 65536);
  isPackError(t, () => decodePack(Buffer.alloc(65537)), /exceeds/);
  const many = pack(...Array.from({ length: 5 }, (_, i) => el(`e${i}`, 0, [])));
  t.is(decodePack(many).size, 5);
  isPackError(t, () => decodePack(many, { maxElements: 4 }), /limit/);
  const values = pack(el('a', 0, [u32(1), u32(2), u32(3)]));
  isPackError(t, () => decodePack(values, { maxValuesPerElement: 2 }), /limit/);
  const data = pack(el('a', 1, [Buffer.concat([u32(3), Buffer.from('abc')])]));
  t.is(decodePack(data).getData('a')?.toString(), 'abc');
  isPackError(t, () => decodePack(data, { maxValueBytes: 2 }), /limit/);
});

test('decoder tolerates what the C reader tolerates', (t) => {
  // Trailing bytes are ignored.
  t.is(decodePack(Buffer.concat([pack(el('a', 0, [u32(7)])), Buffer.from('junk')])).getInt('a'), 7);
  // Names over 63 characters are cut to 63.
  const long = 'n'.repeat(70);
  const p = decodePack(pack(el(long, 0, [u32(1)])));
  t.is(p.elements()[0].name, 'n'.repeat(63));
  t.is(p.getInt('n'.repeat(63)), 1);
  // A UNISTR without its NUL keeps all bytes; with one, exactly one NUL is stripped.
  t.is(decodePack(pack(el('u', 3, [Buffer.concat([u32(2), Buffer.from('hi')])]))).getUniStr('u'), 'hi');
  t.is(decodePack(pack(el('u', 3, [Buffer.concat([u32(3), Buffer.from('a\0\0')])]))).getUniStr('u'), 'a\0');
  // Zero-value elements exist but read as absent.
  const z = decodePack(pack(el('z', 0, [])));
  t.true(z.has('z'));
  t.is(z.getInt('z'), undefined);
  // DATA values are copies, not views of the input.
  const input = pack(el('d', 1, [Buffer.concat([u32(2), Buffer.from([9, 9])])]));
  const d = decodePack(input).getData('d')!;
  input.fill(0);
  t.deepEqual([...d], [9, 9]);
});
