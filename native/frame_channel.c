#include "frame_channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "addon_state.h"
#include "packet_socket.h"

typedef struct seb_channel {
  napi_env env;
  int kind;
  int fd;
  int ignores_outgoing;
  int closed;
  int in_callback;
  int thread_ok;
  int tx_thread; /* SEBRIDGE_IO_THREAD has "tx": writes above INLINE_MAX_BYTES go through the I/O thread */
  uv_async_t *notify;
  uv_poll_t *poll; /* rx_on_loop mode: the fd's readability on the event loop */
  napi_ref on_frames;
  napi_ref pump;
  /* The hand-over buffers, made on first use and reused for every batch (see js_pump): the array [ArrayBuffer]
   * onFrames gets, the ArrayBuffer's memory, and the descriptor ArrayBuffer. */
  napi_ref rx_arenas;
  uint8_t *rx_buf_data;
  napi_ref rx_desc;
  uint32_t *rx_desc_data;
  napi_async_context actx;

  /* counters of the JS thread (the I/O thread's are in io.st) */
  uint64_t rx_kernel_drops; /* socket buffer overflow, reported by PACKET_STATISTICS */
  uint64_t rx_drop_no_memory; /* no memory for the ArrayBuffer JS gets: those frames were dropped */
  uint64_t tx_enqueued;
  seb_tx_counters tx_js; /* sent inline (see INLINE_MAX_BYTES) */
  uint64_t tx_drop_queue_full;
  uint64_t tx_drop_invalid; /* shorter than an Ethernet header or longer than 1600 bytes */
  uint64_t callback_errors; /* onFrames threw: caught here, counted, the channel goes on */
  char last_callback_error[160];

  seb_channel_io io;
} seb_channel;

static void channel_finalize(napi_env env, void *data, void *hint);

/* ---------- receive (JS thread side) ---------- */

static void drop_ref(napi_env env, napi_ref *ref) {
  if (*ref) napi_delete_reference(env, *ref);
  *ref = NULL;
}

static void release_js(seb_channel *ch) {
  drop_ref(ch->env, &ch->pump);
  drop_ref(ch->env, &ch->on_frames);
  drop_ref(ch->env, &ch->rx_arenas);
  drop_ref(ch->env, &ch->rx_desc);
  if (ch->actx) {
    napi_async_destroy(ch->env, ch->actx);
    ch->actx = NULL;
  }
}

static napi_value uninitialized_arraybuffer(napi_env env, size_t len, uint8_t **data);

#define RX_BUF_BYTES (SEB_NARENAS * SEB_ARENA_SIZE)
#define RX_DESC_WORDS (SEB_NARENAS * SEB_ARENA_FRAMES * 3)

/* The channel's hand-over buffers (the array holding the frame bytes' ArrayBuffer; the (arena, offset, length)
 * triples' ArrayBuffer), made once: a batch hands JS the same objects every time. Returns 0 when out of memory. */
static int rx_buffers(napi_env env, seb_channel *ch, napi_value *arenas, napi_value *desc_ab) {
  if (!ch->rx_arenas) {
    napi_value a, b, d;
    uint8_t *mem;
    void *dmem;
    if (napi_create_array_with_length(env, 1, &a) != napi_ok ||
        (b = uninitialized_arraybuffer(env, RX_BUF_BYTES, &mem)) == NULL || napi_set_element(env, a, 0, b) != napi_ok ||
        napi_create_arraybuffer(env, RX_DESC_WORDS * sizeof(uint32_t), &dmem, &d) != napi_ok)
      return 0;
    if (napi_create_reference(env, a, 1, &ch->rx_arenas) != napi_ok) return 0;
    if (napi_create_reference(env, d, 1, &ch->rx_desc) != napi_ok) {
      drop_ref(env, &ch->rx_arenas);
      return 0;
    }
    ch->rx_buf_data = mem;
    ch->rx_desc_data = dmem;
  }
  return napi_get_reference_value(env, ch->rx_arenas, arenas) == napi_ok && *arenas &&
         napi_get_reference_value(env, ch->rx_desc, desc_ab) == napi_ok && *desc_ab;
}

/* Node's Buffer::New leaves the memory uninitialized (napi_create_arraybuffer zeroes it first); JS gets its
 * ArrayBuffer. NULL when out of memory. */
static napi_value uninitialized_arraybuffer(napi_env env, size_t len, uint8_t **data) {
  napi_value buf, ab;
  size_t blen, off;
  napi_typedarray_type type;
  void *p;
  if (napi_create_buffer(env, len, &p, &buf) != napi_ok) return NULL;
  if (napi_get_typedarray_info(env, buf, &type, &blen, &p, &ab, &off) != napi_ok || off != 0) return NULL;
  *data = p;
  return ab;
}

/* Runs as a JS-callable native function (invoked through napi_make_callback from the async handle) so V8 has an
 * entered context. Copies every filled arena into the channel's one hand-over ArrayBuffer (a memcpy of what was
 * received costs ~1 % of a core at 1 Gbit/s; handing 64 KiB arenas over instead made V8 collect several times
 * more external memory and its concurrent marking cost 10-20 % of a core), returns the arenas to the I/O thread
 * at once, then calls onFrames once. The same ArrayBuffer is filled again at the next batch: a fresh one per batch
 * was ~150 MB/s of C heap waiting for V8's next collection at 1.2 Gbit/s, the largest part of the bridge's memory
 * under load. So frames are valid until the end of the event-loop turn they arrived in, as the Port contract says
 * (src/ports/port.ts): there is at most one batch per channel per turn (one poll or async event), and what keeps a
 * frame longer copies it. */
static napi_value js_pump(napi_env env, napi_callback_info info) {
  seb_channel *ch = NULL;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, NULL, NULL, (void **)&ch) != napi_ok || !ch || ch->closed) return NULL;
  int idx[SEB_NARENAS], n = 0, i;
  uint32_t frames = 0;
  if (ch->io.rx_on_loop) seb_io_read_on_loop(&ch->io);
  seb_io_js_busy(&ch->io); /* before taking: the I/O thread must not see an empty ring and an idle JS in between */
  while (n < SEB_NARENAS && (i = seb_index_ring_pop(&ch->io.full_ring)) >= 0) {
    idx[n++] = i;
    frames += ch->io.arenas[i].count;
  }
  if (n == 0) {
    seb_io_js_done(&ch->io);
    return NULL;
  }
  napi_value arenas = NULL, desc_ab = NULL, desc, fn, recv, args[2];
  int ok = rx_buffers(env, ch, &arenas, &desc_ab);
  uint8_t *mem = ch->rx_buf_data;
  uint32_t *d = ch->rx_desc_data;
  uint32_t base = 0, f = 0;
  for (int k = 0; k < n; k++) {
    seb_arena *a = &ch->io.arenas[idx[k]];
    if (ok) {
      memcpy(mem + base, a->data, a->used);
      for (uint32_t j = 0; j < a->count; j++, f++) {
        d[f * 3] = 0;
        d[f * 3 + 1] = base + a->desc[j * 2];
        d[f * 3 + 2] = a->desc[j * 2 + 1];
      }
      base += a->used;
    }
    a->used = a->count = 0;
    seb_index_ring_push(&ch->io.free_ring, (uint8_t)idx[k]);
  }
  if (!ch->io.rx_on_loop) seb_io_kick(&ch->io); /* the reading thread may wait for an arena; else nobody does */
  if (!ok) ch->rx_drop_no_memory += frames;
  if (!ok || !ch->on_frames || napi_get_reference_value(env, ch->on_frames, &fn) != napi_ok || !fn ||
      napi_create_typedarray(env, napi_uint32_array, (size_t)frames * 3, desc_ab, 0, &desc) != napi_ok) {
    seb_io_js_done(&ch->io);
    return NULL;
  }
  args[0] = arenas;
  args[1] = desc;
  napi_get_undefined(env, &recv);
  napi_status s = napi_call_function(env, recv, fn, 2, args, NULL);
  /* An exception from JavaScript (the hub, a port's receiver) is caught and counted here: passed on, it would
   * reach napi_fatal_exception in on_notify and end the process. */
  seb_take_callback_exception(env, s, &ch->callback_errors, ch->last_callback_error, sizeof ch->last_callback_error);
  if (!ch->closed) seb_io_js_done(&ch->io); /* the thread may have frames waiting for us */
  return NULL;
}

static void call_pump(seb_channel *ch) {
  if (!ch || ch->closed || !ch->pump) return;
  napi_env env = ch->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value pump, recv;
  if (napi_get_reference_value(env, ch->pump, &pump) == napi_ok && pump) {
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

static void on_notify(uv_async_t *h) { call_pump(h->data); }

static void on_poll(uv_poll_t *h, int status, int events) {
  seb_channel *ch = h->data;
  if (!ch || ch->closed) return;
  if (status < 0) {
    /* ENETDOWN and the like: take the error off the socket and watch again, or libuv stops watching for good. */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    uv_poll_start(h, UV_READABLE, on_poll);
    return;
  }
  call_pump(ch);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void channel_close(seb_channel *ch) {
  if (ch->closed) return;
  ch->closed = 1;
  if (ch->kind == SEB_CHANNEL_PACKET && ch->fd >= 0) ch->rx_kernel_drops += seb_packet_take_kernel_drops(ch->fd);
  /* The thread first: it may be inside a system call on the fd, or writing into an arena. */
  seb_io_destroy(&ch->io);
  if (ch->thread_ok) ch->io.st_pub = ch->io.st; /* final; stats() of a closed channel reads these */
  ch->thread_ok = 0;
  if (ch->poll) {
    uv_poll_stop(ch->poll);
    ch->poll->data = NULL;
    uv_close((uv_handle_t *)ch->poll, free_handle);
    ch->poll = NULL;
  }
  if (ch->notify) {
    ch->notify->data = NULL;
    uv_close((uv_handle_t *)ch->notify, free_handle);
    ch->notify = NULL;
  }
  if (ch->fd >= 0) close(ch->fd); /* also drops the promiscuous membership, or deletes the TAP device */
  ch->fd = -1;
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
  if (ch->notify) return seb_throw(env, "SEB_ESTATE", "FrameChannel already started");
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_function) return seb_throw(env, "SEB_EARG", "onFrames must be a function");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return seb_throw(env, "SEB_ELOOP", "no event loop");
  uv_async_t *notify = calloc(1, sizeof *notify);
  if (!notify) return seb_throw_errno(env, ENOMEM, "FrameChannel.start");
  int rc = uv_async_init(loop, notify, on_notify);
  if (rc < 0) {
    free(notify);
    return seb_throw_errno(env, -rc, "uv_async_init");
  }
  napi_value name, pump;
  napi_create_string_utf8(env, "sebridge:FrameChannel", NAPI_AUTO_LENGTH, &name);
  if (napi_create_function(env, "pump", NAPI_AUTO_LENGTH, js_pump, ch, &pump) != napi_ok) {
    uv_close((uv_handle_t *)notify, free_handle);
    return NULL;
  }
  napi_create_reference(env, pump, 1, &ch->pump);
  napi_create_reference(env, argv[0], 1, &ch->on_frames);
  napi_async_init(env, NULL, name, &ch->actx);
  notify->data = ch;
  ch->notify = notify;
  ch->io.notify = notify;
  for (int i = 0; i < SEB_NARENAS; i++) seb_index_ring_push(&ch->io.free_ring, (uint8_t)i);
  /* Measured on the 2-core test machine (bench/README.md, "I/O thread"): reading and sending on the event loop is
   * the fastest there, so that is the default; SEBRIDGE_IO_THREAD=tx and/or rx move bulk sending and/or reading to
   * the channel's I/O thread, for machines with cores to spare (to be measured on a 4-core router). */
  const char *mode = getenv("SEBRIDGE_IO_THREAD");
  ch->tx_thread = mode && strstr(mode, "tx") != NULL;
  if (!(mode && strstr(mode, "rx"))) {
    uv_poll_t *poll = calloc(1, sizeof *poll);
    if (poll && uv_poll_init(loop, poll, ch->fd) == 0) {
      ch->io.rx_on_loop = 1;
      poll->data = ch;
      ch->poll = poll;
      uv_poll_start(poll, UV_READABLE, on_poll);
      return NULL;
    }
    free(poll);
  }
  __atomic_store_n(&ch->io.rx_enabled, 1, __ATOMIC_RELEASE);
  uint64_t one = 1;
  ssize_t w = write(ch->io.wake_fd, &one, sizeof one); /* the thread may be asleep without watching the fd */
  (void)w;
  return NULL;
}

/* Writes are sent right here, on the JS thread, while the transmit ring is empty (the old single-threaded way:
 * fastest on the 2-core test machine); what the kernel cannot take now waits in the ring and the I/O thread sends it
 * when the socket is writable again. With tx_thread only a write of at most INLINE_MAX_BYTES (a ping, a few ACKs)
 * goes inline and bulk goes through the thread, where the kernel's delivery to the LAN host (veth/NIC → its TCP)
 * runs in parallel with the event loop. */
#define INLINE_MAX_BYTES 4096
#define INLINE_MAX_FRAMES 64

/* Puts frames[0..k) at the end of the transmit ring (full: dropped and counted). */
static void queue_frames(seb_channel *ch, const uint8_t *const *frames, const uint32_t *lens, unsigned k, uint64_t *tail) {
  for (unsigned i = 0; i < k; i++) {
    if (seb_byte_ring_append(&ch->io.tx, tail, frames[i], lens[i])) ch->tx_enqueued++;
    else ch->tx_drop_queue_full++;
  }
}

/* Sends what `frames` collected (inline) and queues what the kernel could not take in the ring, behind nothing. */
static void flush_inline(seb_channel *ch, const uint8_t **frames, const uint32_t *lens, unsigned k, uint64_t *tail,
                         int *inline_ok) {
  int blocked;
  unsigned done = seb_send_frames(ch->kind, ch->fd, frames, lens, k, &ch->tx_js, &ch->io.tx_gso, &blocked);
  if (done == k) return;
  *inline_ok = 0; /* the ring is no longer empty: everything after this goes behind it */
  queue_frames(ch, frames + done, lens + done, k - done, tail);
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
  uint64_t tail = ch->io.tx_tail_js;
  /* Frames go out right here while the ring is empty (the thread has sent everything published so far); with
   * tx_thread, only a write of at most INLINE_MAX_BYTES does. */
  int inline_ok = SEB_LOAD_ACQ(&ch->io.tx.head) == tail;
  const uint8_t *frames[INLINE_MAX_FRAMES];
  uint32_t lens[INLINE_MAX_FRAMES];
  size_t inline_bytes = 0;
  /* The path CoDel's inbound hook (ACKs from far hosts end its round-trip samples) runs here, on the thread that
   * also runs its outbound hook (the reads): only while the reads are on this thread. */
  seb_path_aqm *path = seb_io_path(&ch->io);
  uint64_t path_now = path ? seb_mono_ns() : 0;
  unsigned k = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    void *data;
    size_t len;
    if (napi_get_element(env, argv[0], i, &el) != napi_ok) break;
    if (!seb_get_buffer(env, el, &data, &len, "frame")) break;
    if (len < SEB_MIN_FRAME || len > SEB_MAX_FRAME) {
      ch->tx_drop_invalid++;
      continue;
    }
    if (path) seb_path_aqm_inbound(path, path_now, data, len);
    if (inline_ok && ch->tx_thread && (inline_bytes + len > INLINE_MAX_BYTES || k == INLINE_MAX_FRAMES)) {
      /* A bulk write: everything goes through the thread, what was collected first. */
      inline_ok = 0;
      queue_frames(ch, frames, lens, k, &tail);
      k = 0;
    }
    if (inline_ok) {
      frames[k] = data;
      lens[k++] = (uint32_t)len;
      inline_bytes += len;
      if (k == INLINE_MAX_FRAMES && !ch->tx_thread) {
        flush_inline(ch, frames, lens, k, &tail, &inline_ok);
        k = 0;
      }
      continue;
    }
    const uint8_t *frame = data;
    uint32_t frame_len = (uint32_t)len;
    queue_frames(ch, &frame, &frame_len, 1, &tail);
  }
  if (k) flush_inline(ch, frames, lens, k, &tail, &inline_ok);
  /* Frames before a bad element still go out; the exception (if any) is pending and reaches the caller. */
  if (tail != ch->io.tx_tail_js) {
    ch->io.tx_tail_js = tail;
    seb_byte_ring_publish(&ch->io.tx, tail);
    seb_io_kick(&ch->io);
  }
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  seb_channel *ch = unwrap(env, self);
  if (!ch) return NULL;
  if (!ch->closed && ch->kind == SEB_CHANNEL_PACKET) ch->rx_kernel_drops += seb_packet_take_kernel_drops(ch->fd);
  seb_io_counters s;
  if (ch->closed) s = ch->io.st_pub;
  else seb_io_counters_get(&ch->io, &s);
  uint64_t queued = ch->closed ? 0 : ch->tx_enqueued - s.tx_done;
  napi_value o;
  napi_create_object(env, &o);
  seb_set_u64(env, o, "rxFrames", s.rx.frames - ch->rx_drop_no_memory);
  seb_set_u64(env, o, "rxBytes", s.rx.bytes);
  seb_set_u64(env, o, "txFrames", s.tx.frames + ch->tx_js.frames);
  seb_set_u64(env, o, "txBytes", s.tx.bytes + ch->tx_js.bytes);
  seb_set_u64(env, o, "gsoSuperFrames", s.rx.gso_frames);
  seb_set_u64(env, o, "gsoSegments", s.rx.gso_segments);
  seb_set_u64(env, o, "checksumsCompleted", s.rx.csum_completed);
  seb_set_u64(env, o, "sctpChecksumsCompleted", s.rx.csum_sctp);
  seb_set_u64(env, o, "vlanTagsRestored", s.rx.vlan_restored);
  seb_set_u64(env, o, "rxDropOversize", s.rx.drop_oversize);
  seb_set_u64(env, o, "rxDropTruncated", s.rx_truncated);
  seb_set_u64(env, o, "rxDropRunt", s.rx.drop_runt);
  seb_set_u64(env, o, "rxDropBadGso", s.rx.drop_bad_gso);
  seb_set_u64(env, o, "rxDropNoMemory", s.rx.drop_no_memory + ch->rx_drop_no_memory);
  seb_set_u64(env, o, "rxDropKernel", ch->rx_kernel_drops);
  seb_set_u64(env, o, "rxErrors", s.rx_errors);
  seb_set_u64(env, o, "rxOwnSkipped", s.rx_outgoing_seen);
  seb_set_u64(env, o, "rxDropAqm", s.rx_drop_aqm);
  seb_set_u64(env, o, "rxDropPathAqm", s.rx_drop_path_aqm);
  /* read here, on the thread that writes it (the path CoDel runs only while the reads are on this thread) */
  seb_set_u64(env, o, "pathRttSamples", seb_io_path(&ch->io) ? seb_io_path(&ch->io)->samples : 0);
  seb_set_u64(env, o, "txDropQueueFull", ch->tx_drop_queue_full);
  seb_set_u64(env, o, "txDropInvalid", ch->tx_drop_invalid);
  seb_set_u64(env, o, "txDropError", s.tx.drop_error + ch->tx_js.drop_error);
  seb_set_u64(env, o, "txSuperFrames", s.tx.gso_frames + ch->tx_js.gso_frames);
  seb_set_u64(env, o, "txSuperSegments", s.tx.gso_segments + ch->tx_js.gso_segments);
  seb_set_u64(env, o, "txSuperRefused", s.tx.gso_refused + ch->tx_js.gso_refused);
  seb_set_u64(env, o, "txQueued", queued);
  seb_set_u64(env, o, "callbackErrors", ch->callback_errors);
  seb_set_str(env, o, "lastCallbackError", ch->last_callback_error);
  seb_set_str(env, o, "lastRxError", s.last_rx_errno ? seb_errno_name(s.last_rx_errno) : "");
  int last_tx = ch->tx_js.last_errno ? ch->tx_js.last_errno : s.tx.last_errno;
  seb_set_str(env, o, "lastTxError", last_tx ? seb_errno_name(last_tx) : "");
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
  ch->io.wake_fd = -1;
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

napi_value seb_channel_new(napi_env env, int kind, int fd, int ignores_outgoing, int tx_super_frames,
                           uint64_t aqm_target_ns, uint64_t path_target_ns, uint64_t aqm_interval_ns) {
  seb_addon_state *state = seb_state(env);
  napi_value ctor, obj;
  void *p = NULL;
  if (!state || napi_get_reference_value(env, state->channel_ctor, &ctor) != napi_ok ||
      napi_new_instance(env, ctor, 0, NULL, &obj) != napi_ok || napi_unwrap(env, obj, &p) != napi_ok || !p) {
    close(fd);
    return NULL;
  }
  seb_channel *ch = p;
  int rc = seb_io_init(&ch->io, kind, fd);
  /* Runs of TCP segments leave as super-frames (packet sockets only: they carry the vnet header; tx_coalesce.h). */
  ch->io.tx_gso = kind == SEB_CHANNEL_PACKET && tx_super_frames;
  /* CoDel needs the arrival stamps only a packet socket gives (seb_packet_opts.timestamps). */
  seb_codel_init(&ch->io.aqm, kind == SEB_CHANNEL_PACKET ? aqm_target_ns : 0, aqm_interval_ns);
  if (rc == 0 && path_target_ns) { /* needs no stamps: packet sockets and taps alike */
    ch->io.path = malloc(sizeof *ch->io.path);
    if (ch->io.path) seb_path_aqm_init(ch->io.path, path_target_ns, aqm_interval_ns);
    else rc = -ENOMEM;
    if (rc != 0) seb_io_destroy(&ch->io);
  }
  if (rc == 0) {
    rc = seb_io_start(&ch->io);
    if (rc != 0) seb_io_destroy(&ch->io);
  }
  if (rc != 0) {
    close(fd);
    return seb_throw_errno(env, -rc, "FrameChannel I/O thread");
  }
  ch->thread_ok = 1;
  ch->kind = kind;
  ch->fd = fd;
  ch->ignores_outgoing = ignores_outgoing;
  ch->closed = 0;
  return obj;
}
