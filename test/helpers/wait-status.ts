import type { Cascade } from '../../src/session/cascade.ts';
import type { CascadeStatus } from '../../src/session/status.ts';

/** Poll the cascade's status every 10 ms until `pred` holds; reject with the last status after `timeoutMs`. */
export function waitForStatus(
  cascade: Cascade,
  pred: (s: CascadeStatus) => boolean,
  timeoutMs: number,
  what = 'status',
): Promise<CascadeStatus> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const s = cascade.status();
      if (pred(s)) {
        clearInterval(iv);
        clearTimeout(to);
        resolve(s);
      }
    };
    const iv = setInterval(check, 10);
    const to = setTimeout(() => {
      clearInterval(iv);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; status: ${JSON.stringify(cascade.status())}`));
    }, timeoutMs);
    check();
  });
}
