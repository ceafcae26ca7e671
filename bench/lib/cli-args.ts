/** Command-line checks shared by the benchmark scripts: a bad value stops the script with the flag named. */
export function failWith(script: string): (msg: string) => never {
  return (msg: string): never => {
    process.stderr.write(`${script}: ${msg}\n`);
    process.exit(2);
  };
}

export function parseList<T extends string>(fail: (m: string) => never, flag: string, value: string | undefined, allowed: readonly T[], def: readonly T[] = allowed): T[] {
  if (value === undefined) return [...def];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) fail(`${flag}: "${i}" is not one of ${allowed.join(', ')}`);
  if (items.length === 0) fail(`${flag}: empty list`);
  return items as T[];
}

export function positiveInt(fail: (m: string) => never, flag: string, value: string | undefined, def: number, max: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`${flag}: must be a whole number from 1 to ${max}`);
  return n;
}
