/**
 * A "newc" cpio archive (the initramfs format the kernel unpacks), written here so the initrd is the same bytes for
 * the same inputs: entries sorted by path, owner root, one fixed mtime, inode numbers in order.
 */
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'file'; mode: number; data: Buffer }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'chardev'; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function record(ino: number, mode: number, name: string, data: Buffer, mtime: number, rdev: [number, number] = [0, 0], nlink = 1): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header = `070701${[ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0].map(hex8).join('')}`;
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBytes]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

/** The archive, gzip-compressed (every x86 kernel reads gzip initrds). */
export function cpioNewc(entries: CpioEntry[], mtime: number): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of sorted) {
    const name = e.path.replace(/^\/+/, '');
    if (!name) continue;
    switch (e.type) {
      case 'dir':
        parts.push(...record(ino++, S_IFDIR | e.mode, name, Buffer.alloc(0), mtime, [0, 0], 2));
        break;
      case 'file':
        parts.push(...record(ino++, S_IFREG | e.mode, name, e.data, mtime));
        break;
      case 'symlink':
        parts.push(...record(ino++, S_IFLNK | 0o777, name, Buffer.from(e.target, 'utf8'), mtime));
        break;
      case 'chardev':
        parts.push(...record(ino++, S_IFCHR | e.mode, name, Buffer.alloc(0), mtime, [e.major, e.minor]));
        break;
    }
  }
  parts.push(...record(0, 0, 'TRAILER!!!', Buffer.alloc(0), 0));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}
