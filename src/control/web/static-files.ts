import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';

const gzip = promisify(gzipCb);

/**
 * The browser UI's built files, read once at start into memory (a few hundred KiB), each compressible one also
 * gzipped once, so serving never touches the flash or compresses on the event loop.
 * Bounded: at most MAX_FILES files and MAX_TOTAL_BYTES in total; more is refused with a clear error.
 */
export type StaticFile = {
  path: string; // URL path, e.g. "/assets/app-1a2b3c4d.js"
  type: string;
  body: Buffer;
  gzipped: Buffer | null;
  etag: string;
  cacheControl: string;
};

const MAX_FILES = 2000;
const MAX_TOTAL_BYTES = 32 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.webmanifest', '.svg', '.txt', '.ico']);

// A content hash in the file name (app-1a2b3c4d.js, app.1A2b3C4d.css: 8+ characters with a digit) means the
// name changes whenever the content does, so browsers may keep it for a year.
const HASHED_NAME = /[.-](?=[A-Za-z0-9_]*[0-9])[A-Za-z0-9_]{8,}\.[a-z0-9]+$/;

export class StaticFiles {
  private readonly files = new Map<string, StaticFile>();

  get count(): number {
    return this.files.size;
  }

  /**
   * The file for a request path: exact match; "/" → index.html; a path without a dot in its last segment that
   * is no file → index.html (client-side routes); anything else → null (404).
   */
  lookup(urlPath: string): StaticFile | null {
    if (urlPath === '/' || urlPath === '') return this.files.get('/index.html') ?? null;
    const exact = this.files.get(urlPath);
    if (exact) return exact;
    const last = urlPath.slice(urlPath.lastIndexOf('/') + 1);
    if (!last.includes('.')) return this.files.get('/index.html') ?? null;
    return null;
  }

  static async load(dir: string): Promise<StaticFiles> {
    const out = new StaticFiles();
    const paths: string[] = [];
    await walk(dir, paths);
    if (paths.length > MAX_FILES) throw new Error(`static UI directory ${dir}: more than ${MAX_FILES} files`);
    let total = 0;
    for (const p of paths) {
      const body = await readFile(p);
      total += body.length;
      if (total > MAX_TOTAL_BYTES) throw new Error(`static UI directory ${dir}: more than ${MAX_TOTAL_BYTES} bytes`);
      const rel = relative(dir, p).split(sep).join('/');
      const ext = extname(p).toLowerCase();
      const urlPath = `/${rel}`;
      const gz = COMPRESSIBLE.has(ext) && body.length >= 512 ? await gzip(body, { level: 9 }) : null;
      const name = rel.slice(rel.lastIndexOf('/') + 1);
      out.files.set(urlPath, {
        path: urlPath,
        type: TYPES[ext] ?? 'application/octet-stream',
        body,
        gzipped: gz && gz.length < body.length ? gz : null,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        cacheControl: name !== 'index.html' && HASHED_NAME.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    return out;
  }
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // no dotfiles (.git, editor swap files)
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() || (e.isSymbolicLink() && (await stat(p)).isFile())) out.push(p);
    if (out.length > MAX_FILES) return;
  }
}
