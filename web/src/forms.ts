/**
 * Labeled form controls and error placement. Every control's `name` is the API field it feeds, so an
 * error from the daemon that names a field ("... Hostname_str ...") lands next to that control.
 */
import { ApiError } from './api.ts';
import { FieldError } from './errors.ts';

export { FieldError };
import { h, uid, type Child } from './dom.ts';

export interface FieldOpts {
  label: string;
  name: string;
  type?: string;
  value?: string;
  help?: Child;
  required?: boolean;
  min?: number;
  max?: number;
  placeholder?: string;
  autocomplete?: string;
  accept?: string;
  maxLength?: number;
}

function wrap(id: string, name: string, label: Child, control: HTMLElement, help?: Child): HTMLElement {
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  return h(
    'div',
    { class: 'field', 'data-field': name },
    h('label', { for: id }, label),
    control,
    help ? h('p', { class: 'help', id: helpId }, help) : null,
  );
}

export function input(o: FieldOpts): HTMLElement {
  const id = uid('f');
  const el = h('input', {
    id,
    name: o.name,
    type: o.type ?? 'text',
    value: o.value ?? '',
    required: o.required,
    min: o.min,
    max: o.max,
    placeholder: o.placeholder,
    autocomplete: o.autocomplete ?? 'off',
    accept: o.accept,
    maxLength: o.maxLength,
  });
  if (o.type === 'number') el.inputMode = 'numeric';
  return wrap(id, o.name, o.label, el, o.help);
}

export function checkbox(label: string, name: string, checked: boolean, help?: Child): HTMLElement {
  const id = uid('f');
  const el = h('input', { id, name, type: 'checkbox', checked });
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) el.setAttribute('aria-describedby', helpId);
  return h(
    'div',
    { class: 'field field-check', 'data-field': name },
    el,
    h('label', { for: id }, label),
    help ? h('p', { class: 'help', id: helpId }, help) : null,
  );
}

export function select(label: string, name: string, options: Array<{ value: string; label: string }>, value: string, help?: Child): HTMLElement {
  const id = uid('f');
  const el = h('select', { id, name }, options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  return wrap(id, name, label, el, help);
}

export function control(form: HTMLElement, name: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null {
  return form.querySelector(`[name="${CSS.escape(name)}"]`);
}

export function value(form: HTMLElement, name: string): string {
  const c = control(form, name);
  if (!c) throw new Error(`form has no control ${name}`);
  return c.value;
}

export function checked(form: HTMLElement, name: string): boolean {
  const c = control(form, name);
  return c instanceof HTMLInputElement && c.checked;
}

export function clearErrors(form: HTMLElement): void {
  for (const e of form.querySelectorAll('.field-error, .form-error')) e.remove();
  for (const c of form.querySelectorAll('[aria-invalid]')) {
    c.removeAttribute('aria-invalid');
    const desc = c.getAttribute('aria-describedby')?.split(' ').filter((d) => !d.endsWith('-err')).join(' ');
    if (desc) c.setAttribute('aria-describedby', desc);
    else c.removeAttribute('aria-describedby');
  }
}

/** Put `message` under the control named `name`; false if the form has no such control. */
export function setFieldError(form: HTMLElement, name: string, message: string): boolean {
  const c = control(form, name);
  const box = c?.closest('.field');
  if (!c || !box) return false;
  const errId = `${c.id}-err`;
  box.querySelector('.field-error')?.remove();
  box.append(h('p', { class: 'field-error', id: errId }, message));
  // An error inside the collapsed "Advanced options" must not stay invisible.
  const details = box.closest('details');
  if (details) details.open = true;
  c.setAttribute('aria-invalid', 'true');
  c.setAttribute('aria-describedby', [c.getAttribute('aria-describedby'), errId].filter(Boolean).join(' '));
  return true;
}

/** An error for the whole form, shown at its top. */
export function setFormError(form: HTMLElement, message: Child): void {
  form.querySelector('.form-error')?.remove();
  form.prepend(h('div', { class: 'form-error', role: 'alert' }, message));
}

/**
 * Show any error on a form: next to the field it names when the form has that control (aliases map API
 * fields onto the control that carries them, e.g. Port_u32 → the "host[:port]" input), else at the top.
 */
export function showError(form: HTMLElement, err: unknown, aliases: Record<string, string> = {}): void {
  const message = err instanceof Error ? err.message : String(err);
  const field = err instanceof FieldError ? err.field : err instanceof ApiError ? err.field : null;
  if (field) {
    const target = aliases[field] ?? field;
    if (setFieldError(form, target, message)) {
      control(form, target)?.focus();
      return;
    }
  }
  setFormError(form, message);
}

/** Disable a button while `fn` runs, with a busy label for screen readers and sighted users. */
export async function busy<T>(button: HTMLButtonElement, label: string, fn: () => Promise<T>): Promise<T> {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

/** An integer from a control, checked against a range; the error names the field. */
export function intIn(form: HTMLElement, name: string, label: string, min: number, max: number): number {
  const raw = value(form, name).trim();
  if (!/^\d+$/.test(raw)) throw new FieldError(name, `${label} must be a whole number from ${min} to ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw new FieldError(name, `${label} must be from ${min} to ${max}`);
  return n;
}
