/**
 * Firmware: what runs (version, slot, trial state, the other slot), upload a firmware file with progress, the
 * verification result, "Apply and reboot", and after the reboot whether the new version came up.
 */
import type { Ctx, Page } from '../app.ts';
import { ApiError } from '../api.ts';
import { append, confirmDialog, h, replace, type Child } from '../dom.ts';
import { busy, checkbox, checked, clearErrors, FieldError, input, setFormError, showError } from '../forms.ts';
import { bytes, dateTime } from '../format.ts';
import type { FirmwareInfo, FirmwareUploadAnswer } from '../types.ts';
import { setReturnTo } from './login.ts';
import { uploadFile } from '../upload.ts';

const EXPECT_KEY = 'sebridge.firmwareExpect';
const MAGIC = 'SEBRIDGE-FW1\n';
/** How long to wait for the appliance to come back after "Apply and reboot". */
const REBOOT_WAIT_MS = 10 * 60_000;

interface Expectation {
  version: string;
  slot: string;
  from: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function slotName(s: string): string {
  return s ? `slot ${s.toUpperCase()}` : '–';
}

function kv(rows: Array<[string, Child, string?]>): HTMLElement {
  return h('dl', { class: 'kv' }, rows.map(([k, v, key]) => [h('dt', null, k), h('dd', key ? { 'data-k': key } : null, v)]));
}

function keyName(info: FirmwareInfo, fingerprint: string): Child {
  const k = info.KeyList.find((x) => x.Fingerprint_str === fingerprint);
  return [h('code', { class: 'fingerprint' }, fingerprint), k ? h('span', { class: 'muted' }, ` (${k.Name_str})`) : null];
}

function renderInstalled(info: FirmwareInfo): Child {
  if (!info.HasSlots_bool) {
    return [
      kv([['Version', info.Version_str, 'version'], ['Kernel', `${info.Kernel_str} (${info.Arch_str || '?'})`]]),
      h('p', { class: 'muted', 'data-k': 'no-slots' }, info.NoSlotsReason_utf),
    ];
  }
  const trial = !info.Trial_bool ? 'no (normal boot)' : info.TrialConfirmed_bool ? 'trial boot, confirmed' : 'trial boot, not confirmed yet';
  const other = !info.OtherVersion_str
    ? 'unknown (not written by this appliance\'s upgrade)'
    : info.OtherSha256_str
      ? `${info.OtherVersion_str} (written ${dateTime(info.OtherWritten_dt)})`
      : `${info.OtherVersion_str} (ran from it before)`;
  return kv([
    ['Version', info.Version_str, 'version'],
    ['Running from', `${slotName(info.Slot_str)} (${info.SlotDevice_str})`, 'slot'],
    ['Confirmed slot', slotName(info.ActiveSlot_str), 'active'],
    ['Trial', trial, 'trial'],
    [`Other slot (${slotName(info.OtherSlot_str)})`, other, 'other'],
    ...(info.PendingSlot_str ? [['Next boot', `tries ${slotName(info.PendingSlot_str)} once`, 'pending'] as [string, Child, string]] : []),
    ['Kernel', `${info.Kernel_str} (${info.Arch_str})`],
    ['Trusted signing keys', info.KeyList.length ? info.KeyList.map((k) => h('div', null, h('code', { class: 'fingerprint' }, k.Fingerprint_str), ` ${k.Name_str}`)) : 'none: no firmware can be verified'],
  ]);
}

function renderVerified(info: FirmwareInfo): HTMLElement {
  return h(
    'div',
    { class: 'result result-ok', 'data-upload-result': 'ok' },
    h('h3', null, `Verified: firmware ${info.UploadVersion_str} is in ${slotName(info.UploadTargetSlot_str)}`),
    kv([
      ['Version', info.UploadVersion_str, 'up-version'],
      ['Built', dateTime(info.UploadCreated_str)],
      ['Kernel', `${info.UploadKernel_str} (${info.UploadArch_str})`],
      ['Root file system', `${bytes(info.UploadRootfsSize_u64)}, SHA-256 checked`],
      ['SHA-256', h('code', { class: 'fingerprint' }, info.UploadSha256_str)],
      ['Signed by', keyName(info, info.UploadSignedBy_str)],
    ]),
    info.UploadDowngrade_bool ? h('p', { class: 'help' }, `This is an older version than the running ${info.Version_str} (downgrade).`) : null,
  );
}

function renderRefused(reason: string, error: string): HTMLElement {
  return h(
    'div',
    { class: 'result result-error', 'data-upload-result': 'error', 'data-reason': reason },
    h('h3', null, 'The firmware file was refused'),
    h('p', { class: 'error-text' }, error),
    h('p', { class: 'help' }, 'Nothing was changed for the next boot: the appliance keeps running its current firmware.'),
  );
}

/** After a reboot: did the version that was applied come up? */
function renderOutcome(info: FirmwareInfo): Child {
  const raw = sessionStorage.getItem(EXPECT_KEY);
  if (!raw) return null;
  sessionStorage.removeItem(EXPECT_KEY);
  let e: Expectation;
  try {
    e = JSON.parse(raw) as Expectation;
  } catch {
    return null;
  }
  if (info.Version_str === e.version && (!info.HasSlots_bool || info.Slot_str === e.slot)) {
    return h('p', { class: 'notice', role: 'status', 'data-k': 'outcome' }, `The upgrade worked: firmware ${e.version} is running from ${slotName(info.Slot_str)}${info.TrialConfirmed_bool ? ' and is confirmed' : ''}.`);
  }
  return h('div', { class: 'form-error', role: 'alert', 'data-k': 'outcome' }, `The appliance is running ${info.Version_str} from ${slotName(info.Slot_str)}, not ${e.version}: the new firmware did not come up and the appliance went back to the previous one.`);
}

export const firmwarePage: Page = async (ctx) => {
  let info = await ctx.api.call<FirmwareInfo>('GetFirmwareInfo');
  const outcome = renderOutcome(info);
  const installed = h('div', null, renderInstalled(info));
  const status = h('p', { class: 'help', 'aria-live': 'polite', 'data-k': 'upload-status' });
  const bar = h('progress', { max: 100, hidden: true, class: 'upload-bar' });
  const result = h('div', { 'aria-live': 'polite' });
  const uploadBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Upload and verify');
  const cancelBtn = h('button', { type: 'button', class: 'btn', hidden: true }, 'Cancel upload');
  const applyBtn = h('button', { type: 'button', class: 'btn btn-danger', hidden: true }, 'Apply and reboot');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'fw-up-title', onsubmit: (ev) => void onUpload(ev) },
    h('h2', { id: 'fw-up-title' }, 'Upgrade'),
    input({ label: 'Firmware file (.fw)', name: 'firmware', type: 'file', accept: '.fw,application/octet-stream', help: 'A signed sebridge firmware file for this machine. It is checked completely before anything is changed for the next boot.' }),
    checkbox('Allow an older version (downgrade)', 'force', false, 'Only to go back to a known version on purpose.'),
    status,
    bar,
    result,
    h('div', { class: 'actions' }, cancelBtn, uploadBtn, applyBtn),
  );
  form.noValidate = true;
  let leaving = false;
  ctx.onLeave(() => (leaving = true));
  let abortUpload: (() => void) | null = null;
  cancelBtn.onclick = () => abortUpload?.();
  applyBtn.onclick = () => void onApply();

  function showState(i: FirmwareInfo): void {
    info = i;
    replace(installed, renderInstalled(i));
    const canUpload = i.HasSlots_bool && i.UploadPhase_str !== 'applying';
    uploadBtn.disabled = !canUpload || abortUpload !== null;
    if (!i.HasSlots_bool) status.textContent = 'Firmware upgrades need the appliance image (two system slots); this system has none.';
    if (abortUpload !== null) return;
    if (i.UploadPhase_str === 'ready') {
      replace(result, renderVerified(i));
      applyBtn.hidden = false;
    } else if (i.UploadPhase_str === 'applying') {
      status.textContent = `Firmware ${i.UploadVersion_str} is applied; the appliance is about to reboot.`;
    } else if (i.UploadPhase_str === 'failed' && !result.hasChildNodes()) {
      // The last upload (perhaps by a script) was refused: say why until the next one.
      replace(result, renderRefused(i.UploadReason_str, i.UploadError_utf));
    }
  }

  append(
    ctx.main,
    [h('h1', null, 'Firmware'),
    outcome,
    h('section', { class: 'card', 'aria-labelledby': 'fw-title' }, h('h2', { id: 'fw-title' }, 'Installed firmware'), installed),
    form],
  );
  showState(info);
  let rebooting = false;
  ctx.poll(10, async () => {
    // Not while a transfer runs (it polls itself) or while the appliance reboots (it is expected to be away).
    if (abortUpload === null && !rebooting) showState(await ctx.api.call<FirmwareInfo>('GetFirmwareInfo'));
  });

  async function onUpload(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    replace(result);
    applyBtn.hidden = true;
    try {
      const fileInput = form.querySelector('input[type=file]') as HTMLInputElement;
      const file = fileInput.files?.[0];
      if (!file) throw new FieldError('firmware', 'Choose a firmware file');
      const head = new TextDecoder('latin1').decode(await file.slice(0, MAGIC.length).arrayBuffer());
      if (head !== MAGIC) throw new FieldError('firmware', `${file.name} is not a sebridge firmware file`);
      if (file.size > info.MaxUploadBytes_u64) throw new FieldError('firmware', `${file.name} (${bytes(file.size)}) is larger than this appliance's firmware slot takes (${bytes(info.MaxUploadBytes_u64)})`);
      await upload(file, checked(form, 'force'));
    } catch (err) {
      showError(form, err);
    }
  }

  async function upload(file: File, force: boolean): Promise<void> {
    const before = info.UploadStarted_dt;
    let sent = 0;
    const up = uploadFile(ctx.api, `${info.UploadPath_str}${force ? '?force=1' : ''}`, file, (s, total) => {
      sent = s;
      bar.value = total ? Math.floor((s / total) * 100) : 0;
    });
    abortUpload = up.abort;
    bar.hidden = false;
    bar.value = 0;
    cancelBtn.hidden = false;
    uploadBtn.disabled = true;
    uploadBtn.setAttribute('aria-busy', 'true');
    status.textContent = `Sending ${file.name}…`;
    let finished = false;
    // The daemon's side while the file streams in: checked header, then the write into the slot. A refusal shows
    // here at once (the browser would otherwise only hear of it once the whole file is sent).
    const watch = (async () => {
      while (!finished && !leaving) {
        await sleep(1000);
        if (finished || leaving) return;
        const i = await ctx.api.call<FirmwareInfo>('GetFirmwareInfo').catch(() => null);
        if (!i || finished || i.UploadStarted_dt === before) continue;
        if (i.UploadPhase_str === 'failed') {
          finished = true;
          up.abort();
          replace(result, renderRefused(i.UploadReason_str, i.UploadError_utf));
          return;
        }
        const what = i.UploadPhase_str === 'writing'
          ? `Firmware ${i.UploadVersion_str}: signature and header verified; writing to ${slotName(i.UploadTargetSlot_str)}: ${bytes(i.UploadWritten_u64)} of ${bytes(i.UploadRootfsSize_u64)}`
          : 'Checking the file…';
        status.textContent = `Sent ${bytes(sent)} of ${bytes(file.size)}. ${what}`;
      }
    })();
    try {
      const { status: code, body } = await up.done;
      finished = true;
      const answer = body as FirmwareUploadAnswer | null;
      if (code === 200 && answer?.ok) {
        status.textContent = '';
        showState(await ctx.api.call<FirmwareInfo>('GetFirmwareInfo'));
      } else if (answer && !answer.ok) {
        replace(result, renderRefused(answer.reason, answer.error));
        status.textContent = '';
      } else if (code !== 401) {
        throw new ApiError(`The upload failed: HTTP ${code}`, code, code);
      }
    } catch (err) {
      // Cancelled because the daemon already refused the file: that answer is on screen.
      if (!(finished && result.querySelector('[data-upload-result="error"]'))) setFormError(form, err instanceof Error ? err.message : String(err));
      status.textContent = '';
    } finally {
      finished = true;
      abortUpload = null;
      bar.hidden = true;
      cancelBtn.hidden = true;
      uploadBtn.disabled = !info.HasSlots_bool;
      uploadBtn.removeAttribute('aria-busy');
      await watch;
    }
  }

  async function onApply(): Promise<void> {
    const v = info.UploadVersion_str;
    const slot = info.UploadTargetSlot_str;
    const ok = await confirmDialog(
      `Apply firmware ${v} and reboot?`,
      `The appliance restarts from ${slotName(slot)} with firmware ${v}; cascades and bridges are down for the time of a reboot. If the new firmware does not come up, the next restart goes back to ${info.Version_str}.`,
      'Apply and reboot',
    );
    if (!ok) return;
    try {
      await busy(applyBtn, 'Applying…', () => ctx.api.call('ApplyFirmware', { Version_str: v }));
    } catch (err) {
      setFormError(form, err instanceof Error ? err.message : String(err));
      return;
    }
    rebooting = true;
    sessionStorage.setItem(EXPECT_KEY, JSON.stringify({ version: v, slot, from: info.Version_str } satisfies Expectation));
    setReturnTo('#/firmware');
    applyBtn.hidden = true;
    uploadBtn.disabled = true;
    status.textContent = `Firmware ${v} applied. The appliance is rebooting; this page reconnects when it is back.`;
    await waitForReboot(ctx);
  }

  /** Wait until the daemon went away and answers again (a new process: the session is gone), then sign in. */
  async function waitForReboot(c: Ctx): Promise<void> {
    const end = Date.now() + REBOOT_WAIT_MS;
    let wentDown = false;
    while (!leaving && Date.now() < end) {
      await sleep(2000);
      const st = await authState();
      if (st === null) {
        wentDown = true;
        status.textContent = 'The appliance is rebooting…';
        continue;
      }
      if (wentDown || !st.loggedIn) {
        c.setFlash('The appliance has restarted. Sign in to see the firmware it runs now.');
        await c.refreshAuth();
        c.navigate('#/login');
        return;
      }
      // Still the old process: the reboot itself may have failed.
      const i = await c.api.call<FirmwareInfo>('GetFirmwareInfo').catch(() => null);
      if (i?.UploadPhase_str === 'failed') {
        rebooting = false;
        sessionStorage.removeItem(EXPECT_KEY);
        status.textContent = '';
        replace(result, renderRefused(i.UploadReason_str, i.UploadError_utf));
        return;
      }
    }
    if (!leaving) status.textContent = 'The appliance has not come back within 10 minutes. Check its console; it falls back to the previous firmware if the new one does not start.';
  }
};

/** GET /auth/state without the API client's session handling; null while the appliance does not answer. */
async function authState(): Promise<{ loggedIn: boolean } | null> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 4000);
  try {
    const res = await fetch('/auth/state', { cache: 'no-store', credentials: 'same-origin', signal: ctl.signal });
    return res.ok ? ((await res.json()) as { loggedIn: boolean }) : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
