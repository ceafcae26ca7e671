import { ProtocolError } from './errors.ts';

/**
 * SoftEther's "Pack": the typed key/value container every handshake message travels in
 * (protocol notes §3). Big-endian; names are case-insensitive and unique; look-ups are typed.
 */

export type PackValueType = 'int' | 'data' | 'str' | 'unistr' | 'int64';

export type PackElement =
  | { name: string; type: 'int'; values: number[] } // u32
  | { name: string; type: 'int64'; values: bigint[] }
  | { name: string; type: 'data'; values: Buffer[] }
  | { name: string; type: 'str'; values: string[] }
  | { name: string; type: 'unistr'; values: string[] };

type ElementOf<T extends PackValueType> = Extract<PackElement, { type: T }>;

export interface PackLimits {
  maxBytes: number;
  maxElements: number;
  maxValuesPerElement: number;
  maxValueBytes: number;
}

/**
 * The server refuses handshake Packs over 64 KiB (notes §2.4), and nothing a cascade receives comes
 * close (the real welcome is 2.4 KB), so 64 KiB also bounds what we accept.
 */
export const DEFAULT_PACK_LIMITS: PackLimits = Object.freeze({
  maxBytes: 65536,
  maxElements: 1024,
  maxValuesPerElement: 4096,
  maxValueBytes: 65536,
});

const TYPE_CODE = { int: 0, data: 1, str: 2, unistr: 3, int64: 4 } as const;
const TYPE_BY_CODE: readonly PackValueType[] = ['int', 'data', 'str', 'unistr', 'int64'];

/** The C reader keeps at most 63 name characters (notes §3). */
export const MAX_NAME_LENGTH = 63;
const NAME_RE = /^[\x20-\x7e]{1,63}$/;
const U64_MAX = (1n << 64n) - 1n;

// Element names are ASCII, so toLowerCase folds exactly A-Z, which is what the C StrCmpi does.
function nameKey(name: string): string {
  return name.toLowerCase();
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new RangeError(`Pack element name must be 1..${MAX_NAME_LENGTH} printable ASCII characters: ${JSON.stringify(name)}`);
  }
}

function checkU32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`Pack INT ${name} must be an integer 0..4294967295, got ${v}`);
  }
  return v;
}

function checkU64(name: string, v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
    throw new RangeError(`Pack INT64 ${name} must be a bigint 0..2^64-1, got ${String(v)}`);
  }
  return v;
}

function asBuffer(v: Uint8Array): Buffer {
  if (!(v instanceof Uint8Array)) throw new TypeError('Pack DATA values must be Uint8Array/Buffer');
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Receivers trim spaces and tabs off STR values (C NewStrValue); only those two characters. */
function trimSpacesTabs(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

function parseIpv4(ip: string): [number, number, number, number] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : [];
  if (parts.length !== 4 || parts.some((n) => n > 255)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return parts as [number, number, number, number];
}

/** RFC 5952 text for 16 bytes; an IPv4-mapped address is shown as plain IPv4. */
function formatIpv6(a: Buffer): string {
  const isMapped = a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
  if (isMapped) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(a.readUInt16BE(i));
  // Longest run (>= 2) of zero words becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

// Lets decodePack add already-validated elements without re-checking or re-copying them, while
// keeping that shortcut out of the public class surface.
let pushTrusted: (p: Pack, el: PackElement) => void;

export class Pack {
  #elements: PackElement[] = [];
  #byName = new Map<string, PackElement>();

  /** Adds a ready-made element (values are copied into a fresh array; DATA buffers are not copied). */
  addElement(el: PackElement): this {
    checkName(el.name);
    switch (el.type) {
      case 'int':
        return this.#push({ name: el.name, type: 'int', values: el.values.map((v) => checkU32(el.name, v)) });
      case 'int64':
        return this.#push({ name: el.name, type: 'int64', values: el.values.map((v) => checkU64(el.name, v)) });
      case 'data':
        return this.#push({ name: el.name, type: 'data', values: el.values.map(asBuffer) });
      case 'str':
      case 'unistr':
        for (const v of el.values) {
          if (typeof v !== 'string') throw new TypeError(`Pack ${el.type.toUpperCase()} ${el.name} values must be strings`);
        }
        return this.#push({ name: el.name, type: el.type, values: [...el.values] });
      default:
        throw new TypeError(`unknown Pack element type ${String((el as { type: unknown }).type)}`);
    }
  }

  addInt(name: string, v: number): this {
    checkName(name);
    return this.#push({ name, type: 'int', values: [checkU32(name, v)] });
  }

  addInt64(name: string, v: bigint): this {
    checkName(name);
    return this.#push({ name, type: 'int64', values: [checkU64(name, v)] });
  }

  /** There is no bool type on the wire: booleans are INT 0/1. */
  addBool(name: string, v: boolean): this {
    return this.addInt(name, v ? 1 : 0);
  }

  /** Keeps a reference to `v` (no copy): do not mutate it afterwards. */
  addData(name: string, v: Uint8Array): this {
    checkName(name);
    return this.#push({ name, type: 'data', values: [asBuffer(v)] });
  }

  addStr(name: string, v: string): this {
    checkName(name);
    if (typeof v !== 'string') throw new TypeError(`Pack STR ${name} must be a string`);
    return this.#push({ name, type: 'str', values: [v] });
  }

  addUniStr(name: string, v: string): this {
    checkName(name);
    if (typeof v !== 'string') throw new TypeError(`Pack UNISTR ${name} must be a string`);
    return this.#push({ name, type: 'unistr', values: [v] });
  }

  addIntArray(name: string, v: number[]): this {
    return this.addElement({ name, type: 'int', values: v });
  }

  /**
   * The C PackAddIp layout: an INT whose wire bytes are the address reversed, plus three companion
   * elements saying "this is not IPv6".
   */
  addIp(name: string, ipv4: string): this {
    const [a, b, c, d] = parseIpv4(ipv4);
    const companions = [`${name}@ipv6_bool`, `${name}@ipv6_array`, `${name}@ipv6_scope_id`];
    checkName(name);
    for (const n of companions) {
      checkName(n);
      if (this.has(n)) throw new Error(`duplicate Pack element name ${JSON.stringify(n)}`);
    }
    if (this.has(name)) throw new Error(`duplicate Pack element name ${JSON.stringify(name)}`);
    this.addInt(name, ((d << 24) | (c << 16) | (b << 8) | a) >>> 0);
    this.addInt(companions[0], 0);
    this.addData(companions[1], Buffer.alloc(16));
    this.addInt(companions[2], 0);
    return this;
  }

  getInt(name: string): number | undefined {
    return this.#find(name, 'int')?.values[0];
  }

  getInt64(name: string): bigint | undefined {
    return this.#find(name, 'int64')?.values[0];
  }

  /** Like the C GetBool: any non-zero INT is true; absent or another type is false. */
  getBool(name: string): boolean {
    const v = this.getInt(name);
    return v !== undefined && v !== 0;
  }

  getData(name: string): Buffer | undefined {
    return this.#find(name, 'data')?.values[0];
  }

  getStr(name: string): string | undefined {
    const v = this.#find(name, 'str')?.values[0];
    return v === undefined ? undefined : trimSpacesTabs(v);
  }

  getUniStr(name: string): string | undefined {
    return this.#find(name, 'unistr')?.values[0];
  }

  /** Prefers the IPv6 companion when `@ipv6_bool` says so; companions are optional (C PackGetIp). */
  getIp(name: string): string | undefined {
    if (this.getInt(`${name}@ipv6_bool`) === 1) {
      const a = this.getData(`${name}@ipv6_array`);
      if (a !== undefined && a.length === 16) return formatIpv6(a);
    }
    const v = this.getInt(name);
    if (v === undefined) return undefined;
    return `${v & 0xff}.${(v >>> 8) & 0xff}.${(v >>> 16) & 0xff}.${v >>> 24}`;
  }

  getIntArray(name: string): number[] {
    const e = this.#find(name, 'int');
    return e ? [...e.values] : [];
  }

  has(name: string): boolean {
    return this.#byName.has(nameKey(name));
  }

  get size(): number {
    return this.#elements.length;
  }

  /** In insertion (for decoded Packs: wire) order. Treat as read-only. */
  elements(): readonly PackElement[] {
    return this.#elements;
  }

  #find<T extends PackValueType>(name: string, type: T): ElementOf<T> | undefined {
    const e = this.#byName.get(nameKey(name));
    return e !== undefined && e.type === type ? (e as ElementOf<T>) : undefined;
  }

  #push(el: PackElement): this {
    const key = nameKey(el.name);
    if (this.#byName.has(key)) throw new Error(`duplicate Pack element name ${JSON.stringify(el.name)}`);
    this.#byName.set(key, el);
    this.#elements.push(el);
    return this;
  }

  static {
    pushTrusted = (p, el) => p.#push(el);
  }
}


function valueBytes(el: PackElement, i: number): number {
  switch (el.type) {
    case 'int':
      return 4;
    case 'int64':
      return 8;
    case 'data':
      return 4 + el.values[i].length;
    case 'str':
      return 4 + Buffer.byteLength(el.values[i], 'utf8');
    case 'unistr':
      return 4 + Buffer.byteLength(el.values[i], 'utf8') + 1;
  }
}

function elementBytes(el: PackElement): number {
  let n = 4 + el.name.length + 4 + 4;
  for (let i = 0; i < el.values.length; i++) n += valueBytes(el, i);
  return n;
}

function writeElement(buf: Buffer, off: number, el: PackElement): number {
  off = buf.writeUInt32BE(el.name.length + 1, off); // length counts a NUL that is not sent
  off += buf.write(el.name, off, 'latin1');
  off = buf.writeUInt32BE(TYPE_CODE[el.type], off);
  off = buf.writeUInt32BE(el.values.length, off);
  switch (el.type) {
    case 'int':
      for (const v of el.values) off = buf.writeUInt32BE(v, off);
      break;
    case 'int64':
      for (const v of el.values) off = buf.writeBigUInt64BE(v, off);
      break;
    case 'data':
      for (const v of el.values) {
        off = buf.writeUInt32BE(v.length, off);
        off += v.copy(buf, off);
      }
      break;
    case 'str':
      for (const v of el.values) {
        const n = Buffer.byteLength(v, 'utf8');
        off = buf.writeUInt32BE(n, off);
        off += buf.write(v, off, n, 'utf8');
      }
      break;
    case 'unistr':
      for (const v of el.values) {
        const n = Buffer.byteLength(v, 'utf8');
        off = buf.writeUInt32BE(n + 1, off); // UNISTR counts AND sends its NUL
        off += buf.write(v, off, n, 'utf8');
        buf[off++] = 0;
      }
      break;
  }
  return off;
}

/** Serializes in insertion order. */
export function encodePack(p: Pack): Buffer {
  return encodePackWithExtras(p, []);
}

/**
 * Serializes `p` followed by `extras` as one Pack, without building or mutating a Pack for the
 * extras (used to append `pencore` padding to a caller's Pack). The caller ensures extras'
 * names do not collide with `p`.
 */
export function encodePackWithExtras(p: Pack, extras: readonly PackElement[]): Buffer {
  const all = p.elements();
  let size = 4;
  for (const el of all) size += elementBytes(el);
  for (const el of extras) size += elementBytes(el);
  const buf = Buffer.allocUnsafe(size);
  let off = buf.writeUInt32BE(all.length + extras.length, 0);
  for (const el of all) off = writeElement(buf, off, el);
  for (const el of extras) off = writeElement(buf, off, el);
  return buf;
}

/**
 * Parses a Pack from untrusted bytes. Every count is checked against the bytes that remain before
 * anything is allocated, so a 20-byte input can never make us reserve gigabytes.
 */
export function decodePack(input: Uint8Array, limits?: Partial<PackLimits>): Pack {
  const lim: PackLimits = { ...DEFAULT_PACK_LIMITS, ...limits };
  const buf = asBuffer(input);
  if (buf.length > lim.maxBytes) throw new ProtocolError('pack', `Pack of ${buf.length} bytes exceeds the ${lim.maxBytes}-byte limit`);
  let off = 0;
  const need = (n: number, what: string): void => {
    if (buf.length - off < n) throw new ProtocolError('pack', `truncated Pack: ${what} needs ${n} bytes, ${buf.length - off} left`);
  };

  need(4, 'element count');
  const count = buf.readUInt32BE(off);
  off += 4;
  if (count > lim.maxElements) throw new ProtocolError('pack', `${count} elements exceed the limit of ${lim.maxElements}`);
  // Smallest possible element: name length, empty name, type, value count = 12 bytes.
  if (count * 12 > buf.length - off) throw new ProtocolError('pack', `element count ${count} is larger than the data can hold`);

  const elements: PackElement[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    need(4, `element ${i} name length`);
    const nameLenPlus1 = buf.readUInt32BE(off);
    off += 4;
    if (nameLenPlus1 === 0) throw new ProtocolError('pack', `element ${i} has name length 0`);
    const nameLen = nameLenPlus1 - 1;
    need(nameLen, `element ${i} name`);
    // Like the C reader, keep at most 63 characters and skip the rest.
    const keep = Math.min(nameLen, MAX_NAME_LENGTH);
    for (let j = off; j < off + keep; j++) {
      if (buf[j] < 0x20 || buf[j] > 0x7e) throw new ProtocolError('pack', `element ${i} name has a non-printable or non-ASCII byte`);
    }
    const name = buf.toString('latin1', off, off + keep);
    off += nameLen;
    if (name.length === 0) throw new ProtocolError('pack', `element ${i} has an empty name`);
    const key = nameKey(name);
    if (seen.has(key)) throw new ProtocolError('pack', `duplicate element name ${JSON.stringify(name)}`);
    seen.add(key);

    need(8, `element ${JSON.stringify(name)} type and value count`);
    const typeCode = buf.readUInt32BE(off);
    const n = buf.readUInt32BE(off + 4);
    off += 8;
    const type = TYPE_BY_CODE[typeCode];
    if (type === undefined) throw new ProtocolError('pack', `element ${JSON.stringify(name)} has unknown type ${typeCode}`);
    if (n > lim.maxValuesPerElement) {
      throw new ProtocolError('pack', `element ${JSON.stringify(name)} has ${n} values, limit ${lim.maxValuesPerElement}`);
    }
    const minValueBytes = type === 'int64' ? 8 : 4;
    if (n * minValueBytes > buf.length - off) {
      throw new ProtocolError('pack', `element ${JSON.stringify(name)} value count ${n} is larger than the data can hold`);
    }

    const readLen = (j: number): number => {
      need(4, `element ${JSON.stringify(name)} value ${j} length`);
      const len = buf.readUInt32BE(off);
      off += 4;
      if (len > lim.maxValueBytes) {
        throw new ProtocolError('pack', `element ${JSON.stringify(name)} value of ${len} bytes exceeds the limit of ${lim.maxValueBytes}`);
      }
      need(len, `element ${JSON.stringify(name)} value ${j}`);
      return len;
    };

    switch (type) {
      case 'int': {
        const values = new Array<number>(n);
        for (let j = 0; j < n; j++, off += 4) values[j] = buf.readUInt32BE(off);
        elements.push({ name, type, values });
        break;
      }
      case 'int64': {
        const values = new Array<bigint>(n);
        for (let j = 0; j < n; j++, off += 8) values[j] = buf.readBigUInt64BE(off);
        elements.push({ name, type, values });
        break;
      }
      case 'data': {
        const values: Buffer[] = [];
        for (let j = 0; j < n; j++) {
          const len = readLen(j);
          // Copy: a value (e.g. session_key) must not pin or alias the whole received body.
          values.push(Buffer.from(buf.subarray(off, off + len)));
          off += len;
        }
        elements.push({ name, type, values });
        break;
      }
      case 'str': {
        const values: string[] = [];
        for (let j = 0; j < n; j++) {
          const len = readLen(j);
          values.push(buf.toString('utf8', off, off + len));
          off += len;
        }
        elements.push({ name, type, values });
        break;
      }
      case 'unistr': {
        const values: string[] = [];
        for (let j = 0; j < n; j++) {
          const len = readLen(j);
          const end = len > 0 && buf[off + len - 1] === 0 ? off + len - 1 : off + len; // strip the one NUL
          values.push(buf.toString('utf8', off, end));
          off += len;
        }
        elements.push({ name, type, values });
        break;
      }
    }
  }
  // Trailing bytes after the last element are ignored, like the C reader.
  const pack = new Pack();
  for (const el of elements) pushTrusted(pack, el);
  return pack;
}
