/*
 * CoDel (RFC 8289) on the frames a packet-socket port reads from the LAN: drops a frame now and then when frames
 * have waited in the socket's receive buffer longer than `target` for at least `interval`, so a LAN host's TCP
 * (CUBIC and the like back off only on loss) stops keeping a standing queue there. Without it, the queue is bounded
 * only by the 4 MiB buffer: 14-27 ms of ping delay at ~800 Mbit/s (bench/README.md, "CoDel at the LAN input").
 *
 * The waiting time is the kernel's receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) against the clock after the
 * read. Pure state machine: no I/O, no clock of its own, so a test can drive it with any timeline. RFC 8289's "queue
 * nearly empty" reset is left out: the reader empties the buffer in bursts (see channel_io.c), and a frame that
 * waited less than the target resets the state anyway.
 */
#ifndef SEB_CODEL_H
#define SEB_CODEL_H

#include <stdint.h>

typedef struct seb_codel {
  uint64_t target_ns;   /* 0: off */
  uint64_t interval_ns;
  uint64_t first_above; /* when the delay may first count as standing (0: it is below target) */
  uint64_t drop_next;   /* in the dropping state: when the next drop is due */
  uint32_t count;       /* drops in this dropping state (the control law's input) */
  uint32_t lastcount;
  int dropping;
} seb_codel;

/* Arms the state machine; target 0 switches it off (seb_codel_decide never drops). */
void seb_codel_init(seb_codel *c, uint64_t target_ns, uint64_t interval_ns);

/*
 * One frame taken off the queue at `now` (any monotonic nanosecond clock); `sojourn` is how long the queue had kept
 * its reader waiting: the read path passes the wait of the OLDEST frame of the read (channel_io.c says why).
 * `droppable`: this frame may be the one dropped (control frames and frames of SoftEther's priority class are not:
 * a due drop then falls on the next frame that may be). Returns 1 when the caller must drop this frame.
 */
int seb_codel_decide(seb_codel *c, uint64_t now, uint64_t sojourn, int droppable);

#endif
