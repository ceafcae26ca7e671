/**
 * A SHA-256 fingerprint on screen: colon-separated pairs that wrap only between pairs (a <wbr> after each colon),
 * so a narrow column never splits "EE:22" into "EE:2" / "2".
 */
import { h, type Attrs } from './dom.ts';
import { fingerprint } from './format.ts';

export function fingerprintCode(hex: string, attrs: Attrs = {}): HTMLElement {
  const text = fingerprint(hex);
  const el = h('code', { ...attrs, class: attrs.class ? `fp ${attrs.class}` : 'fp' });
  const pairs = text.split(':');
  pairs.forEach((p, i) => {
    el.append(i < pairs.length - 1 ? `${p}:` : p);
    if (i < pairs.length - 1) el.append(h('wbr'));
  });
  return el;
}
