#include "channel_io.h"

#include "tx_coalesce.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define RX_ROUNDS 4 /* receive batches per turn before the transmit side gets its turn again */
/* While bulk data flows (the previous hand-over carried at least RX_LINGER_MIN_BYTES), hand-overs to JS happen at
 * most every RX_LINGER_NS (an arena less than 3/4 full waits until then). Each hand-over becomes one TLS write on
 * the cascade, and the stock server pays per record and per read on its one session thread, the bottleneck of the
 * LAN→server direction: without this, the thread handed over ~3 times as often as the old single-threaded loop
 * read, and LAN→server throughput fell. Small traffic (a ping on a quiet link, the TCP ACKs of a download) and
 * urgent frames (ICMP echo and the like, IPv4 with a ToS: SoftEther's QoS class) never wait. */
#define RX_LINGER_NS 300000
#define RX_LINGER_MIN_BYTES (8 * 1024)

/* Written in front of every transmitted frame on a packet socket: PACKET_VNET_HDR applies to both directions. */
static const struct virtio_net_hdr zero_vh;

static int stopping(seb_channel_io *io) { return __atomic_load_n(&io->stop, __ATOMIC_ACQUIRE); }

/* The receive counters are written by whoever receives (the I/O thread, or the JS thread with rx_on_loop), the
 * transmit counters only by the I/O thread: each side publishes only its own fields. */
static void publish_rx_counters(seb_channel_io *io) {
  pthread_mutex_lock(&io->pub_lock);
  io->st_pub.rx = io->st.rx;
  io->st_pub.rx_truncated = io->st.rx_truncated;
  io->st_pub.rx_errors = io->st.rx_errors;
  io->st_pub.rx_outgoing_seen = io->st.rx_outgoing_seen;
  io->st_pub.rx_drop_aqm = io->st.rx_drop_aqm;
  io->st_pub.rx_drop_path_aqm = io->st.rx_drop_path_aqm;
  io->st_pub.last_rx_errno = io->st.last_rx_errno;
  pthread_mutex_unlock(&io->pub_lock);
}

static void publish_tx_counters(seb_channel_io *io) {
  pthread_mutex_lock(&io->pub_lock);
  io->st_pub.tx = io->st.tx;
  io->st_pub.tx_done = io->st.tx_done;
  pthread_mutex_unlock(&io->pub_lock);
}

void seb_io_counters_get(seb_channel_io *io, seb_io_counters *out) {
  pthread_mutex_lock(&io->pub_lock);
  *out = io->st_pub;
  pthread_mutex_unlock(&io->pub_lock);
}

static void drain_wake(seb_channel_io *io) {
  uint64_t v;
  while (read(io->wake_fd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
}

void seb_io_kick(seb_channel_io *io) {
  /* Pairs with the thread's "sleeping = 1, then look at the queues once more" (both sequentially consistent):
   * either the thread sees what we just queued, or we see that it sleeps and wake it. */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&io->sleeping, __ATOMIC_SEQ_CST)) {
    uint64_t one = 1;
    ssize_t r = write(io->wake_fd, &one, sizeof one);
    (void)r;
  }
}

static void notify_js(seb_channel_io *io) {
  publish_rx_counters(io); /* first, so JS never sees more frames than stats() counts */
  if (!io->rx_on_loop) uv_async_send(io->notify);
}

/* The current arena goes to the JS thread (it is full, or JS is idle and waiting for frames). */
static void push_current(seb_channel_io *io) {
  if (io->cur < 0 || io->arenas[io->cur].count == 0) return;
  seb_index_ring_push(&io->full_ring, (uint8_t)io->cur);
  io->last_push_bytes = io->arenas[io->cur].used;
  io->cur = -1;
  io->urgent = 0;
  io->scanned = 0;
  io->last_push_ns = seb_mono_ns();
  __atomic_store_n(&io->holding, 0, __ATOMIC_SEQ_CST);
  notify_js(io);
}

/* Nanoseconds the current (part-filled) arena should still wait for more frames; 0: hand it over now. */
static uint64_t linger_left(seb_channel_io *io) {
  const seb_arena *a = &io->arenas[io->cur];
  if (io->urgent || io->last_push_bytes < RX_LINGER_MIN_BYTES || a->used >= a->cap / 4 * 3) return 0;
  uint64_t since = seb_mono_ns() - io->last_push_ns;
  return since < RX_LINGER_NS ? RX_LINGER_NS - since : 0;
}

/* Frames are waiting, JS is idle (not processing, nothing waiting for it), and they have lingered long enough. */
static int should_push(seb_channel_io *io) {
  if (io->rx_on_loop) return io->cur >= 0 && io->arenas[io->cur].count > 0;
  return io->cur >= 0 && io->arenas[io->cur].count > 0 && !__atomic_load_n(&io->js_busy, __ATOMIC_SEQ_CST) &&
         seb_index_ring_empty(&io->full_ring) && linger_left(io) == 0;
}

/* After a read: hand the frames over if should_push; otherwise hold them and keep filling the same arena (JS
 * wakes us when it is done: seb_io_js_done; the linger ends by the poll timeout). */
static void offer(seb_channel_io *io) {
  if (io->cur < 0 || io->arenas[io->cur].count == 0) return;
  __atomic_store_n(&io->holding, 1, __ATOMIC_SEQ_CST);
  if (should_push(io)) push_current(io);
  else publish_rx_counters(io);
}

void seb_io_js_busy(seb_channel_io *io) { __atomic_store_n(&io->js_busy, 1, __ATOMIC_SEQ_CST); }

void seb_io_js_done(seb_channel_io *io) {
  __atomic_store_n(&io->js_busy, 0, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&io->holding, __ATOMIC_SEQ_CST)) seb_io_kick(io);
}

/* Block until `ready(io)` or stop; poll()s the wake eventfd and, if `ev` is non-zero, the channel's fd.
 * Returns the channel fd's revents (0 when only woken). */
static int wait_for(seb_channel_io *io, int (*ready)(seb_channel_io *), short ev) {
  __atomic_store_n(&io->sleeping, 1, __ATOMIC_SEQ_CST);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  int rev = 0;
  if (!stopping(io) && !(ready && ready(io))) {
    /* ev == 0: the fd is left out (a negative fd is ignored), so a pending socket error cannot make this spin */
    struct pollfd p[2] = {{io->wake_fd, POLLIN, 0}, {ev ? io->fd : -1, ev, 0}};
    /* Held frames that only wait for their linger to end: sleep no longer than that. */
    uint64_t left = io->cur >= 0 && io->arenas[io->cur].count > 0 ? linger_left(io) : 0;
    struct timespec ts = {0, (long)left};
    int n = ppoll(p, 2, left ? &ts : NULL, NULL);
    if (n > 0) {
      if (p[0].revents) drain_wake(io);
      rev = p[1].revents;
    }
  }
  __atomic_store_n(&io->sleeping, 0, __ATOMIC_SEQ_CST);
  return rev;
}

static int arena_available(seb_channel_io *io) { return !seb_index_ring_empty(&io->free_ring); }

/* ---------- receive ---------- */

/* seb_sink allocator: room for one frame in the current arena; takes the next arena (waiting for the JS thread to
 * return one if none is free) when the current one is full. NULL only when the channel is stopping. */
static uint8_t *arena_alloc(void *ctx, size_t len) {
  seb_channel_io *io = ctx;
  for (;;) {
    if (io->cur >= 0) {
      seb_arena *a = &io->arenas[io->cur];
      if (a->count < SEB_ARENA_FRAMES && a->used + len <= a->cap) {
        uint8_t *out = a->data + a->used;
        a->desc[a->count * 2] = a->used;
        a->desc[a->count * 2 + 1] = (uint32_t)len;
        a->count++;
        a->used += (uint32_t)((len + 7) & ~(size_t)7);
        return out;
      }
      push_current(io);
    }
    int next = seb_index_ring_pop(&io->free_ring);
    if (next >= 0) {
      io->cur = next;
      io->scanned = 0;
      io->arenas[next].used = 0;
      io->arenas[next].count = 0;
      continue;
    }
    if (stopping(io) || io->rx_on_loop) return NULL; /* on the JS thread nobody could return one: drop, counted */
    wait_for(io, arena_available, 0);
  }
}

/* Frames that should not wait for a linger: SoftEther's QoS class (IPv4 with a ToS other than 0/8, small ICMPv4)
 * and small ICMPv6 (echo, neighbour discovery). */
static int urgent_frame(const uint8_t *f, uint32_t len) {
  if (len < 34) return 0;
  if (f[12] == 0x08 && f[13] == 0x00) return (f[15] != 0 && f[15] != 8) || (f[23] == 1 && len <= 128);
  return f[12] == 0x86 && f[13] == 0xdd && len >= 54 && f[20] == 58 && len <= 160;
}

/* CoDel may drop IPv4/IPv6 frames outside the urgent class: a lost ARP, neighbour discovery or ping would cost more
 * than it signals (none of them is what fills the queue). */
static int aqm_droppable(const uint8_t *f, size_t len) {
  if (len < 14) return 0;
  int ip = (f[12] == 0x08 && f[13] == 0x00) || (f[12] == 0x86 && f[13] == 0xdd);
  return ip && !urgent_frame(f, (uint32_t)len);
}

static uint64_t timespec_ns(const struct timespec *t) { return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec; }

/* How long the frame waited in the socket's buffer: the kernel's receive timestamp against `real_now`. 0 when it is
 * not plausible (the wall clock stepped): such a frame never counts as late; nor does a read without stamps. */
static uint64_t frame_sojourn(const struct timespec *stamp, uint64_t real_now) {
  uint64_t t = timespec_ns(stamp);
  if (t == 0 || t > real_now || real_now - t > 10000000000u) return 0;
  return real_now - t;
}

/* Returns 1 when a whole batch was read (more may be waiting), 0 when the socket is drained or failed. */
static int read_packet_batch(seb_channel_io *io, const seb_sink *sink) {
  for (int i = 0; i < SEB_RX_BATCH; i++) {
    struct msghdr *m = &io->rx_msgs[i].msg_hdr;
    io->rx_iov[i][0].iov_base = &io->rx_vh[i];
    io->rx_iov[i][0].iov_len = sizeof io->rx_vh[i];
    io->rx_iov[i][1].iov_base = io->rx_mem + (size_t)i * SEB_RX_SLOT_STRIDE + SEB_RX_HEADROOM;
    io->rx_iov[i][1].iov_len = SEB_RX_SLOT_DATA;
    m->msg_name = &io->rx_addr[i];
    m->msg_namelen = sizeof io->rx_addr[i];
    m->msg_iov = io->rx_iov[i];
    m->msg_iovlen = 2;
    m->msg_control = io->rx_ctrl[i].buf;
    m->msg_controllen = sizeof io->rx_ctrl[i].buf;
    m->msg_flags = 0;
  }
  int n = recvmmsg(io->fd, io->rx_msgs, SEB_RX_BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == EINTR) return 1;
    /* EINVAL: the kernel could not describe a frame's offload state in a vnet header and discarded it. */
    if (errno == EINVAL) {
      io->st.rx.drop_bad_gso++;
      return 1;
    }
    /* ENETDOWN and friends: a one-shot report of the interface going away; the link monitor handles it. */
    io->st.rx_errors++;
    io->st.last_rx_errno = errno;
    return 0;
  }
  /* CoDel sees the wait of the oldest frame of this read, for every frame of it. The reader empties the buffer in
   * bursts (a loop turn), so the newest frames of a read have hardly waited even when the buffer was left unattended
   * for tens of ms each turn; judged frame by frame, every read would end the "standing" state (measured with a
   * throttled bridge: 8-25 ms average wait, the buffer emptied only 10-40 times a second, CoDel on each frame's own
   * wait dropped 3 frames in 8 s; bench/README.md, "CoDel at the LAN input"). */
  int aqm = io->aqm.target_ns != 0;
  seb_path_aqm *path = seb_io_path(io);
  uint64_t head_sojourn = 0;
  int head_known = 0;
  uint64_t real_now = 0, mono_now = 0;
  if (aqm) {
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt); /* the clock of the kernel's stamps */
    real_now = timespec_ns(&rt);
  }
  if (aqm || path) mono_now = seb_mono_ns(); /* CoDel's own timeline: steady */
  for (int i = 0; i < n; i++) {
    struct msghdr *m = &io->rx_msgs[i].msg_hdr;
    if (io->rx_addr[i].sll_pkttype == PACKET_OUTGOING) {
      io->st.rx_outgoing_seen++;
      continue;
    }
    if (m->msg_flags & MSG_TRUNC) {
      io->st.rx_truncated++;
      continue;
    }
    size_t got = io->rx_msgs[i].msg_len;
    if (got < sizeof(struct virtio_net_hdr)) {
      io->st.rx.drop_runt++;
      continue;
    }
    seb_vlan_info vlan = {0, 0, 0};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        if (aqm && !head_known) { /* only the read's oldest stamp counts */
          struct timespec stamp;
          memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
          head_sojourn = frame_sojourn(&stamp, real_now);
          head_known = 1;
        }
        continue;
      }
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if (aux.tp_status & TP_STATUS_VLAN_VALID) {
        vlan.valid = 1;
        vlan.tci = aux.tp_vlan_tci;
        vlan.tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0;
      }
    }
    uint8_t *frame = io->rx_iov[i][1].iov_base;
    size_t len = got - sizeof(struct virtio_net_hdr);
    if (aqm && seb_codel_decide(&io->aqm, mono_now, head_sojourn, aqm_droppable(frame, len))) {
      io->st.rx_drop_aqm++;
      continue;
    }
    if (path && seb_path_aqm_outbound(path, mono_now, frame, len)) {
      io->st.rx_drop_path_aqm++;
      continue;
    }
    seb_rx_process(frame, len, &io->rx_vh[i], &vlan, sink, &io->st.rx);
  }
  return n == SEB_RX_BATCH;
}

static int read_tap_batch(seb_channel_io *io, const seb_sink *sink) {
  uint8_t *buf = io->rx_mem + SEB_RX_HEADROOM;
  seb_path_aqm *path = seb_io_path(io);
  uint64_t mono_now = path ? seb_mono_ns() : 0;
  for (int i = 0; i < SEB_RX_BATCH; i++) {
    ssize_t r = read(io->fd, buf, SEB_RX_SLOT_DATA);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      io->st.rx_errors++;
      io->st.last_rx_errno = errno;
      return 0;
    }
    if (r == 0) return 0;
    if (path && seb_path_aqm_outbound(path, mono_now, buf, (size_t)r)) {
      io->st.rx_drop_path_aqm++;
      continue;
    }
    seb_rx_process(buf, (size_t)r, NULL, NULL, sink, &io->st.rx);
  }
  return 1;
}

/* Looks at the frames added to the current arena since the last look. */
static void scan_urgent(seb_channel_io *io) {
  if (io->cur < 0) return;
  const seb_arena *a = &io->arenas[io->cur];
  for (; io->scanned < a->count && !io->urgent; io->scanned++)
    io->urgent = urgent_frame(a->data + a->desc[io->scanned * 2], a->desc[io->scanned * 2 + 1]);
  io->scanned = a->count;
}

/* Up to RX_ROUNDS batches; offers what it read to the JS thread. Returns 1 when more may be waiting. */
static int receive(seb_channel_io *io) {
  seb_sink sink = {arena_alloc, io};
  int more = 0;
  for (int round = 0; round < RX_ROUNDS && !stopping(io); round++) {
    /* On the JS thread: only read what the free arenas can surely hold (64 frames need at most 2 when unsegmented). */
    if (io->rx_on_loop && io->cur < 0 && seb_index_ring_empty(&io->free_ring)) break;
    more = io->kind == SEB_CHANNEL_PACKET ? read_packet_batch(io, &sink) : read_tap_batch(io, &sink);
    if (!io->rx_on_loop) scan_urgent(io); /* only the thread lingers */
    if (!more) break;
  }
  offer(io);
  return more;
}

int seb_io_read_on_loop(seb_channel_io *io) {
  int more = receive(io);
  push_current(io);
  return more;
}

/* ---------- transmit ---------- */

static int tx_pending(seb_channel_io *io) { return SEB_LOAD_ACQ(&io->tx.tail) != io->tx.head; }

/* One sendmmsg's worth of messages built from frames[0..n): each message is one frame as it is (behind the all-zero
 * vnet header) or, with `gso`, a run of TCP segments as one super-frame (tx_coalesce.h). */
typedef struct tx_batch {
  struct mmsghdr msgs[SEB_TX_BATCH];
  struct iovec iov[3 * SEB_TX_BATCH]; /* per message a vnet header and a frame, or a vnet header, headers, payloads */
  struct virtio_net_hdr vh[SEB_TX_BATCH];
  uint8_t hdr[SEB_TX_BATCH][SEB_GSO_MAX_HDR];
  unsigned frames_in[SEB_TX_BATCH]; /* how many of the frames each message carries */
  seb_tcp_seg seg[SEB_TX_BATCH];
  uint8_t is_seg[SEB_TX_BATCH];
} tx_batch;

static unsigned build_batch(tx_batch *b, const uint8_t *const *frames, const uint32_t *lens, unsigned n, int gso) {
  if (n > SEB_TX_BATCH) n = SEB_TX_BATCH;
  for (unsigned i = 0; i < n; i++) b->is_seg[i] = gso && seb_tcp_seg_parse(frames[i], lens[i], &b->seg[i]);
  unsigned m = 0, v = 0;
  for (unsigned i = 0; i < n; m++) {
    struct msghdr *h = &b->msgs[m].msg_hdr;
    memset(&b->msgs[m], 0, sizeof b->msgs[m]);
    h->msg_iov = &b->iov[v];
    unsigned run = 1;
    uint32_t payload = 0;
    if (b->is_seg[i]) {
      const seb_tcp_seg *a = &b->seg[i];
      payload = a->payload;
      uint32_t next_seq = a->seq + a->payload;
      int psh = a->psh;
      while (!psh && i + run < n && b->is_seg[i + run] && b->seg[i + run - 1].payload == a->payload &&
             seb_tcp_seg_continues(frames[i], a, run, payload, next_seq, frames[i + run], &b->seg[i + run])) {
        const seb_tcp_seg *c = &b->seg[i + run];
        /* Checksums only of frames that join a run (the first one when the second comes). */
        if ((run == 1 && !seb_tcp_seg_intact(frames[i], a)) || !seb_tcp_seg_intact(frames[i + run], c)) break;
        payload += c->payload;
        next_seq += c->payload;
        psh = c->psh;
        run++;
      }
      if (run > 1) {
        seb_tcp_super_header(frames[i], a, payload, psh, b->hdr[m], &b->vh[m]);
        b->iov[v++] = (struct iovec){.iov_base = &b->vh[m], .iov_len = sizeof b->vh[m]};
        b->iov[v++] = (struct iovec){.iov_base = b->hdr[m], .iov_len = a->hdr_len};
        for (unsigned k = i; k < i + run; k++) {
          b->iov[v++] = (struct iovec){.iov_base = (void *)(frames[k] + b->seg[k].hdr_len), .iov_len = b->seg[k].payload};
        }
      }
    }
    if (run == 1) {
      b->iov[v++] = (struct iovec){.iov_base = (void *)&zero_vh, .iov_len = sizeof zero_vh};
      b->iov[v++] = (struct iovec){.iov_base = (void *)frames[i], .iov_len = lens[i]};
    }
    h->msg_iovlen = (size_t)(&b->iov[v] - h->msg_iov);
    b->frames_in[m] = run;
    i += run;
  }
  return m;
}

unsigned seb_send_frames(int kind, int fd, const uint8_t *const *frames, const uint32_t *lens, unsigned n,
                         seb_tx_counters *c, int *gso, int *blocked) {
  tx_batch b;
  unsigned done = 0;
  *blocked = 0;
  while (done < n) {
    unsigned first = 1; /* frames in the message the error below is about */
    if (kind == SEB_CHANNEL_PACKET) {
      int use_gso = gso && __atomic_load_n(gso, __ATOMIC_RELAXED);
      unsigned cnt = build_batch(&b, frames + done, lens + done, n - done, use_gso);
      int r = sendmmsg(fd, b.msgs, cnt, MSG_DONTWAIT);
      if (r > 0) {
        for (int m = 0; m < r; m++) {
          unsigned run = b.frames_in[m];
          for (unsigned k = done; k < done + run; k++) c->bytes += lens[k];
          c->frames += run;
          if (run > 1) {
            c->gso_frames++;
            c->gso_segments += run;
          }
          done += run;
        }
        continue;
      }
      if (r < 0 && errno == EINVAL && b.frames_in[0] > 1) {
        /* This kernel or device refuses super-frames: from now on every frame goes out as it is. */
        __atomic_store_n(gso, 0, __ATOMIC_RELAXED);
        c->gso_refused++;
        continue;
      }
      first = b.frames_in[0];
    } else if (write(fd, frames[done], lens[done]) >= 0) {
      c->frames++;
      c->bytes += lens[done];
      done++;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      *blocked = 1;
      break;
    }
    if (errno == EINTR) continue;
    c->drop_error += first;
    c->last_errno = errno;
    done += first;
  }
  return done;
}

/* Sends what the ring holds. Returns -1 when the kernel said "would block" (wait for POLLOUT), else the number of
 * frames taken off the ring. */
static int transmit(seb_channel_io *io) {
  const uint8_t *frames[SEB_TX_BATCH];
  uint32_t lens[SEB_TX_BATCH];
  uint64_t next[SEB_TX_BATCH]; /* ring offset after each frame */
  int total = 0;
  for (;;) {
    unsigned n = 0;
    uint64_t cursor = io->tx.head;
    while (n < SEB_TX_BATCH && seb_byte_ring_peek(&io->tx, &cursor, &frames[n], &lens[n])) {
      cursor += seb_rec_size(lens[n]);
      next[n++] = cursor;
    }
    if (n == 0) return total;
    int blocked;
    unsigned done = seb_send_frames(io->kind, io->fd, frames, lens, n, &io->st.tx, &io->tx_gso, &blocked);
    if (done) {
      seb_byte_ring_release(&io->tx, next[done - 1]);
      io->st.tx_done += done;
      total += (int)done;
    }
    if (blocked) return -1;
  }
}

/* ---------- the thread ---------- */

static int has_work(seb_channel_io *io) { return tx_pending(io) || should_push(io); }
static int can_hand_over(seb_channel_io *io) { return should_push(io); }

static void on_fd_error(seb_channel_io *io) {
  /* A packet socket reports ENETDOWN when its interface goes down, or when it was bound while the interface was
   * down (a re-created interface): take the error off the socket, or poll() would report it forever. */
  int err = 0;
  socklen_t len = sizeof err;
  int counts = !io->rx_on_loop; /* with rx_on_loop the receive counters are the JS thread's */
  if (counts) io->st.rx_errors++;
  if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
    if (counts) io->st.last_rx_errno = err;
  } else {
    /* Nothing to take off (a TAP device whose interface is down reports POLLERR/POLLHUP-like states): do not spin. */
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (counts) publish_rx_counters(io);
}

static void *io_main(void *arg) {
  seb_channel_io *io = arg;
  int tx_blocked = 0, rx_more = 0;
  while (!stopping(io)) {
    int sent = 0;
    if (!tx_blocked && tx_pending(io)) {
      sent = transmit(io);
      if (sent < 0) tx_blocked = 1;
      publish_tx_counters(io);
    }
    int rx_on = __atomic_load_n(&io->rx_enabled, __ATOMIC_ACQUIRE);
    rx_more = rx_on ? receive(io) : 0;
    if (should_push(io)) push_current(io);
    if (rx_more || sent > 0) continue;
    short ev = (rx_on ? POLLIN : 0) | (tx_blocked ? POLLOUT : 0);
    int rev = wait_for(io, tx_blocked ? can_hand_over : has_work, ev);
    if (rev & POLLOUT) tx_blocked = 0;
    if (rev & (POLLERR | POLLHUP | POLLNVAL)) on_fd_error(io);
  }
  return NULL;
}

int seb_io_init(seb_channel_io *io, int kind, int fd) {
  io->kind = kind;
  io->wake_fd = -1;
  io->fd = fd;
  io->cur = -1;
  io->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io->wake_fd < 0) return -errno;
  pthread_mutex_init(&io->pub_lock, NULL);
  seb_index_ring_init(&io->free_ring, SEB_NARENAS);
  seb_index_ring_init(&io->full_ring, SEB_NARENAS);
  size_t slots = kind == SEB_CHANNEL_PACKET ? SEB_RX_BATCH : 1;
  /* Pages of this area are only touched (and so only become resident) when large frames arrive. */
  io->rx_mem = malloc(slots * SEB_RX_SLOT_STRIDE);
  io->tx.mem = malloc(SEB_TX_RING_BYTES);
  io->tx.cap = SEB_TX_RING_BYTES;
  int ok = io->rx_mem && io->tx.mem;
  for (int i = 0; i < SEB_NARENAS && ok; i++) {
    io->arenas[i].data = malloc(SEB_ARENA_SIZE);
    io->arenas[i].cap = SEB_ARENA_SIZE;
    ok = io->arenas[i].data != NULL;
  }
  if (!ok) {
    seb_io_destroy(io);
    return -ENOMEM;
  }
  return 0;
}

int seb_io_start(seb_channel_io *io) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&io->thread, &attr, io_main, io);
  pthread_attr_destroy(&attr);
  if (rc != 0) return -rc;
  pthread_setname_np(io->thread, io->kind == SEB_CHANNEL_PACKET ? "sebridge-pkt" : "sebridge-tap");
  io->running = 1;
  return 0;
}

void seb_io_destroy(seb_channel_io *io) {
  if (io->running) {
    __atomic_store_n(&io->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t r = write(io->wake_fd, &one, sizeof one);
    (void)r;
    pthread_join(io->thread, NULL);
    io->running = 0;
  }
  if (io->wake_fd >= 0) close(io->wake_fd);
  io->wake_fd = -1;
  free(io->rx_mem);
  io->rx_mem = NULL;
  free(io->path);
  io->path = NULL;
  free(io->tx.mem);
  io->tx.mem = NULL;
  for (int i = 0; i < SEB_NARENAS; i++) {
    free(io->arenas[i].data);
    io->arenas[i].data = NULL;
  }
}
