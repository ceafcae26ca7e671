/**
 * SHA-0 (FIPS 180, 1993). SoftEther hashes passwords with it, and no runtime ships it any more, so
 * this is a small own implementation. It is SHA-1 minus the one-bit rotate in the message schedule.
 * Only used on short inputs (passwords, 40-byte challenges), so clarity beats speed here.
 *
 * Plain Uint8Array/DataView only (no Node Buffer): the browser UI bundles this same file to hash a cascade
 * password before it leaves the page (CreateLink's HashedPassword_bin). password.ts wraps it for the daemon.
 */
export function sha0Bytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;

  // Message + 0x80 + zero padding + 64-bit big-endian bit length, rounded up to 64-byte blocks.
  const padded = new Uint8Array(Math.ceil((length + 9) / 64) * 64);
  const view = new DataView(padded.buffer);
  let off = 0;
  for (const p of parts) {
    padded.set(p, off);
    off += p.length;
  }
  padded[length] = 0x80;
  view.setBigUint64(padded.length - 8, BigInt(length) * 8n);

  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = new Uint32Array(80);

  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block + i * 4);
    // The only difference from SHA-1: no rotate-left-by-1 here.
    for (let i = 16; i < 80; i++) w[i] = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];

    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) >>> 0;
    h1 = (h1 + b) >>> 0;
    h2 = (h2 + c) >>> 0;
    h3 = (h3 + d) >>> 0;
    h4 = (h4 + e) >>> 0;
  }

  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, h0);
  ov.setUint32(4, h1);
  ov.setUint32(8, h2);
  ov.setUint32(12, h3);
  ov.setUint32(16, h4);
  return out;
}

/**
 * Upper-case ASCII a-z only. The server does exactly this; Unicode-aware upper-casing (toUpperCase)
 * would change e.g. "ß" or "ı" and make non-ASCII user names fail to authenticate.
 */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** SoftEther's stored password hash: SHA-0(password UTF-8 || ASCII-upper(username) UTF-8). */
export function passwordHashBytes(username: string, password: string): Uint8Array {
  const enc = new TextEncoder();
  return sha0Bytes(enc.encode(password), enc.encode(asciiUpper(username)));
}
