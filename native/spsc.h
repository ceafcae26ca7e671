/*
 * Single-producer single-consumer queues between the JavaScript thread and a channel's I/O thread.
 * Lock-free: the producer only writes `tail`, the consumer only writes `head`; both are monotonically increasing
 * 64-bit counters (they never wrap in practice) published with release stores and read with acquire loads, so
 * whatever the producer wrote before publishing is visible to the consumer that sees the new value.
 *
 *  - seb_index_ring: small ring of indices (the receive arenas travelling between the threads).
 *  - seb_byte_ring: variable-length frame records (the transmit queue): a frame costs its length rounded up to 8
 *    plus an 8-byte header, so the same memory holds ~340 full-size frames or ~6000 small ones.
 */
#ifndef SEB_SPSC_H
#define SEB_SPSC_H

#include <stdint.h>
#include <string.h>

#define SEB_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define SEB_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* ---------- index ring (capacity: a power of two, at most 64) ---------- */

typedef struct seb_index_ring {
  uint64_t head; /* consumer */
  uint64_t tail; /* producer */
  uint32_t mask;
  uint8_t slot[64];
} seb_index_ring;

static inline void seb_index_ring_init(seb_index_ring *r, uint32_t capacity) {
  r->head = r->tail = 0;
  r->mask = capacity - 1;
}

/* Producer side. Returns 0 when full (cannot happen when capacity >= the number of indices in circulation). */
static inline int seb_index_ring_push(seb_index_ring *r, uint8_t v) {
  uint64_t t = r->tail;
  if (t - SEB_LOAD_ACQ(&r->head) > r->mask) return 0;
  r->slot[t & r->mask] = v;
  SEB_STORE_REL(&r->tail, t + 1);
  return 1;
}

/* Consumer side. Returns -1 when empty. */
static inline int seb_index_ring_pop(seb_index_ring *r) {
  uint64_t h = r->head;
  if (h == SEB_LOAD_ACQ(&r->tail)) return -1;
  int v = r->slot[h & r->mask];
  SEB_STORE_REL(&r->head, h + 1);
  return v;
}

static inline int seb_index_ring_empty(seb_index_ring *r) { return SEB_LOAD_ACQ(&r->head) == SEB_LOAD_ACQ(&r->tail); }

/* ---------- byte ring of frame records ---------- */

#define SEB_REC_HDR 8
#define SEB_REC_WRAP 0xffffffffu /* header length that means "the rest of the ring up to its end is unused" */

typedef struct seb_byte_ring {
  uint64_t head; /* consumer: byte offset of the next record (mod cap) */
  uint64_t tail; /* producer */
  uint64_t cap;  /* a multiple of 8 */
  uint8_t *mem;
} seb_byte_ring;

static inline uint64_t seb_rec_size(uint32_t len) { return SEB_REC_HDR + (((uint64_t)len + 7) & ~(uint64_t)7); }

/* Producer: append one record; returns 0 (and changes nothing) when there is no room. Not yet visible to the
 * consumer: call seb_byte_ring_publish after a batch of appends. `*tail` is the producer's private cursor. */
static inline int seb_byte_ring_append(seb_byte_ring *r, uint64_t *tail, const uint8_t *data, uint32_t len) {
  uint64_t t = *tail, need = seb_rec_size(len);
  uint64_t pos = t % r->cap, to_end = r->cap - pos;
  uint64_t skip = to_end < need ? to_end : 0; /* a record never wraps: skip the ring's end if it does not fit */
  if (r->cap - (t - SEB_LOAD_ACQ(&r->head)) < skip + need) return 0;
  if (skip) {
    uint32_t wrap = SEB_REC_WRAP;
    memcpy(r->mem + pos, &wrap, sizeof wrap);
    t += skip;
    pos = 0;
  }
  memcpy(r->mem + pos, &len, sizeof len);
  memcpy(r->mem + pos + SEB_REC_HDR, data, len);
  *tail = t + need;
  return 1;
}

static inline void seb_byte_ring_publish(seb_byte_ring *r, uint64_t tail) { SEB_STORE_REL(&r->tail, tail); }

/* Consumer: the record at byte offset `at` (a private cursor between head and tail), skipping a wrap marker.
 * Returns 0 when `at` has reached the published tail. */
static inline int seb_byte_ring_peek(seb_byte_ring *r, uint64_t *at, const uint8_t **data, uint32_t *len) {
  uint64_t t = SEB_LOAD_ACQ(&r->tail);
  for (;;) {
    if (*at == t) return 0;
    uint64_t pos = *at % r->cap;
    uint32_t l;
    memcpy(&l, r->mem + pos, sizeof l);
    if (l == SEB_REC_WRAP) {
      *at += r->cap - pos;
      continue;
    }
    *data = r->mem + pos + SEB_REC_HDR;
    *len = l;
    return 1;
  }
}

/* Consumer: give the bytes up to `at` back to the producer. */
static inline void seb_byte_ring_release(seb_byte_ring *r, uint64_t at) { SEB_STORE_REL(&r->head, at); }

#endif
