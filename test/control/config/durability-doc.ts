import { defaultCascade, defaultConfig, type AppConfig } from '../../../src/control/config/types.ts';

/**
 * The document of generation `n` of the durability test: generation 0 is the defaults; every later one differs in
 * content and in size (a proxy header of varying length), so a torn or mixed file could not pass for a valid one.
 */
export function applyGeneration(d: AppConfig, n: number): void {
  const c = defaultCascade(`gen-${n}`, 'vpn.example.com', 1 + (n % 65535), 'HUB', '');
  c.proxy.customHttpHeader = `X-Generation: ${n} ${'z'.repeat((n * 397) % 3000)}`;
  d.cascades = [c];
  d.health.cpuWarnPercent = 1 + (n % 100);
}

export function expectedDocument(n: number): AppConfig {
  const d = defaultConfig();
  if (n > 0) applyGeneration(d, n);
  return d;
}

export function generationOf(c: Readonly<AppConfig>): number {
  const name = c.cascades[0]?.name;
  return name === undefined ? 0 : Number(name.slice('gen-'.length));
}
