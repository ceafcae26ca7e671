/**
 * A tiny element builder instead of a framework: pages are small and re-render their own sections.
 * Never sets a `style` attribute or inline handler attribute (the CSP forbids both); handlers are
 * properties and styling lives in style.css.
 */
export type Child = Node | string | number | null | undefined | false | Child[];
type Handler<E extends Event = Event> = (ev: E) => void;
export interface Attrs {
  class?: string;
  id?: string;
  for?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  checked?: boolean;
  disabled?: boolean;
  hidden?: boolean;
  required?: boolean;
  selected?: boolean;
  multiple?: boolean;
  href?: string;
  title?: string;
  scope?: string;
  tabindex?: string;
  role?: string;
  min?: number | string;
  max?: number | string;
  step?: number | string;
  minLength?: number;
  maxLength?: number;
  autocomplete?: string;
  accept?: string;
  onclick?: Handler<MouseEvent>;
  onsubmit?: Handler<SubmitEvent>;
  oninput?: Handler;
  onchange?: Handler;
  [attr: `aria-${string}`]: string | undefined;
  [attr: `data-${string}`]: string | undefined;
}

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'required', 'selected', 'multiple', 'minLength', 'maxLength']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null) continue;
      if (k.startsWith('on') && typeof v === 'function') (el as unknown as Record<string, unknown>)[k] = v;
      else if (PROPS.has(k)) (el as unknown as Record<string, unknown>)[k] = v;
      else if (k === 'class') el.className = String(v);
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replace all children of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let idSeq = 0;
export function uid(prefix: string): string {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

/** Show a transient message in the polite live region. */
export function toast(text: string, kind: 'ok' | 'error' = 'ok'): void {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  box.append(t);
  // Bounded: never more than a few on screen.
  while (box.children.length > 4) box.firstElementChild?.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

/** A modal confirm built on <dialog> (keyboard and screen-reader friendly, no window.confirm). */
export function confirmDialog(title: string, text: string, confirmLabel: string, danger = true): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dlg = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      h('p', null, text),
      h(
        'form',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close('cancel') }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary', onclick: () => dlg.close('ok') }, confirmLabel),
      ),
    );
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Read a file input's first file as bytes (null if none chosen). */
export async function readFileInput(input: HTMLInputElement): Promise<Uint8Array | null> {
  const f = input.files?.[0];
  if (!f) return null;
  if (f.size > 1024 * 1024) throw new Error(`${f.name} is larger than 1 MiB`);
  return new Uint8Array(await f.arrayBuffer());
}
