/**
 * SHA-0 on Uint8Array, for the browser. SoftEther stores and sends passwords as
 * SHA-0(password || ASCII-upper(username)); WebCrypto has no SHA-0 and the daemon's own
 * src/protocol/sha0.ts uses Node's Buffer, so the UI carries this small copy-free version.
 * It is SHA-1 without the rotate in the message schedule. Inputs are short (passwords).
 */
export function sha0(data: Uint8Array): Uint8Array {
  const length = data.length;
  const padded = new Uint8Array(Math.ceil((length + 9) / 64) * 64);
  padded.set(data, 0);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  // 64-bit big-endian bit length; inputs here are far below 2^29 bytes, so the high word is length >>> 29.
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded.length - 4, (length * 8) >>> 0);

  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = new Uint32Array(80);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block + i * 4);
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
      c = ((b << 30) | (b >>> 2)) >>> 0;
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

/** Upper-case ASCII a-z only, exactly like the server (toUpperCase would also change "ß", "ı", ...). */
function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** SoftEther's password hash for AuthType 1: SHA-0(password UTF-8 || ASCII-upper(username) UTF-8). */
export function hashPassword(username: string, password: string): Uint8Array {
  const enc = new TextEncoder();
  const pw = enc.encode(password);
  const user = enc.encode(asciiUpper(username));
  const joined = new Uint8Array(pw.length + user.length);
  joined.set(pw, 0);
  joined.set(user, pw.length);
  return sha0(joined);
}
