/**
 * The firmware file of docs/firmware.md: "SEBRIDGE-FW1\n", uint32 BE header length N, N bytes of JSON header,
 * a 64-byte Ed25519 signature over magic ‖ N ‖ header (the header carries the rootfs SHA-256), then the rootfs.
 * Written by streaming the squashfs (never whole in memory).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ImageError } from './util.ts';

export const FW_MAGIC = Buffer.from('SEBRIDGE-FW1\n', 'ascii');
export const FW_SIGNATURE_BYTES = 64;
/** A header larger than this is not one of ours (the reader refuses before allocating). */
export const FW_MAX_HEADER = 64 * 1024;

export interface FirmwareHeader {
  version: string;
  arch: 'x86_64' | 'aarch64';
  kernel: string;
  rootfsSize: number;
  rootfsSha256: string;
  created: string;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicPem: string;
  /** true when made for this build (a development build) */
  generated: boolean;
}

/** The key of --signing-key (PEM PKCS#8, Ed25519), or a new one for this build. */
export function loadSigningKey(pem: string | null): SigningKey {
  if (pem === null) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), generated: true };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new ImageError(`--signing-key: not a PEM private key (${(e as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ImageError(`--signing-key: an ${privateKey.asymmetricKeyType} key; firmware files are signed with Ed25519`);
  return { privateKey, publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), generated: false };
}

function signedPart(header: FirmwareHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32BE(json.length);
  return Buffer.concat([FW_MAGIC, n, json]);
}

export async function writeFirmwareFile(out: string, header: FirmwareHeader, rootfs: string, key: KeyObject): Promise<void> {
  const head = signedPart(header);
  const signature = sign(null, head, key);
  if (signature.length !== FW_SIGNATURE_BYTES) throw new ImageError(`Ed25519 signature of ${signature.length} bytes`);
  const ws = createWriteStream(out, { mode: 0o644 });
  ws.write(head);
  ws.write(signature);
  await pipeline(createReadStream(rootfs), ws);
}

/** Reads and checks magic, header and signature (not the rootfs hash): for tests and tools. */
export async function readFirmwareHeader(file: string, publicPem: string): Promise<{ header: FirmwareHeader; rootfsOffset: number }> {
  const fh = await open(file, 'r');
  try {
    const fixed = Buffer.alloc(FW_MAGIC.length + 4);
    await fh.read(fixed, 0, fixed.length, 0);
    if (!fixed.subarray(0, FW_MAGIC.length).equals(FW_MAGIC)) throw new ImageError(`${file}: not a sebridge firmware file (magic)`);
    const n = fixed.readUInt32BE(FW_MAGIC.length);
    if (n === 0 || n > FW_MAX_HEADER) throw new ImageError(`${file}: header length ${n} out of range`);
    const rest = Buffer.alloc(n + FW_SIGNATURE_BYTES);
    const { bytesRead } = await fh.read(rest, 0, rest.length, fixed.length);
    if (bytesRead !== rest.length) throw new ImageError(`${file}: truncated header`);
    const json = rest.subarray(0, n);
    const signature = rest.subarray(n);
    if (!verify(null, Buffer.concat([fixed, json]), createPublicKey(publicPem), signature)) throw new ImageError(`${file}: bad signature`);
    return { header: JSON.parse(json.toString('utf8')) as FirmwareHeader, rootfsOffset: fixed.length + n + FW_SIGNATURE_BYTES };
  } finally {
    await fh.close();
  }
}
