/*
 * The I/O thread of a FrameChannel, and the receive code shared with the event loop: everything between the file
 * descriptor (AF_PACKET socket or TAP device) and the queues shared with the JavaScript thread. No N-API here.
 *
 *   transmit: JS thread ─copy─► byte ring (512 KiB) ─sendmmsg on the I/O thread─► fd
 *             (by default only what the kernel could not take when JS sent it; SEBRIDGE_IO_THREAD=tx: bulk too)
 *   receive (default, rx_on_loop): the JS thread itself reads into the arenas (seb_io_read_on_loop)
 *   receive (SEBRIDGE_IO_THREAD=rx,tx): fd ─recvmmsg + fix-up on the I/O thread─► arena ─full ring─► JS thread
 *             (copies into one ArrayBuffer per hand-over) ─free ring─► arenas back at once
 *
 * Why the thread modes are not the default: on the 2-core test machine, where the real server shares the cores and
 * is the bottleneck, the thread's wake-ups cost the LAN→server direction 10-25 % and sending on the thread did not
 * raise server→LAN throughput (bench/README.md, "I/O thread"). The loop, busy with TLS, batches naturally.
 *
 * Bounded: SEB_NARENAS arenas of SEB_ARENA_SIZE bytes (on the thread: when JS is slow it waits for one and the
 * kernel's socket buffer fills, then the kernel drops and counts), and a transmit ring of SEB_TX_RING_BYTES (full:
 * the frame is dropped and counted by the JS thread).
 */
#ifndef SEB_CHANNEL_IO_H
#define SEB_CHANNEL_IO_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <uv.h>

#include "codel.h"
#include "path_aqm.h"
#include "rx_fixup.h"
#include "spsc.h"

#define SEB_CHANNEL_PACKET 1
#define SEB_CHANNEL_TAP 2

#define SEB_RX_BATCH 64
#define SEB_TX_BATCH 64
#define SEB_NARENAS 8
#define SEB_ARENA_SIZE (64 * 1024)
#define SEB_ARENA_FRAMES 1024 /* frames per arena at most, whatever their size */
#define SEB_TX_RING_BYTES (512 * 1024)
/* Largest GSO super-frame (64 KiB IP packet + Ethernet and two VLAN headers) with a little slack. */
#define SEB_RX_SLOT_DATA (65536 + 64)
#define SEB_RX_SLOT_STRIDE (SEB_RX_HEADROOM + SEB_RX_SLOT_DATA + 12)

typedef struct seb_arena {
  uint8_t *data; /* SEB_ARENA_SIZE bytes; the JS thread copies what was used into one ArrayBuffer per hand-over */
  uint32_t cap;
  uint32_t used;
  uint32_t count;
  uint32_t desc[SEB_ARENA_FRAMES * 2]; /* (offset, length) per frame */
} seb_arena;

/* What sending counted (the I/O thread's and the JS thread's inline sends each have their own). */
typedef struct seb_tx_counters {
  uint64_t frames;
  uint64_t bytes;
  uint64_t drop_error; /* the kernel refused the frame (interface down, too big for its MTU...) */
  uint64_t gso_frames;   /* super-frames sent (tx_coalesce.h) */
  uint64_t gso_segments; /* the frames they carried */
  uint64_t gso_refused;  /* the kernel refused a super-frame (super-frames then stop) */
  int last_errno;
} seb_tx_counters;

/* Counters of the receiving side and of the I/O thread's sends (copied out under `pub_lock`). */
typedef struct seb_io_counters {
  seb_rx_counters rx;
  uint64_t rx_truncated;     /* larger than even a super-frame buffer */
  uint64_t rx_errors;
  uint64_t rx_outgoing_seen; /* own transmissions the kernel still showed us (old kernels); skipped */
  uint64_t rx_drop_aqm;      /* dropped by CoDel: they had waited in the socket's buffer too long (codel.h) */
  uint64_t rx_drop_path_aqm; /* dropped by CoDel on the path's delay: their flow keeps a queue standing beyond the
                                bridge (path_aqm.h) */
  seb_tx_counters tx;
  uint64_t tx_done; /* frames taken off the ring: sent or refused */
  int last_rx_errno;
} seb_io_counters;

typedef union seb_ctrl_buf {
  char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata)) + CMSG_SPACE(sizeof(struct timespec))];
  struct cmsghdr align;
} seb_ctrl_buf;

typedef struct seb_channel_io {
  int kind;
  int fd;
  int wake_fd;          /* eventfd: the JS thread wakes a sleeping I/O thread */
  uv_async_t *notify;   /* the I/O thread wakes the JS thread: full arenas are waiting */
  pthread_t thread;
  int running;

  int stop;       /* atomic: set by the JS thread */
  int rx_enabled; /* atomic: set by the JS thread once it listens (start()); until then the fd is only written */
  int rx_on_loop; /* receiving is done by the JS thread itself (seb_io_read_on_loop), the thread only transmits */
  int sleeping; /* atomic: the I/O thread is (about to be) blocked in poll() */
  int js_busy;  /* atomic: the JS thread is taking and processing arenas (set before it takes them) */
  int holding;  /* atomic: the I/O thread holds frames it has not handed over yet (because JS was busy) */

  seb_arena arenas[SEB_NARENAS];
  seb_index_ring free_ring; /* JS thread → I/O thread */
  seb_index_ring full_ring; /* I/O thread → JS thread */
  int cur;                  /* I/O thread: arena being filled, or -1 */
  uint64_t last_push_ns;    /* I/O thread: when the last arena went to JS (CLOCK_MONOTONIC) */
  uint32_t last_push_bytes; /* I/O thread: how much it carried */
  uint32_t scanned;         /* I/O thread: frames of the current arena already checked by scan_urgent */
  int urgent;               /* I/O thread: the current arena holds a frame that must not wait */

  seb_byte_ring tx;
  uint64_t tx_tail_js; /* JS thread's private producer cursor */
  int tx_gso;          /* atomic: runs of TCP segments go out as super-frames (packet sockets; off after a refusal) */

  seb_codel aqm; /* whoever receives: CoDel on the receive buffer's waiting time (packet sockets; off for taps) */
  /* CoDel on the path's delay (path_aqm.h): its outbound hook runs in the receive path, its inbound hook in the JS
   * thread's writes, so it is on only while the JS thread also receives (rx_on_loop); heap-allocated (~40 KiB). */
  seb_path_aqm *path;

  seb_io_counters st;     /* I/O thread's own */
  seb_io_counters st_pub; /* published copy */
  pthread_mutex_t pub_lock;

  /* I/O thread's receive scratch */
  uint8_t *rx_mem;
  struct virtio_net_hdr rx_vh[SEB_RX_BATCH];
  struct sockaddr_ll rx_addr[SEB_RX_BATCH];
  seb_ctrl_buf rx_ctrl[SEB_RX_BATCH];
  struct iovec rx_iov[SEB_RX_BATCH][2];
  struct mmsghdr rx_msgs[SEB_RX_BATCH];
} seb_channel_io;

/* CLOCK_MONOTONIC in ns: the timeline of the linger and of both CoDels. */
static inline uint64_t seb_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The path CoDel if it runs (allocated, and the reads are on the JS thread, where its write hook runs too), or NULL:
 * what the read paths, the JS thread's writes and its stats ask. */
static inline seb_path_aqm *seb_io_path(seb_channel_io *io) { return io->rx_on_loop ? io->path : NULL; }

/* Allocates the thread's buffers, arenas and the wake eventfd. 0 or -errno. */
int seb_io_init(seb_channel_io *io, int kind, int fd);
/* Starts the thread (it only writes until rx_enabled is set, with `notify` ready). 0 or -errno. */
int seb_io_start(seb_channel_io *io);
/* Stops and joins the thread (if started) and frees what seb_io_init allocated. Does not close `fd`. */
void seb_io_destroy(seb_channel_io *io);
/* JS thread: something for the I/O thread (frames to send, arenas returned). Cheap when it is busy. */
void seb_io_kick(seb_channel_io *io);
/* JS thread: around taking and processing the filled arenas. While JS is busy, the I/O thread keeps adding to the
 * arena it is filling instead of handing over many small ones: the next JS call then gets one big batch (one TLS
 * write on the cascade instead of many). seb_io_js_done wakes the thread if it is holding frames back. */
void seb_io_js_busy(seb_channel_io *io);
void seb_io_js_done(seb_channel_io *io);
/* JS thread, rx_on_loop mode: read what is waiting into arenas (put on the full ring). Returns 1 if more may wait. */
int seb_io_read_on_loop(seb_channel_io *io);
/* Sends frames[0..n) on fd: sendmmsg behind a vnet header (a packet socket; with *gso set, runs of TCP segments as
 * super-frames, tx_coalesce.h; *gso is cleared if the kernel refuses one), or one write each (a TAP device); counts
 * into c. Returns how many are done with (sent, or refused by the kernel and counted) and sets *blocked when it
 * stopped at "would block". Used by the I/O thread and by the JS thread's inline sends. */
unsigned seb_send_frames(int kind, int fd, const uint8_t *const *frames, const uint32_t *lens, unsigned n,
                         seb_tx_counters *c, int *gso, int *blocked);
/* JS thread: a consistent copy of the I/O thread's counters. */
void seb_io_counters_get(seb_channel_io *io, seb_io_counters *out);

#endif
