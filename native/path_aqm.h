/*
 * CoDel on the path's delay: for a queue that stands beyond the bridge, where the bridge cannot see it.
 *
 * The LAN-input CoDel (codel.h) controls the queue in the bridge's own receive buffer. When the slowest point of the
 * path toward the server's side is further on (the stock server's hub queue toward its own LAN, measured at ~12 ms
 * with CUBIC hosts on the test machine; a slow remote LAN; a server on a weak machine), a LAN host's TCP keeps a
 * standing queue there and nothing on the bridge's side tells it: the bridge never drops, the cascade's TCP windows
 * stay open. The delay of that queue is visible in the LAN host's own TCP flows, though: a data segment goes out
 * through the bridge, the far host's acknowledgement of it comes back through the bridge, and the time between the
 * two is the round trip beyond the bridge, queues included.
 *
 * Per TCP flow (LAN host → far host) one segment of new data at a time is timed (Karn: never a retransmitted one);
 * the far host's ACK that covers it ends the sample. The flow's base is the smallest round trip seen (its path
 * without queues); a sample minus the base is the flow's queueing delay, and each outbound frame of the flow is
 * judged by CoDel (codel.h, target/interval as the LAN-input CoDel) on the flow's latest delay: a standing delay
 * above the target for an interval drops a frame of that flow, at CoDel's growing rate. Only flows that send in
 * bulk are dropped from (a full-size segment, at least SEB_PATH_BULK_FRAMES frames in the previous interval), so a
 * keystroke or a request whose ACK a delayed-ACK timer held back never is.
 *
 * The base is the flow's minimum over its life, since a queue that CoDel keeps near the target seldom drains to
 * zero and a base that forgot would creep up with it. A path that got longer for good (the cascade moved to
 * another server) would then look like a standing queue: when a dropping state has dropped SEB_PATH_REBASE_DROPS
 * frames without the delay falling below the target once (~2 s), the base is taken anew from the next sample.
 *
 * Bounded: a fixed table of flows, direct-mapped; a flow keeps its slot while it sends in bulk and is answered
 * through the bridge (a flow between two LAN hosts, read too, never is, and gives way after a second; a sparse flow,
 * which is never dropped anyway, gives way to any other after its first interval, so a long-lived quiet connection
 * such as iperf3's control channel or an SSH session cannot shield a bulk flow that hashes to its slot). No
 * allocation. Pure:
 * the caller passes the clock, a test can drive it with any timeline. Not thread-safe: both hooks must run on the
 * same thread (the event loop; the channel leaves it off when its reads run on the I/O thread).
 */
#ifndef SEB_PATH_AQM_H
#define SEB_PATH_AQM_H

#include <stddef.h>
#include <stdint.h>

#include "codel.h"

#define SEB_PATH_FLOWS 256             /* table slots (a power of two) */
#define SEB_PATH_BULK_FRAMES 8         /* frames of a flow in the previous interval for it to count as bulk */
#define SEB_PATH_BULK_PAYLOAD 512      /* TCP payload bytes of a frame CoDel may drop */
#define SEB_PATH_REBASE_DROPS 64       /* drops in one dropping state after which the base is taken anew */

typedef struct seb_path_flow {
  uint8_t used;
  uint8_t v6;
  uint8_t armed;    /* a segment is being timed */
  uint8_t hold;     /* after a drop: time nothing until the ACKs passed `recover` (the hole is repaired) */
  uint8_t lan[16];  /* the LAN host's address (IPv4: the first 4 bytes) */
  uint8_t far[16];
  uint16_t lan_port, far_port;
  uint32_t snd_max;   /* the highest sequence number sent + 1 */
  uint32_t seq_end;   /* the timed segment's last byte + 1 */
  uint32_t recover;
  uint64_t sent;      /* when the timed segment went out */
  uint64_t base;      /* the smallest round trip seen (UINT64_MAX: none yet) */
  uint64_t delay;     /* the latest sample minus the base */
  uint64_t last_sample;
  uint64_t last_seen;
  uint64_t born;      /* when the flow took its slot */
  uint64_t win_start; /* frame counting per interval: is the flow a bulk sender? */
  uint32_t win_frames, prev_frames;
  seb_codel codel;
} seb_path_flow;

typedef struct seb_path_aqm {
  uint64_t target_ns; /* 0: off */
  uint64_t interval_ns;
  uint64_t samples;   /* round trips measured (for the stats and tests) */
  uint64_t rebases;   /* bases taken anew (see above) */
  seb_path_flow flow[SEB_PATH_FLOWS];
} seb_path_aqm;

/* Clears the table; target 0 switches it off (both hooks then return at once). */
void seb_path_aqm_init(seb_path_aqm *p, uint64_t target_ns, uint64_t interval_ns);

/* A frame read from the LAN, about to be forwarded at `now` (monotonic ns). Returns 1 when it must be dropped. */
int seb_path_aqm_outbound(seb_path_aqm *p, uint64_t now, const uint8_t *frame, size_t len);

/* A frame about to be written to the LAN at `now`: an ACK from a far host may end a flow's timed sample. */
void seb_path_aqm_inbound(seb_path_aqm *p, uint64_t now, const uint8_t *frame, size_t len);

/* The flow a frame belongs to as the outbound hook sees it (LAN host = source), or NULL (tests). */
const seb_path_flow *seb_path_aqm_lookup(const seb_path_aqm *p, const uint8_t *frame, size_t len);

#endif
