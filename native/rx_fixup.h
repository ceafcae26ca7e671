/*
 * What happens to a received frame between the kernel and JavaScript:
 *  1. a VLAN tag the NIC (or the kernel's receive path) stripped into metadata is put back into the frame;
 *  2. a GSO super-frame (described by the virtio_net_hdr the kernel hands over with PACKET_VNET_HDR) is cut into
 *     wire-sized frames with correct IP/TCP/UDP headers and checksums;
 *  3. a frame whose checksum was left to "hardware" (VIRTIO_NET_HDR_F_NEEDS_CSUM) gets it computed (the
 *     Internet checksum, or CRC32c for SCTP);
 *  4. anything still larger than the protocol's 1600-byte limit is dropped and counted.
 * The results are written into memory obtained from a sink, so the caller decides where frames live
 * (JS Buffers in the addon, plain memory in tests).
 */
#ifndef SEB_RX_FIXUP_H
#define SEB_RX_FIXUP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>

/* The SoftEther tunnel carries frames up to 1600 bytes; anything larger can never be forwarded. */
#define SEB_MAX_FRAME 1600
#define SEB_MIN_FRAME 14
/* Room a receive buffer must leave in front of the frame so a VLAN tag can be re-inserted in place. */
#define SEB_RX_HEADROOM 4
/* A super-frame that would need more segments than this is treated as malformed (real ones need < 800). */
#define SEB_MAX_SEGMENTS 1024

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* newer than the libc headers on some systems */
#endif

typedef struct seb_sink {
  /* Returns writable memory for one output frame of exactly len bytes, or NULL when out of memory. */
  uint8_t *(*alloc)(void *ctx, size_t len);
  void *ctx;
} seb_sink;

typedef struct seb_rx_counters {
  uint64_t frames;          /* frames handed to the sink */
  uint64_t bytes;
  uint64_t gso_frames;      /* super-frames that were segmented */
  uint64_t gso_segments;    /* frames produced by segmentation */
  uint64_t csum_completed;  /* partial checksums completed (all kinds) */
  uint64_t csum_sctp;       /* of which SCTP CRC32c */
  uint64_t vlan_restored;   /* stripped VLAN tags put back */
  uint64_t drop_oversize;   /* > 1600 bytes after fix-up (or segments that would be) */
  uint64_t drop_runt;       /* shorter than an Ethernet header */
  uint64_t drop_bad_gso;    /* GSO metadata that does not match the headers */
  uint64_t drop_no_memory;  /* the sink could not provide memory */
} seb_rx_counters;

typedef struct seb_vlan_info {
  int valid;
  uint16_t tpid; /* 0 means 802.1Q (0x8100) */
  uint16_t tci;
} seb_vlan_info;

/* frame must have SEB_RX_HEADROOM writable bytes before it; it may be modified in place.
 * vh may be NULL (no metadata: TAP devices, tests). */
void seb_rx_process(uint8_t *frame, size_t len, const struct virtio_net_hdr *vh, const seb_vlan_info *vlan,
                    const seb_sink *sink, seb_rx_counters *c);

#endif
