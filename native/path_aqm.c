#include "path_aqm.h"

#include <string.h>

#include "checksum.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
/* A timed segment whose ACK has not come within this is given up (the ACK was lost, or the flow went quiet). */
#define SAMPLE_TIMEOUT_NS 2000000000ull
/* A slot whose flow sent nothing for this long may be taken by another flow. */
#define IDLE_NS 5000000000ull
/* ... and so may one that has had no answer through the bridge for this long since it took the slot: traffic
 * between two LAN hosts, which the packet socket reads too (its ACKs never come from the tunnel). */
#define UNANSWERED_NS 1000000000ull
/* A delay estimate older than this counts as none (the flow's ACKs stopped coming). */
#define STALE_NS 1000000000ull

typedef struct tcp_view {
  uint8_t v6;
  const uint8_t *src, *dst; /* 4 or 16 bytes */
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;
  uint32_t payload;
} tcp_view;

/* Ethernet (at most one VLAN tag) + IPv4 (not a fragment) or IPv6 (TCP as the first next header) + TCP. */
static int parse_tcp(const uint8_t *f, size_t len, tcp_view *t) {
  size_t off = 12;
  if (len < 14) return 0;
  uint16_t type = seb_get_be16(f + off);
  if (type == 0x8100 || type == 0x88a8) {
    off += 4;
    if (len < off + 2) return 0;
    type = seb_get_be16(f + off);
  }
  const uint8_t *ip = f + off + 2;
  size_t room = len - (off + 2);
  size_t l4, l4len;
  if (type == 0x0800) {
    if (room < 20 || (ip[0] >> 4) != 4 || ip[9] != 6) return 0;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < 20 || (seb_get_be16(ip + 6) & 0x3fff)) return 0; /* a fragment has no (complete) TCP header */
    size_t total = seb_get_be16(ip + 2);
    if (total > room) total = room; /* a super-frame from GRO may say less or more; trust what is there */
    if (total < ihl + 20) return 0;
    t->v6 = 0;
    t->src = ip + 12;
    t->dst = ip + 16;
    l4 = ihl;
    l4len = total - ihl;
  } else if (type == 0x86dd) {
    if (room < 60 || (ip[0] >> 4) != 6 || ip[6] != 6) return 0;
    size_t plen = seb_get_be16(ip + 4);
    if (plen == 0 || plen > room - 40) plen = room - 40;
    if (plen < 20) return 0;
    t->v6 = 1;
    t->src = ip + 8;
    t->dst = ip + 24;
    l4 = 40;
    l4len = plen;
  } else {
    return 0;
  }
  const uint8_t *th = ip + l4;
  size_t thlen = (size_t)(th[12] >> 4) * 4;
  if (thlen < 20 || thlen > l4len) return 0;
  t->sport = seb_get_be16(th);
  t->dport = seb_get_be16(th + 2);
  t->seq = seb_get_be32(th + 4);
  t->ack = seb_get_be32(th + 8);
  t->flags = th[13];
  t->payload = (uint32_t)(l4len - thlen);
  return 1;
}

static int seq_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static int seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

static uint32_t flow_hash(int v6, const uint8_t *lan, const uint8_t *far, uint16_t lp, uint16_t fp) {
  size_t n = v6 ? 16 : 4;
  uint32_t h = 2166136261u ^ (uint32_t)v6;
  for (size_t i = 0; i < n; i++) h = (h ^ lan[i]) * 16777619u;
  for (size_t i = 0; i < n; i++) h = (h ^ far[i]) * 16777619u;
  h = (h ^ lp) * 16777619u;
  h = (h ^ fp) * 16777619u;
  return h ^ (h >> 15);
}

/* Whether the flow sent in bulk in its current or previous interval, as of `now` (windows that have aged out count
 * as nothing): the same test that makes its segments droppable. */
static int flow_sends_bulk(const seb_path_flow *fl, uint64_t now, uint64_t interval_ns) {
  uint64_t age = now - fl->win_start;
  if (age >= 2 * interval_ns) return 0;
  if (age >= interval_ns) return fl->win_frames >= SEB_PATH_BULK_FRAMES; /* about to become the previous window */
  return fl->win_frames >= SEB_PATH_BULK_FRAMES || fl->prev_frames >= SEB_PATH_BULK_FRAMES;
}

/* Whether the flow in a slot keeps it against a newcomer: one placed less than an interval ago (it has not shown yet
 * what it is), or one that sends in bulk, lately, and is answered through the bridge (or took the slot less than
 * UNANSWERED_NS ago). Anything else is never going to be dropped, so timing it is worth nothing. */
static int slot_kept(const seb_path_flow *fl, uint64_t now, uint64_t interval_ns) {
  if (!fl->used || now - fl->last_seen >= IDLE_NS) return 0;
  if (now - fl->born < interval_ns) return 1;
  return flow_sends_bulk(fl, now, interval_ns) && (fl->base != UINT64_MAX || now - fl->born < UNANSWERED_NS);
}

static int flow_is(const seb_path_flow *fl, int v6, const uint8_t *lan, const uint8_t *far, uint16_t lp, uint16_t fp) {
  size_t n = v6 ? 16 : 4;
  return fl->used && fl->v6 == v6 && fl->lan_port == lp && fl->far_port == fp && memcmp(fl->lan, lan, n) == 0 &&
         memcmp(fl->far, far, n) == 0;
}

static seb_path_flow *find(seb_path_aqm *p, int v6, const uint8_t *lan, const uint8_t *far, uint16_t lp, uint16_t fp) {
  seb_path_flow *fl = &p->flow[flow_hash(v6, lan, far, lp, fp) & (SEB_PATH_FLOWS - 1)];
  return flow_is(fl, v6, lan, far, lp, fp) ? fl : NULL;
}

static void flow_reset(seb_path_aqm *p, seb_path_flow *fl, const tcp_view *t, uint64_t now) {
  memset(fl, 0, sizeof *fl);
  fl->used = 1;
  fl->v6 = t->v6;
  memcpy(fl->lan, t->src, t->v6 ? 16 : 4);
  memcpy(fl->far, t->dst, t->v6 ? 16 : 4);
  fl->lan_port = t->sport;
  fl->far_port = t->dport;
  fl->snd_max = t->seq;
  fl->base = UINT64_MAX;
  fl->win_start = now;
  fl->born = now;
  seb_codel_init(&fl->codel, p->target_ns, p->interval_ns);
}

void seb_path_aqm_init(seb_path_aqm *p, uint64_t target_ns, uint64_t interval_ns) {
  memset(p, 0, sizeof *p);
  p->target_ns = target_ns;
  p->interval_ns = interval_ns;
}

const seb_path_flow *seb_path_aqm_lookup(const seb_path_aqm *p, const uint8_t *frame, size_t len) {
  tcp_view t;
  if (!parse_tcp(frame, len, &t)) return NULL;
  return find((seb_path_aqm *)p, t.v6, t.src, t.dst, t.sport, t.dport);
}

int seb_path_aqm_outbound(seb_path_aqm *p, uint64_t now, const uint8_t *frame, size_t len) {
  tcp_view t;
  if (p->target_ns == 0 || !parse_tcp(frame, len, &t)) return 0;
  if (t.flags & (TCP_SYN | TCP_RST)) {
    seb_path_flow *old = find(p, t.v6, t.src, t.dst, t.sport, t.dport);
    if (old) old->used = 0; /* a new connection on the same ports starts from nothing */
    return 0;
  }
  if (t.payload == 0 || (t.flags & TCP_FIN)) return 0; /* pure ACKs (half of what a download sends) end here */
  seb_path_flow *fl = &p->flow[flow_hash(t.v6, t.src, t.dst, t.sport, t.dport) & (SEB_PATH_FLOWS - 1)];
  if (!flow_is(fl, t.v6, t.src, t.dst, t.sport, t.dport)) {
    /* A bulk flow in the slot that is answered through the bridge keeps it (slot_kept); the newcomer then goes
     * untimed (and is never dropped). */
    if (slot_kept(fl, now, p->interval_ns)) return 0;
    flow_reset(p, fl, &t, now);
  }
  fl->last_seen = now;
  if (now - fl->win_start >= p->interval_ns) {
    fl->prev_frames = now - fl->win_start < 2 * p->interval_ns ? fl->win_frames : 0;
    fl->win_frames = 0;
    fl->win_start = now;
  }
  fl->win_frames++;

  uint32_t end = t.seq + t.payload;
  if (seq_after(end, fl->snd_max)) {
    int fresh = seq_geq(t.seq, fl->snd_max); /* wholly new data, not a retransmission that also carries some */
    fl->snd_max = end;
    if (fresh && !fl->hold && (!fl->armed || now - fl->sent > SAMPLE_TIMEOUT_NS)) {
      fl->armed = 1;
      fl->seq_end = end;
      fl->sent = now;
    }
  } else if (fl->armed && seq_after(fl->seq_end, t.seq)) {
    fl->armed = 0; /* the timed segment (or data before it) is sent again: its ACK would time the repair (Karn) */
  }

  int bulk = t.payload >= SEB_PATH_BULK_PAYLOAD && flow_sends_bulk(fl, now, p->interval_ns);
  uint64_t delay = fl->base != UINT64_MAX && now - fl->last_sample < STALE_NS ? fl->delay : 0;
  if (!seb_codel_decide(&fl->codel, now, delay, bulk)) return 0;
  /* Dropped: the ACKs stop at the hole until the sender repairs it, so nothing is timed until they pass it. */
  fl->armed = 0;
  fl->hold = 1;
  fl->recover = fl->snd_max;
  if (fl->codel.count >= SEB_PATH_REBASE_DROPS) {
    /* Dropping for ~2 s has not brought the delay below the target once: the path itself got longer. */
    fl->base = UINT64_MAX;
    seb_codel_init(&fl->codel, p->target_ns, p->interval_ns);
    p->rebases++;
  }
  return 1;
}

void seb_path_aqm_inbound(seb_path_aqm *p, uint64_t now, const uint8_t *frame, size_t len) {
  tcp_view t;
  if (p->target_ns == 0 || !parse_tcp(frame, len, &t) || !(t.flags & TCP_ACK)) return;
  seb_path_flow *fl = find(p, t.v6, t.dst, t.src, t.dport, t.sport);
  if (!fl) return;
  if (fl->hold && seq_geq(t.ack, fl->recover)) fl->hold = 0;
  if (!fl->armed || !seq_geq(t.ack, fl->seq_end)) return;
  fl->armed = 0;
  if (now < fl->sent) return; /* not a clock the caller may pass; no sample */
  uint64_t rtt = now - fl->sent;
  if (rtt < fl->base) fl->base = rtt;
  fl->delay = rtt - fl->base;
  fl->last_sample = now;
  p->samples++;
}
