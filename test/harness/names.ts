import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Everything one server instance creates is named after one random token, so test files running
 * at the same time (and other engineers' tests) never collide, and leftovers are recognisable by
 * the prefix alone (see cleanup.ts).
 */
export const PREFIX = 'sebt';

export interface InstanceNames {
  token: string;
  /** network namespace, also /etc/netns/<netns> */
  netns: string;
  /** veth end in the root namespace (the test process / engine side) */
  hostVeth: string;
  /** veth end inside the server's namespace */
  serverVeth: string;
  /** private directory holding lib/ log/ run/ tmp/ and the owner marker */
  dir: string;
}

export function namesFor(token: string): InstanceNames {
  return {
    token,
    netns: `${PREFIX}-${token}`,
    hostVeth: `${PREFIX}${token}a`,
    serverVeth: `${PREFIX}${token}b`,
    dir: join(tmpdir(), `${PREFIX}-${token}`),
  };
}

export function randomNames(): InstanceNames {
  // 6 hex digits: interface names stay at 11 characters (limit 15).
  return namesFor(randomBytes(3).toString('hex'));
}

export const TOKEN_RE = /^[0-9a-f]{6}$/;

/** The owner marker: the PID of the test process that made the instance (read by cleanup.ts). */
export function ownerFile(dir: string): string {
  return join(dir, 'owner');
}
