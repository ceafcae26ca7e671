/**
 * Can the configuration be saved? Checked without writing anything (a test file every 30 s would wear the
 * flash): the directory must be writable for this process (access W_OK, which also says EROFS for a read-only
 * mount) and its file system must have room for a few configuration files.
 */
import { access, constants, statfs } from 'node:fs/promises';

/** Resolves true when writable; rejects with an Error saying why not (for the health warning's text). */
export async function configDirWritable(dir: string, minFreeBytes = 1024 * 1024): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === 'EROFS' ? `${dir} is on a read-only file system` : `${dir}: ${err.code ?? err.message}`);
  }
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (free < minFreeBytes) throw new Error(`only ${Math.floor(free / 1024)} KiB free on the file system of ${dir}`);
  return true;
}
