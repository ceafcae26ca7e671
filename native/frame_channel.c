#include "frame_channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <linux/if_packet.h>

#include "addon_state.h"
#include "packet_socket.h"
#include "rx_fixup.h"

/* recvmmsg/sendmmsg batch size, and how many batches one wake-up may read before yielding to the loop. */
#define RX_BATCH 64
#define RX_ROUNDS 4
#define TAP_READS_PER_WAKE (RX_BATCH * RX_ROUNDS)
/* Largest GSO super-frame (64 KiB IP packet + Ethernet and two VLAN headers) with a little slack. */
#define RX_SLOT_DATA (65536 + 64)
#define RX_SLOT_STRIDE (SEB_RX_HEADROOM + RX_SLOT_DATA + 12)
#define TX_BATCH 64
/* Enough to ride out a short stall of the NIC queue; more would only add latency. */
#define TXQ_CAP 256

typedef struct txq_entry {
  uint16_t len;
  uint8_t data[SEB_MAX_FRAME];
} txq_entry;

typedef struct channel_stats {
  seb_rx_counters rx;
  uint64_t rx_truncated;     /* larger than even a super-frame buffer */
  uint64_t rx_kernel_drops;  /* socket buffer overflow, reported by PACKET_STATISTICS */
  uint64_t rx_errors;
  uint64_t rx_outgoing_seen; /* own transmissions the kernel still showed us (old kernels); skipped */
  uint64_t tx_frames;
  uint64_t tx_bytes;
  uint64_t tx_drop_queue_full;
  uint64_t tx_drop_invalid; /* shorter than an Ethernet header or longer than 1600 bytes */
  uint64_t tx_drop_error;   /* the kernel refused the frame (interface down, too big for its MTU...) */
  uint64_t callback_errors; /* onFrames threw: caught here, counted, the channel goes on */
  char last_callback_error[160];
  int last_rx_errno;
  int last_tx_errno;
} channel_stats;

typedef union ctrl_buf {
  char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  struct cmsghdr align;
} ctrl_buf;

typedef struct seb_channel {
  napi_env env;
  int kind;
  int fd;
  int ignores_outgoing;
  int closed;
  int in_callback;
  uv_poll_t *poll;
  int poll_events;
  napi_ref on_frames;
  napi_ref pump;
  napi_async_context actx;

  uint8_t *rx_mem;
  struct napi_sink *sink; /* per-wake-up arena state and frame descriptors */
  struct virtio_net_hdr rx_vh[RX_BATCH];
  struct sockaddr_ll rx_addr[RX_BATCH];
  ctrl_buf rx_ctrl[RX_BATCH];
  struct iovec rx_iov[RX_BATCH][2];
  struct mmsghdr rx_msgs[RX_BATCH];

  struct iovec tx_iov[TX_BATCH][2];
  struct mmsghdr tx_msgs[TX_BATCH];
  txq_entry *txq;
  unsigned txq_head;
  unsigned txq_len;

  channel_stats st;
} seb_channel;

static void on_poll(uv_poll_t *h, int status, int events);
static void channel_finalize(napi_env env, void *data, void *hint);

/* Written in front of every transmitted frame: PACKET_VNET_HDR applies to both directions. All zero = a plain frame. */
static const struct virtio_net_hdr zero_vh;

/* ---------- receive ---------- */

/* Received frames are written into a few large ArrayBuffers ("arenas") instead of one Buffer each: creating a
 * Buffer per frame (allocation + N-API call) cost ~20 % of the process's CPU at 1 Gbit/s. JS gets the arenas and a
 * Uint32Array of (arena, offset, length) triples and makes Buffer views of them (src/ports/native.ts). */
#define ARENA_FIRST (16 * 1024)
#define ARENA_NEXT (64 * 1024)
#define DESC_MAX (RX_ROUNDS * RX_BATCH * 48) /* 48: the most segments one 64 KiB super-frame can become, rounded up */

typedef struct napi_sink {
  napi_env env;
  napi_value arenas;
  uint32_t narenas;
  uint8_t *cur;
  size_t cap, used;
  uint32_t count;
  uint32_t desc[DESC_MAX * 3];
} napi_sink;

static uint8_t *napi_sink_alloc(void *ctx, size_t len) {
  napi_sink *s = ctx;
  if (s->count >= DESC_MAX) return NULL;
  if (!s->cur || s->used + len > s->cap) {
    size_t cap = s->narenas == 0 ? ARENA_FIRST : ARENA_NEXT;
    if (cap < len) cap = len;
    void *data;
    napi_value ab;
    if (napi_create_arraybuffer(s->env, cap, &data, &ab) != napi_ok) return NULL;
    if (napi_set_element(s->env, s->arenas, s->narenas, ab) != napi_ok) return NULL;
    s->narenas++;
    s->cur = data;
    s->cap = cap;
    s->used = 0;
  }
  uint8_t *out = s->cur + s->used;
  s->desc[s->count * 3] = s->narenas - 1;
  s->desc[s->count * 3 + 1] = (uint32_t)s->used;
  s->desc[s->count * 3 + 2] = (uint32_t)len;
  s->count++;
  s->used += (len + 7) & ~(size_t)7;
  return out;
}

static void read_packet_socket(seb_channel *ch, const seb_sink *sink) {
  for (int round = 0; round < RX_ROUNDS; round++) {
    for (int i = 0; i < RX_BATCH; i++) {
      struct msghdr *m = &ch->rx_msgs[i].msg_hdr;
      ch->rx_iov[i][0].iov_base = &ch->rx_vh[i];
      ch->rx_iov[i][0].iov_len = sizeof ch->rx_vh[i];
      ch->rx_iov[i][1].iov_base = ch->rx_mem + (size_t)i * RX_SLOT_STRIDE + SEB_RX_HEADROOM;
      ch->rx_iov[i][1].iov_len = RX_SLOT_DATA;
      m->msg_name = &ch->rx_addr[i];
      m->msg_namelen = sizeof ch->rx_addr[i];
      m->msg_iov = ch->rx_iov[i];
      m->msg_iovlen = 2;
      m->msg_control = ch->rx_ctrl[i].buf;
      m->msg_controllen = sizeof ch->rx_ctrl[i].buf;
      m->msg_flags = 0;
    }
    int n = recvmmsg(ch->fd, ch->rx_msgs, RX_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      /* EINVAL: the kernel could not describe a frame's offload state in a vnet header and discarded it. */
      if (errno == EINVAL) {
        ch->st.rx.drop_bad_gso++;
        continue;
      }
      /* ENETDOWN and friends: a one-shot report of the interface going away; the link monitor handles it. */
      ch->st.rx_errors++;
      ch->st.last_rx_errno = errno;
      return;
    }
    for (int i = 0; i < n; i++) {
      struct msghdr *m = &ch->rx_msgs[i].msg_hdr;
      if (ch->rx_addr[i].sll_pkttype == PACKET_OUTGOING) {
        ch->st.rx_outgoing_seen++;
        continue;
      }
      if (m->msg_flags & MSG_TRUNC) {
        ch->st.rx_truncated++;
        continue;
      }
      size_t got = ch->rx_msgs[i].msg_len;
      if (got < sizeof(struct virtio_net_hdr)) {
        ch->st.rx.drop_runt++;
        continue;
      }
      seb_vlan_info vlan = {0, 0, 0};
      for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
        struct tpacket_auxdata aux;
        memcpy(&aux, CMSG_DATA(c), sizeof aux);
        if (aux.tp_status & TP_STATUS_VLAN_VALID) {
          vlan.valid = 1;
          vlan.tci = aux.tp_vlan_tci;
          vlan.tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0;
        }
      }
      seb_rx_process(ch->rx_iov[i][1].iov_base, got - sizeof(struct virtio_net_hdr), &ch->rx_vh[i], &vlan, sink,
                     &ch->st.rx);
    }
    if (n < RX_BATCH) return;
  }
}

static void read_tap(seb_channel *ch, const seb_sink *sink) {
  uint8_t *buf = ch->rx_mem + SEB_RX_HEADROOM;
  for (int i = 0; i < TAP_READS_PER_WAKE; i++) {
    ssize_t r = read(ch->fd, buf, RX_SLOT_DATA);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      ch->st.rx_errors++;
      ch->st.last_rx_errno = errno;
      return;
    }
    if (r == 0) return;
    seb_rx_process(buf, (size_t)r, NULL, NULL, sink, &ch->st.rx);
  }
}

static void release_js(seb_channel *ch) {
  if (ch->pump) {
    napi_delete_reference(ch->env, ch->pump);
    ch->pump = NULL;
  }
  if (ch->on_frames) {
    napi_delete_reference(ch->env, ch->on_frames);
    ch->on_frames = NULL;
  }
  if (ch->actx) {
    napi_async_destroy(ch->env, ch->actx);
    ch->actx = NULL;
  }
}

/* Runs as a JS-callable native function, so V8 has an entered context (needed to create Buffers); invoked
 * through napi_make_callback from the poll callback. Reads one batch and hands it to onFrames in one call. */
static napi_value js_pump(napi_env env, napi_callback_info info) {
  seb_channel *ch = NULL;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, NULL, NULL, (void **)&ch) != napi_ok || !ch || ch->closed) return NULL;
  napi_sink *ns = ch->sink;
  if (!ns) return NULL;
  ns->env = env;
  ns->narenas = 0;
  ns->cur = NULL;
  ns->cap = ns->used = 0;
  ns->count = 0;
  if (napi_create_array(env, &ns->arenas) != napi_ok) return NULL;
  seb_sink sink = {napi_sink_alloc, ns};
  if (ch->kind == SEB_CHANNEL_PACKET)
    read_packet_socket(ch, &sink);
  else
    read_tap(ch, &sink);
  napi_value fn, recv, args[2], desc_ab;
  if (ns->count == 0 || !ch->on_frames || napi_get_reference_value(env, ch->on_frames, &fn) != napi_ok || !fn) return NULL;
  void *desc_data;
  if (napi_create_arraybuffer(env, (size_t)ns->count * 3 * sizeof(uint32_t), &desc_data, &desc_ab) != napi_ok) return NULL;
  memcpy(desc_data, ns->desc, (size_t)ns->count * 3 * sizeof(uint32_t));
  args[0] = ns->arenas;
  if (napi_create_typedarray(env, napi_uint32_array, (size_t)ns->count * 3, desc_ab, 0, &args[1]) != napi_ok) return NULL;
  napi_get_undefined(env, &recv);
  napi_status s = napi_call_function(env, recv, fn, 2, args, NULL);
  /* An exception from JavaScript (the hub, a port's receiver) is caught and counted here: passed on, it would
   * reach napi_fatal_exception in read_batch and end the process. */
  seb_take_callback_exception(env, s, &ch->st.callback_errors, ch->st.last_callback_error, sizeof ch->st.last_callback_error);
  return NULL;
}

static void read_batch(seb_channel *ch) {
  napi_env env = ch->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value pump, recv;
  if (ch->pump && napi_get_reference_value(env, ch->pump, &pump) == napi_ok && pump) {
    napi_get_global(env, &recv); /* napi_make_callback needs an object as receiver */
    ch->in_callback = 1;
    napi_status s = napi_make_callback(env, ch->actx, recv, pump, 0, NULL, NULL);
    ch->in_callback = 0;
    if (s == napi_pending_exception) {
      /* Only an exception the pump itself could not catch (it catches onFrames' own): process 'uncaughtException'. */
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
    if (ch->closed) release_js(ch); /* close() ran inside the callback and left these for us */
  }
  napi_close_handle_scope(env, scope);
}

/* ---------- transmit ---------- */

static void set_poll(seb_channel *ch, int events) {
  if (ch->closed || !ch->poll || events == ch->poll_events) return;
  ch->poll_events = events;
  uv_poll_start(ch->poll, events, on_poll);
}

/* Try to send frames[0..n); returns how many are done with (sent, or dropped because the kernel refused them).
 * Stops early only when the kernel says "would block". */
static unsigned send_frames(seb_channel *ch, const uint8_t *const *frames, const size_t *lens, unsigned n) {
  unsigned done = 0;
  while (done < n) {
    if (ch->kind == SEB_CHANNEL_PACKET) {
      unsigned cnt = n - done;
      for (unsigned i = 0; i < cnt; i++) {
        ch->tx_iov[i][0].iov_base = (void *)&zero_vh;
        ch->tx_iov[i][0].iov_len = sizeof zero_vh;
        ch->tx_iov[i][1].iov_base = (void *)frames[done + i];
        ch->tx_iov[i][1].iov_len = lens[done + i];
        memset(&ch->tx_msgs[i], 0, sizeof ch->tx_msgs[i]);
        ch->tx_msgs[i].msg_hdr.msg_iov = ch->tx_iov[i];
        ch->tx_msgs[i].msg_hdr.msg_iovlen = 2;
      }
      int r = sendmmsg(ch->fd, ch->tx_msgs, cnt, MSG_DONTWAIT);
      if (r > 0) {
        for (int i = 0; i < r; i++) ch->st.tx_bytes += lens[done + (unsigned)i];
        ch->st.tx_frames += (unsigned)r;
        done += (unsigned)r;
        continue;
      }
    } else {
      ssize_t r = write(ch->fd, frames[done], lens[done]);
      if (r >= 0) {
        ch->st.tx_frames++;
        ch->st.tx_bytes += lens[done];
        done++;
        continue;
      }
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    ch->st.tx_drop_error++;
    ch->st.last_tx_errno = errno;
    done++;
  }
  return done;
}

static void enqueue(seb_channel *ch, const uint8_t *frame, size_t len) {
  if (!ch->txq) ch->txq = malloc(sizeof(txq_entry) * TXQ_CAP);
  if (!ch->txq || ch->txq_len >= TXQ_CAP) {
    ch->st.tx_drop_queue_full++;
    return;
  }
  txq_entry *e = &ch->txq[(ch->txq_head + ch->txq_len) % TXQ_CAP];
  e->len = (uint16_t)len;
  memcpy(e->data, frame, len);
  ch->txq_len++;
}

static void flush_queue(seb_channel *ch) {
  while (ch->txq_len > 0 && !ch->closed) {
    const uint8_t *frames[TX_BATCH];
    size_t lens[TX_BATCH];
    unsigned n = 0;
    /* Only the contiguous run up to the end of the ring, so the batch is a simple array. */
    while (n < TX_BATCH && n < ch->txq_len && ch->txq_head + n < TXQ_CAP) {
      frames[n] = ch->txq[ch->txq_head + n].data;
      lens[n] = ch->txq[ch->txq_head + n].len;
      n++;
    }
    unsigned done = send_frames(ch, frames, lens, n);
    ch->txq_head = (ch->txq_head + done) % TXQ_CAP;
    ch->txq_len -= done;
    if (done < n) break;
  }
  set_poll(ch, ch->txq_len ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void send_batch(seb_channel *ch, const uint8_t *const *frames, const size_t *lens, unsigned n) {
  unsigned done = 0;
  /* Frames behind a non-empty queue must wait their turn, or the order on the wire would change. */
  if (ch->txq_len == 0) done = send_frames(ch, frames, lens, n);
  for (unsigned i = done; i < n; i++) enqueue(ch, frames[i], lens[i]);
  if (ch->txq_len) flush_queue(ch);
}

/* ---------- poll ---------- */

static void on_poll(uv_poll_t *h, int status, int events) {
  seb_channel *ch = h->data;
  if (!ch || ch->closed) return;
  if (status < 0) {
    /* A packet socket reports ENETDOWN when its interface goes down, or when it was bound while the interface
     * was down (a re-created interface). libuv then stops watching the fd: take the pending error off the
     * socket and watch it again, or nothing would ever be read from this interface again. */
    int err = 0;
    socklen_t len = sizeof err;
    ch->st.rx_errors++;
    if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) ch->st.last_rx_errno = err;
    else ch->st.last_rx_errno = -status;
    int want = ch->poll_events ? ch->poll_events : UV_READABLE;
    ch->poll_events = 0;
    set_poll(ch, want);
    return;
  }
  if (events & UV_WRITABLE) flush_queue(ch);
  if (!ch->closed && (events & UV_READABLE)) read_batch(ch);
}

static void free_poll(uv_handle_t *h) { free(h); }

static void channel_close(seb_channel *ch) {
  if (ch->closed) return;
  ch->closed = 1;
  if (ch->kind == SEB_CHANNEL_PACKET && ch->fd >= 0) ch->st.rx_kernel_drops += seb_packet_take_kernel_drops(ch->fd);
  if (ch->poll) {
    uv_poll_stop(ch->poll);
    ch->poll->data = NULL;
    uv_close((uv_handle_t *)ch->poll, free_poll);
    ch->poll = NULL;
  }
  if (ch->fd >= 0) close(ch->fd); /* also drops the promiscuous membership, or deletes the TAP device */
  ch->fd = -1;
  free(ch->rx_mem);
  ch->rx_mem = NULL;
  free(ch->sink);
  ch->sink = NULL;
  free(ch->txq);
  ch->txq = NULL;
  ch->txq_len = 0;
  if (!ch->in_callback) release_js(ch);
}

/* ---------- JavaScript methods ---------- */

static seb_channel *unwrap(napi_env env, napi_value self) {
  void *p = NULL;
  if (napi_unwrap(env, self, &p) != napi_ok || !p) {
    seb_throw(env, "SEB_EARG", "not a FrameChannel");
    return NULL;
  }
  return p;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  SEB_ARGS(1);
  seb_channel *ch = unwrap(env, self);
  if (!ch) return NULL;
  if (ch->closed) return seb_throw_errno(env, EBADF, "FrameChannel.start");
  if (ch->poll) return seb_throw(env, "SEB_ESTATE", "FrameChannel already started");
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_function) return seb_throw(env, "SEB_EARG", "onFrames must be a function");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return seb_throw(env, "SEB_ELOOP", "no event loop");
  uv_poll_t *poll = calloc(1, sizeof *poll);
  if (!poll) return seb_throw_errno(env, ENOMEM, "FrameChannel.start");
  int rc = uv_poll_init(loop, poll, ch->fd);
  if (rc < 0) {
    free(poll);
    return seb_throw_errno(env, -rc, "uv_poll_init");
  }
  napi_value name;
  napi_create_string_utf8(env, "sebridge:FrameChannel", NAPI_AUTO_LENGTH, &name);
  napi_value pump;
  if (napi_create_function(env, "pump", NAPI_AUTO_LENGTH, js_pump, ch, &pump) != napi_ok) {
    uv_close((uv_handle_t *)poll, free_poll);
    return NULL;
  }
  napi_create_reference(env, pump, 1, &ch->pump);
  napi_create_reference(env, argv[0], 1, &ch->on_frames);
  napi_async_init(env, NULL, name, &ch->actx);
  poll->data = ch;
  ch->poll = poll;
  ch->poll_events = UV_READABLE;
  uv_poll_start(poll, UV_READABLE, on_poll);
  return NULL;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  SEB_ARGS(1);
  seb_channel *ch = unwrap(env, self);
  if (!ch) return NULL;
  if (ch->closed) return seb_throw_errno(env, EBADF, "FrameChannel.write");
  bool is_array = false;
  napi_is_array(env, argv[0], &is_array);
  if (!is_array) return seb_throw(env, "SEB_EARG", "frames must be an array of Buffers");
  uint32_t n;
  napi_get_array_length(env, argv[0], &n);
  const uint8_t *frames[TX_BATCH];
  size_t lens[TX_BATCH];
  unsigned k = 0;
  for (uint32_t i = 0; i < n && !ch->closed; i++) {
    napi_value el;
    void *data;
    size_t len;
    if (napi_get_element(env, argv[0], i, &el) != napi_ok) return NULL;
    if (!seb_get_buffer(env, el, &data, &len, "frame")) return NULL;
    if (len < SEB_MIN_FRAME || len > SEB_MAX_FRAME) {
      ch->st.tx_drop_invalid++;
      continue;
    }
    frames[k] = data;
    lens[k++] = len;
    if (k == TX_BATCH) {
      send_batch(ch, frames, lens, k);
      k = 0;
    }
  }
  if (k && !ch->closed) send_batch(ch, frames, lens, k);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  seb_channel *ch = unwrap(env, self);
  if (!ch) return NULL;
  if (!ch->closed && ch->kind == SEB_CHANNEL_PACKET) ch->st.rx_kernel_drops += seb_packet_take_kernel_drops(ch->fd);
  const channel_stats *s = &ch->st;
  napi_value o;
  napi_create_object(env, &o);
  seb_set_u64(env, o, "rxFrames", s->rx.frames);
  seb_set_u64(env, o, "rxBytes", s->rx.bytes);
  seb_set_u64(env, o, "txFrames", s->tx_frames);
  seb_set_u64(env, o, "txBytes", s->tx_bytes);
  seb_set_u64(env, o, "gsoSuperFrames", s->rx.gso_frames);
  seb_set_u64(env, o, "gsoSegments", s->rx.gso_segments);
  seb_set_u64(env, o, "checksumsCompleted", s->rx.csum_completed);
  seb_set_u64(env, o, "sctpChecksumsCompleted", s->rx.csum_sctp);
  seb_set_u64(env, o, "vlanTagsRestored", s->rx.vlan_restored);
  seb_set_u64(env, o, "rxDropOversize", s->rx.drop_oversize);
  seb_set_u64(env, o, "rxDropTruncated", s->rx_truncated);
  seb_set_u64(env, o, "rxDropRunt", s->rx.drop_runt);
  seb_set_u64(env, o, "rxDropBadGso", s->rx.drop_bad_gso);
  seb_set_u64(env, o, "rxDropNoMemory", s->rx.drop_no_memory);
  seb_set_u64(env, o, "rxDropKernel", s->rx_kernel_drops);
  seb_set_u64(env, o, "rxErrors", s->rx_errors);
  seb_set_u64(env, o, "rxOwnSkipped", s->rx_outgoing_seen);
  seb_set_u64(env, o, "txDropQueueFull", s->tx_drop_queue_full);
  seb_set_u64(env, o, "txDropInvalid", s->tx_drop_invalid);
  seb_set_u64(env, o, "txDropError", s->tx_drop_error);
  seb_set_u64(env, o, "txQueued", ch->txq_len);
  seb_set_u64(env, o, "callbackErrors", s->callback_errors);
  seb_set_str(env, o, "lastCallbackError", s->last_callback_error);
  seb_set_str(env, o, "lastRxError", s->last_rx_errno ? seb_errno_name(s->last_rx_errno) : "");
  seb_set_str(env, o, "lastTxError", s->last_tx_errno ? seb_errno_name(s->last_tx_errno) : "");
  seb_set_bool(env, o, "kernelIgnoresOwn", ch->ignores_outgoing != 0);
  return o;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  seb_channel *ch = unwrap(env, self);
  if (ch) channel_close(ch);
  return NULL;
}

static napi_value js_construct(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  seb_channel *ch = calloc(1, sizeof *ch);
  if (!ch) return seb_throw_errno(env, ENOMEM, "FrameChannel");
  ch->env = env;
  ch->fd = -1;
  ch->closed = 1; /* until seb_channel_new gives it a descriptor */
  if (napi_wrap(env, self, ch, channel_finalize, NULL, NULL) != napi_ok) {
    free(ch);
    return NULL;
  }
  return self;
}

static void channel_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  seb_channel *ch = data;
  ch->in_callback = 0;
  channel_close(ch);
  release_js(ch);
  free(ch);
}

napi_status seb_channel_define(napi_env env, napi_value *ctor) {
  napi_property_descriptor props[] = {
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default_method, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  return napi_define_class(env, "FrameChannel", NAPI_AUTO_LENGTH, js_construct, NULL, sizeof props / sizeof props[0],
                           props, ctor);
}

napi_value seb_channel_new(napi_env env, int kind, int fd, int ignores_outgoing) {
  seb_addon_state *state = seb_state(env);
  napi_value ctor, obj;
  void *p = NULL;
  if (!state || napi_get_reference_value(env, state->channel_ctor, &ctor) != napi_ok ||
      napi_new_instance(env, ctor, 0, NULL, &obj) != napi_ok || napi_unwrap(env, obj, &p) != napi_ok || !p) {
    close(fd);
    return NULL;
  }
  seb_channel *ch = p;
  size_t slots = kind == SEB_CHANNEL_PACKET ? RX_BATCH : 1;
  /* Pages of this area are only touched (and so only become resident) when large frames arrive. */
  ch->rx_mem = malloc(slots * RX_SLOT_STRIDE);
  ch->sink = malloc(sizeof *ch->sink);
  if (!ch->rx_mem || !ch->sink) {
    free(ch->rx_mem);
    free(ch->sink);
    ch->rx_mem = NULL;
    ch->sink = NULL;
    close(fd);
    return seb_throw_errno(env, ENOMEM, "FrameChannel buffers");
  }
  ch->kind = kind;
  ch->fd = fd;
  ch->ignores_outgoing = ignores_outgoing;
  ch->closed = 0;
  return obj;
}
