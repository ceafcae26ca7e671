import { readFileSync } from 'node:fs';

/**
 * The node options in the entry script's shebang (`#!/usr/bin/env -S node --max-semi-space-size=4`). We start the
 * project's Node explicitly (the shebang's `node` on PATH may be another version), so the options it carries
 * must be passed on by hand, or the bridge would not run the way users run it.
 */
export function shebangNodeFlags(script: string): string[] {
  let first: string;
  try {
    first = readFileSync(script, 'utf8').split('\n', 1)[0]!;
  } catch {
    return [];
  }
  const m = /^#!.*?\bnode\b(.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/).filter((a) => a.startsWith('--')) : [];
}
