import test from 'ava';
import fc from 'fast-check';
import { compareShapes, formatShapeDiff, isSameShape, shapeOf, typeToken } from './shape.ts';

test('type tokens follow the key suffix and reject values that do not fit it', (t) => {
  t.is(typeToken('Port_u32', 5555), 'u32');
  t.is(typeToken('NumRetry_u32', 4294967295), 'u32');
  t.is(typeToken('Port_u32', 4294967296), 'number');
  t.is(typeToken('Port_u32', -1), 'number');
  t.is(typeToken('Port_u32', 1.5), 'number');
  t.is(typeToken('Port_u32', '5555'), 'string');
  t.is(typeToken('Total_u64', 12345678901234), 'u64');
  t.is(typeToken('Total_u64', '12345678901234'), 'string');
  t.is(typeToken('Online_bool', false), 'boolean');
  t.is(typeToken('Online_bool', 0), 'number');
  t.is(typeToken('Name_str', ''), 'string');
  t.is(typeToken('Name_utf', 'äö€'), 'string');
  t.is(typeToken('Time_dt', '1970-01-01T09:00:00.000Z'), 'datetime');
  t.is(typeToken('Time_dt', '2026-12-03T07:49:16Z'), 'string', 'no milliseconds');
  t.is(typeToken('Time_dt', 1764748156765), 'number');
  t.is(typeToken('Mac_bin', 'XjUDGLcz'), 'base64');
  t.is(typeToken('Key_bin', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='), 'base64');
  t.is(typeToken('Key_bin', 'not base64!'), 'string');
  t.is(typeToken('Key_bin', 'abc'), 'string', 'unpadded');
  t.is(typeToken('Ip_ip', '0.0.0.0'), 'ip');
  t.is(typeToken('Ip_ip', 'fe80::51:fbff:fe70:8bc1'), 'ip');
  t.is(typeToken('Ip_ip', '999.1.1.1'), 'string');
  t.is(typeToken('LinkList', []), 'array');
  t.is(typeToken('Whatever', null), 'null');
  t.is(typeToken('Nested', {}), 'object');
});

test('shapeOf: top-level keys, arrays as the union of their items, sorted', (t) => {
  const shape = shapeOf({
    LinkList: [
      { AccountName_utf: 'a', Online_bool: true },
      { AccountName_utf: 'b', LastError_u32: 9 },
    ],
    HubName_str: 'BRIDGE',
    'policy:MaxMac_u32': 0,
    'Recv.BroadcastBytes_u64': 266,
  });
  t.deepEqual(shape, {
    HubName_str: 'string',
    LinkList: 'array',
    'LinkList[].AccountName_utf': 'string',
    'LinkList[].LastError_u32': 'u32',
    'LinkList[].Online_bool': 'boolean',
    'Recv.BroadcastBytes_u64': 'u64',
    'policy:MaxMac_u32': 'u32',
  });
  t.deepEqual(Object.keys(shape), Object.keys(shape).slice().sort());
});

test('shapeOf: items that disagree on a type give a union; an empty array gives only the array key', (t) => {
  t.deepEqual(shapeOf({ L: [{ X_dt: '2026-12-03T07:49:16.765Z' }, { X_dt: 0 }], E: [] }), {
    E: 'array',
    L: 'array',
    'L[].X_dt': 'datetime|number',
  });
});

test('compareShapes reports missing, extra and mismatched keys; formatShapeDiff names each', (t) => {
  const expected = { A_str: 'string', B_u32: 'u32', 'L[].C_dt': 'datetime', L: 'array' };
  const actual = { A_str: 'string', B_u32: 'string', L: 'array', D_bool: 'boolean' };
  const diff = compareShapes(expected, actual);
  t.deepEqual(diff.missing, [{ path: 'L[].C_dt', type: 'datetime' }]);
  t.deepEqual(diff.extra, [{ path: 'D_bool', type: 'boolean' }]);
  t.deepEqual(diff.mismatched, [{ path: 'B_u32', expected: 'u32', actual: 'string' }]);
  t.false(isSameShape(diff));
  const text = formatShapeDiff(diff);
  t.regex(text, /^1 missing, 1 extra, 1 type mismatch/);
  t.regex(text, /missing +L\[\]\.C_dt: datetime/);
  t.regex(text, /extra +D_bool: boolean/);
  t.regex(text, /type +B_u32: expected u32, got string/);
  t.is(formatShapeDiff(compareShapes(expected, { ...expected })), '');
});

test('compareShapes: one member of a recorded union matches unless strict', (t) => {
  t.true(isSameShape(compareShapes({ X: 'base64|string' }, { X: 'base64' })));
  t.false(isSameShape(compareShapes({ X: 'base64|string' }, { X: 'base64' }, { strictUnions: true })));
  t.false(isSameShape(compareShapes({ X: 'base64|string' }, { X: 'u32' })));
});

test('formatShapeDiff stays bounded', (t) => {
  const expected = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`K${i}_u32`, 'u32']));
  const text = formatShapeDiff(compareShapes(expected, {}), 10);
  t.is(text.split('\n').length, 12);
  t.regex(text, /… 90 more$/);
});

test('property: a result always matches its own shape, and dropping any key is reported as missing', (t) => {
  const value = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), fc.string(), fc.constant(null));
  const key = fc.stringMatching(/^[A-Za-z]{1,8}_(u32|u64|str|utf|bool|dt|bin|ip)$/);
  fc.assert(
    fc.property(fc.dictionary(key, value, { minKeys: 1 }), (obj) => {
      const shape = shapeOf(obj);
      if (!isSameShape(compareShapes(shape, shapeOf(obj)))) return false;
      const [dropped] = Object.keys(obj);
      const rest = { ...obj };
      delete rest[dropped!];
      const diff = compareShapes(shape, shapeOf(rest));
      return diff.missing.length === 1 && diff.missing[0]!.path === dropped && diff.extra.length === 0;
    }),
  );
  t.pass();
});
