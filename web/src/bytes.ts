/** Base64 and PEM helpers for the `_bin` fields (the API carries binary as base64). */

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  // Chunked so String.fromCharCode never gets more arguments than the engine allows.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function toHex(bytes: Uint8Array, sep = ''): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(sep);
}

/**
 * SoftEther wants certificates and keys as DER. Operators usually have PEM files, so a PEM upload is
 * unwrapped (the first block only); anything else is taken as DER bytes unchanged.
 */
export function pemOrDer(file: Uint8Array): Uint8Array {
  const head = new TextDecoder('latin1').decode(file.subarray(0, Math.min(file.length, 4096)));
  if (!head.includes('-----BEGIN ')) return file;
  const text = new TextDecoder().decode(file);
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new Error('the PEM file has no complete BEGIN/END block');
  if (/ENCRYPTED/.test(m[1]) || /Proc-Type:\s*4,ENCRYPTED/.test(m[2])) {
    throw new Error('the private key is encrypted; export it without a passphrase');
  }
  return fromBase64(m[2].replace(/[^A-Za-z0-9+/=]/g, ''));
}
