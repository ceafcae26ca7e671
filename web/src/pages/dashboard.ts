/**
 * The dashboard: one card per cascade (state with a live countdown, connections, throughput + chart,
 * server identity, certificate trust, last error), the bridges, the system and current health warnings.
 * Everything refreshes through the shared poller; cards are updated in place so charts and focus survive.
 * A cascade refused because its server presented another certificate shows both fingerprints and the one
 * explicit way to accept the new one (TrustLinkCert, after a confirm dialog).
 */
import type { Ctx, Page } from '../app.ts';
import { confirmDialog, h, replace, toast } from '../dom.ts';
import { bytes, count, dateTime, dropReason, duration, fingerprint, parseDate, percent, rate, sameFingerprint, since, speed, version } from '../format.ts';
import { fingerprintCode } from '../fingerprint-view.ts';
import { TrafficChart } from '../chart.ts';
import { renderWarnings } from '../health-view.ts';
import type { BridgeEx, HealthWarning, LinkEx, SystemStatus, TrafficHistory } from '../types.ts';

export const STATE_LABEL: Record<string, string> = {
  online: 'Online',
  connecting: 'Connecting',
  waiting: 'Waiting to retry',
  offline: 'Offline',
};

interface Card {
  el: HTMLElement;
  info: HTMLElement;
  live: HTMLElement;
  /** The certificate warning; re-rendered only when what it shows changes, so its button keeps focus. */
  cert: HTMLElement;
  certKey: string;
  chart: TrafficChart;
  link: LinkEx;
  /** When the traffic history is due next (ms); 0 = at once (a new card). */
  historyDue: number;
}

/** How often a card's chart is refreshed (the history's own interval is 10 s). */
const HISTORY_EVERY_MS = 10_000;

/** The per-second part of a card: state, countdown to the next attempt, uptime. */
function liveLine(l: LinkEx, now: number): HTMLElement {
  const next = parseDate(l.NextAttempt_dt);
  const up = since(l.ConnectedSince_dt, now);
  let detail = '';
  if (l.State_str === 'waiting' && next !== null) detail = `next attempt in ${duration(Math.max(0, Math.ceil((next - now) / 1000)))}`;
  else if (l.State_str === 'online' && up !== null) detail = `up ${duration(up)}`;
  else if (l.State_str === 'connecting') detail = 'logging in…';
  return h(
    'p',
    { class: 'state-line' },
    h('span', { class: `state state-${l.State_str}`, 'data-k': 'state' }, STATE_LABEL[l.State_str] ?? l.State_str),
    detail ? h('span', { class: 'state-detail', 'data-k': 'state-detail' }, detail) : null,
  );
}

function connectionsText(l: LinkEx): string {
  const max = l.GrantedConnections_u32 || l.MaxConnection_u32;
  let s = `${l.Connections_u32} of ${max}`;
  if (l.GrantedConnections_u32 && l.GrantedConnections_u32 < l.MaxConnection_u32) s += ` (server granted ${l.GrantedConnections_u32} of ${l.MaxConnection_u32})`;
  if (l.HalfConnection_bool) s += ` · ${l.ConnectionsUp_u32} up / ${l.ConnectionsDown_u32} down`;
  return s;
}

function kv(label: string, value: string | Node, key?: string): HTMLElement[] {
  return [h('dt', null, label), h('dd', { 'data-k': key }, value)];
}

function cardInfo(l: LinkEx): HTMLElement {
  const hasServer = Boolean(l.ServerProductName_str);
  return h(
    'div',
    { class: 'card-info' },
    h(
      'div',
      { class: 'rates' },
      h('div', null, h('span', { class: 'muted small' }, 'Receiving'), h('strong', { 'data-k': 'rate-in' }, rate(l.RateIn_u64))),
      h('div', null, h('span', { class: 'muted small' }, 'Sending'), h('strong', { 'data-k': 'rate-out' }, rate(l.RateOut_u64))),
    ),
    h(
      'dl',
      { class: 'kv' },
      kv('TCP connections', connectionsText(l), 'connections'),
      kv('Reconnects', count(l.Reconnects_u32), 'reconnects'),
      kv('Traffic', `${bytes(l.BytesIn_u64)} in · ${bytes(l.BytesOut_u64)} out · ${count(l.Drops_u64)} dropped`),
      kv('Server', hasServer ? `${l.ServerProductName_str} ${version(l.ServerVersion_u32, l.ServerBuild_u32)}` : '–', 'server'),
      kv('Encryption', [l.TlsVersion_str, l.CipherName_str].filter(Boolean).join(', ') || (l.UseEncrypt_bool ? '–' : 'off')),
      kv('Certificate', certificateLine(l), 'certificate'),
    ),
    l.LastError_u32
      ? h(
          'div',
          // Once the cascade is back online the last error is history, not an alarm.
          { class: l.State_str === 'online' ? 'last-error past' : 'last-error', 'data-k': 'last-error' },
          h('strong', null, l.State_str === 'online' ? 'Previous error' : 'Last error'),
          h('span', { class: 'muted small' }, ` ${dateTime(l.LastErrorTime_dt)}`),
          h('p', null, l.LastErrorText_utf || `Error ${l.LastError_u32}`),
          // A certificate refusal has its own explanation and action above; the generic hint would mislead.
          l.LastErrorHint_utf && !l.PresentedCertSha256_str ? h('p', { class: 'hint' }, l.LastErrorHint_utf) : null,
        )
      : null,
  );
}

/** The certificate check in one line: its mode, the pinned fingerprint, and whether the connection matches it. */
function certificateLine(l: LinkEx): HTMLElement {
  const mode = l.CertCheck_str;
  if (mode === 'off') {
    return h(
      'div',
      { 'data-cert': 'off' },
      h('span', { class: 'tag tag-bad' }, 'not checked'),
      h('span', { class: 'muted small' }, ' any certificate is accepted (turn the check on in the cascade\'s settings)'),
      l.ServerCertSha256_str ? h('div', null, fingerprintCode(l.ServerCertSha256_str)) : null,
    );
  }
  if (mode === 'pinned' && l.PinnedCertSha256_str) {
    const matching = l.State_str === 'online' && sameFingerprint(l.ServerCertSha256_str, l.PinnedCertSha256_str);
    return h(
      'div',
      { 'data-cert': 'pinned' },
      h('span', { class: 'tag tag-ok' }, 'pinned'),
      matching ? h('span', { class: 'muted small' }, ' the server presents this certificate') : null,
      h('div', null, fingerprintCode(l.PinnedCertSha256_str, { 'data-k': 'pinned-fingerprint' })),
    );
  }
  return h(
    'div',
    { 'data-cert': 'first-use' },
    h('span', { class: 'tag' }, 'trust on first use'),
    h('span', { class: 'muted small' }, ' the first successful login records the server\'s certificate'),
    l.ServerCertSha256_str ? h('div', null, fingerprintCode(l.ServerCertSha256_str)) : null,
  );
}

/**
 * The warning shown while the cascade is refused for its certificate: the server presented another certificate
 * than the trusted one (or, for a plain-text password, none is trusted yet). Both fingerprints, and the button
 * that accepts exactly the presented one.
 */
function certificateWarning(ctx: Ctx, l: LinkEx): HTMLElement | null {
  const presented = l.PresentedCertSha256_str;
  if (!presented) return null;
  const name = l.AccountName_utf;
  const changed = Boolean(l.PinnedCertSha256_str);
  const accept = h('button', { type: 'button', class: 'btn btn-small btn-primary' }, changed ? 'Accept the new certificate' : 'Trust this certificate');
  accept.onclick = async () => {
    const ok = await confirmDialog(
      changed ? 'Accept the new certificate?' : 'Trust this certificate?',
      `"${name}" will log in to ${l.Hostname_str} only if it presents the certificate with SHA-256 ${fingerprint(presented)}. ` +
        'Accept it only if this fingerprint matches the one the server\'s administrator gives you: an unexpected change can mean someone is intercepting the connection.',
      changed ? 'Accept the new certificate' : 'Trust this certificate',
      false,
    );
    if (!ok) return;
    accept.disabled = true;
    try {
      // Exactly the fingerprint the user saw and confirmed, even if the server changed again meanwhile.
      await ctx.api.call('TrustLinkCert', { AccountName_utf: name, ServerCertSha256_str: presented });
      toast(`"${name}" now trusts the new certificate; logging in again.`);
      ctx.poller.refresh();
    } catch (err) {
      accept.disabled = false;
      toast(err instanceof Error ? err.message : String(err), 'error');
    }
  };
  return h(
    'div',
    { class: 'cert-warning', role: 'alert', 'data-k': 'cert-warning' },
    h('strong', null, changed ? 'The server\'s certificate changed' : 'The server\'s certificate is not trusted yet'),
    h(
      'p',
      null,
      changed
        ? 'The cascade does not log in until you accept the new certificate. If the server\'s administrator did not replace it, do not accept it.'
        : 'This cascade sends its password as plain text, so it logs in only to a server whose certificate you have accepted.',
    ),
    h(
      'dl',
      { class: 'kv' },
      changed ? kv('Trusted', fingerprintCode(l.PinnedCertSha256_str), 'trusted-fingerprint') : null,
      kv('Presented now', fingerprintCode(presented), 'presented-fingerprint'),
    ),
    h('div', { class: 'actions' }, accept),
  );
}

function newCard(ctx: Ctx, l: LinkEx): Card {
  const live = h('div', { class: 'live' });
  const info = h('div');
  const cert = h('div');
  const chartBox = h('div', { class: 'chart', 'aria-label': `Throughput history of ${l.AccountName_utf}`, role: 'img' });
  const reconnect = h('button', { type: 'button', class: 'btn btn-small' }, 'Reconnect now');
  const el = h(
    'article',
    { class: 'card cascade-card', 'data-cascade': l.AccountName_utf, 'aria-label': `Cascade ${l.AccountName_utf}` },
    h(
      'header',
      { class: 'card-head' },
      h('div', null, h('h3', null, l.AccountName_utf), h('p', { class: 'muted small', 'data-k': 'target' })),
      reconnect,
    ),
    live,
    cert,
    h('div', { class: 'card-body' }, info, h('div', { class: 'chart-col' }, h('p', { class: 'muted small chart-title' }, 'Throughput, last 5 minutes'), chartBox)),
  );
  const card: Card = { el, info, live, cert, certKey: '', chart: new TrafficChart(chartBox), link: l, historyDue: 0 };
  reconnect.onclick = async () => {
    reconnect.disabled = true;
    try {
      await ctx.api.call('ReconnectLink', { AccountName_utf: card.link.AccountName_utf });
      toast(`Reconnecting "${card.link.AccountName_utf}"…`);
      ctx.poller.refresh();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), 'error');
    } finally {
      reconnect.disabled = false;
    }
  };
  return card;
}

function updateCard(ctx: Ctx, card: Card, l: LinkEx): void {
  card.link = l;
  card.el.dataset.state = l.State_str;
  (card.el.querySelector('[data-k="target"]') as HTMLElement).textContent = `${l.Username_str ? `${l.Username_str} @ ` : ''}${l.Hostname_str}:${l.Port_u32} · hub ${l.TargetHubName_str}`;
  (card.el.querySelector('button') as HTMLButtonElement).hidden = !l.Online_bool;
  replace(card.live, liveLine(l, Date.now()));
  replace(card.info, cardInfo(l));
  const certKey = `${l.PresentedCertSha256_str}|${l.PinnedCertSha256_str}`;
  if (certKey !== card.certKey) {
    card.certKey = certKey;
    replace(card.cert, certificateWarning(ctx, l));
  }
}

function bridgeCard(b: BridgeEx): HTMLElement {
  const status = !b.Present_bool ? ['missing', 'Device missing'] : !b.Carrier_bool ? ['down', 'No carrier'] : b.Active_bool ? ['ok', 'Active'] : ['down', 'Inactive'];
  const drops = b.DropList.filter((d) => d.Count_u64 > 0);
  return h(
    'article',
    { class: 'card bridge-card', 'data-bridge': b.DeviceName_str, 'aria-label': `Bridge ${b.DeviceName_str}` },
    h(
      'header',
      { class: 'card-head' },
      h('div', null, h('h3', null, b.DeviceName_str), h('p', { class: 'muted small' }, b.TapMode_bool ? `TAP device${b.LinuxBridge_str ? ` in bridge ${b.LinuxBridge_str}` : ''}` : 'Network port (raw)')),
      h('span', { class: `state state-${status[0] === 'ok' ? 'online' : 'offline'}` }, status[1]),
    ),
    h(
      'dl',
      { class: 'kv' },
      kv('Link', b.Carrier_bool ? speed(b.SpeedMbps_u32) : 'no carrier'),
      kv('MAC address', b.MacAddress_str ? h('code', null, b.MacAddress_str) : '–'),
      kv('Frames', `${count(b.FramesIn_u64)} in · ${count(b.FramesOut_u64)} out`),
      kv('Bytes', `${bytes(b.BytesIn_u64)} in · ${bytes(b.BytesOut_u64)} out`),
      kv('Drops', drops.length ? h('ul', { class: 'drops' }, drops.map((d) => h('li', { title: d.Reason_str }, `${dropReason(d.Reason_str)}: ${count(d.Count_u64)}`))) : 'none'),
    ),
    b.LastError_utf ? h('p', { class: 'last-error' }, b.LastError_utf) : null,
  );
}

function meter(label: string, pct: number, text: string): HTMLElement {
  const m = h('meter', { min: 0, max: 100, value: String(pct), 'aria-label': label });
  (m as HTMLMeterElement).low = 70;
  (m as HTMLMeterElement).high = 90;
  (m as HTMLMeterElement).optimum = 0;
  return h('div', { class: 'tile' }, h('span', { class: 'muted small' }, label), h('strong', null, text), m);
}

function systemView(s: SystemStatus): HTMLElement {
  const memPct = percent(s.MemUsed_u64, s.MemTotal_u64);
  const diskPct = percent(s.DiskUsed_u64, s.DiskTotal_u64);
  return h(
    'div',
    null,
    s.ConfigWarnings_utf ? h('div', { class: 'form-error', role: 'alert' }, h('strong', null, 'Configuration: '), s.ConfigWarnings_utf) : null,
    h(
      'div',
      { class: 'tiles' },
      meter('CPU', s.CpuPercent_u32, `${s.CpuPercent_u32} %`),
      meter('Memory', memPct, `${bytes(s.MemUsed_u64)} of ${bytes(s.MemTotal_u64)}`),
      meter('Disk', diskPct, `${bytes(s.DiskUsed_u64)} of ${bytes(s.DiskTotal_u64)}`),
      h('div', { class: 'tile' }, h('span', { class: 'muted small' }, 'Temperature'), h('strong', null, s.HasTemperature_bool ? `${s.TemperatureC_u32} °C` : 'not available')),
      h('div', { class: 'tile' }, h('span', { class: 'muted small' }, 'System uptime'), h('strong', null, duration(s.SystemUptime_u64))),
      h('div', { class: 'tile' }, h('span', { class: 'muted small' }, 'sebridge'), h('strong', null, `${s.Version_str}`), h('span', { class: 'muted small' }, `up ${duration(s.ProcessUptime_u64)} · ${bytes(s.ProcessRss_u64)} RSS · loop p99 ${(s.EventLoopDelayP99Us_u32 / 1000).toFixed(1)} ms`)),
    ),
  );
}

export const dashboardPage: Page = (ctx) => {
  const warnBox = h('div', { 'aria-live': 'polite' });
  const cascadesBox = h('div', { class: 'grid grid-wide' });
  const bridgesBox = h('div', { class: 'grid' });
  const systemBox = h('div');
  ctx.main.append(
    h('h1', null, 'Dashboard'),
    h('section', { 'aria-labelledby': 'sec-health' }, h('h2', { id: 'sec-health' }, 'Health'), warnBox),
    h('section', { 'aria-labelledby': 'sec-casc' }, h('h2', { id: 'sec-casc' }, 'Cascades'), cascadesBox),
    h('section', { 'aria-labelledby': 'sec-br' }, h('h2', { id: 'sec-br' }, 'Bridges'), bridgesBox),
    h('section', { 'aria-labelledby': 'sec-sys' }, h('h2', { id: 'sec-sys' }, 'System'), systemBox),
  );

  const cards = new Map<string, Card>();
  ctx.onLeave(() => {
    for (const c of cards.values()) c.chart.destroy();
    cards.clear();
  });
  ctx.poll(2, async () => {
    const { LinkList } = await ctx.api.call<{ LinkList: LinkEx[] }>('EnumLinkEx');
    const seen = new Set<string>();
    for (const l of LinkList) {
      seen.add(l.AccountName_utf);
      let card = cards.get(l.AccountName_utf);
      if (!card) {
        card = newCard(ctx, l);
        cards.set(l.AccountName_utf, card);
        cascadesBox.append(card.el);
      }
      updateCard(ctx, card, l);
    }
    for (const [name, card] of cards) {
      if (seen.has(name)) continue;
      card.chart.destroy();
      card.el.remove();
      cards.delete(name);
    }
    if (LinkList.length === 0) {
      replace(cascadesBox, h('div', { class: 'card empty' }, h('p', null, 'No cascade is set up yet.'), h('a', { class: 'btn btn-primary', href: '#/wizard' }, 'Run the setup wizard')));
    } else cascadesBox.querySelector('.empty')?.remove();
    // Then the charts, in the same task so GetTrafficHistory never overlaps itself: one request at a time,
    // however many cascades there are; a new card's chart is filled at once, then every HISTORY_EVERY_MS.
    for (const card of [...cards.values()]) {
      if (Date.now() < card.historyDue) continue;
      const hist = await ctx.api.call<TrafficHistory>('GetTrafficHistory', { AccountName_utf: card.link.AccountName_utf });
      card.historyDue = Date.now() + HISTORY_EVERY_MS;
      if (cards.get(card.link.AccountName_utf) === card) card.chart.update(hist);
    }
  });
  ctx.poller.onTick(() => {
    const now = Date.now();
    for (const card of cards.values()) replace(card.live, liveLine(card.link, now));
  });
  ctx.poll(5, async () => {
    const { LocalBridgeList } = await ctx.api.call<{ LocalBridgeList: BridgeEx[] }>('EnumLocalBridgeEx');
    replace(bridgesBox, LocalBridgeList.length ? LocalBridgeList.map(bridgeCard) : h('p', { class: 'muted' }, 'No local bridge. ', h('a', { href: '#/bridges' }, 'Add one')));
  });
  ctx.poll(5, async () => {
    replace(systemBox, systemView(await ctx.api.call<SystemStatus>('GetSystemStatus')));
  });
  ctx.poll(5, async () => {
    const { WarningList } = await ctx.api.call<{ WarningList: HealthWarning[] }>('GetHealth');
    replace(warnBox, renderWarnings(WarningList));
  });
};
