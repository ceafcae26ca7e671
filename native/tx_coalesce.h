/* TCP segments of one flow, sent to the LAN as one super-frame (software GRO on the transmit side).
 *
 * Frames from the tunnel come in runs: a read of 16 KiB of TLS plaintext holds ~11 full-size segments of the same
 * download, back to back. Sent one by one, each is its own skb through the kernel and through the LAN host's TCP,
 * and the host acknowledges every second one. Sent as one frame with a virtio-net header (gso_type TCPV4/TCPV6,
 * gso_size = the segments' payload size, checksum left to the device), the kernel builds one skb: a NIC with TSO
 * cuts it into the same segments in hardware, a device without TSO in software (GSO), and a veth hands it to the
 * host's TCP whole, like GRO would. What reaches the wire are the same segments with the same headers, except the
 * fields GSO rewrites: IPv4 id (counted up from the first segment's), lengths, checksums, PSH only on the last.
 *
 * Only what Linux's GRO would merge is merged: untagged IPv4 without options and not fragmented, or IPv6 without
 * extension headers; TCP with flags exactly ACK (ACK+PSH ends a run); identical Ethernet, IP (but length, id,
 * checksum) and TCP headers including every option byte (timestamps), except the sequence number, which must
 * continue the previous segment's; every segment but the last of the run carrying the same payload size; IPv4
 * without DF with ids counting up by one. A segment whose IP or TCP checksum is wrong is never merged (the
 * super-frame's checksums are computed anew, which would hide the damage): it goes out as it came. */
#ifndef SEB_TX_COALESCE_H
#define SEB_TX_COALESCE_H

#include <linux/virtio_net.h>
#include <stdint.h>

/* Ethernet + IPv6 + the largest TCP header. */
#define SEB_GSO_MAX_HDR 128

typedef struct seb_tcp_seg {
  uint16_t l4;      /* offset of the TCP header in the frame */
  uint16_t hdr_len; /* Ethernet + IP + TCP headers */
  uint16_t payload; /* TCP payload bytes */
  uint8_t v6;
  uint8_t psh;
  uint32_t seq;
} seb_tcp_seg;

/* 1 if the frame's headers allow it to be part of a super-frame (see above), with *s describing it; 0 otherwise.
 * Checksums are not looked at: that costs a pass over the payload, paid only for frames that do join a run. */
int seb_tcp_seg_parse(const uint8_t *f, uint32_t len, seb_tcp_seg *s);

/* 1 if the IPv4 header checksum (IPv4) and the TCP checksum of a parsed segment are right. */
int seb_tcp_seg_intact(const uint8_t *f, const seb_tcp_seg *s);

/* 1 if segment b (frame fb) may follow a run that starts with segment a (frame fa), holds `count` segments and
 * `run_payload` bytes, and whose next expected sequence number is `next_seq`. The caller ends a run itself after a
 * segment with PSH or with less payload than the first. */
int seb_tcp_seg_continues(const uint8_t *fa, const seb_tcp_seg *a, uint32_t count, uint32_t run_payload,
                          uint32_t next_seq, const uint8_t *fb, const seb_tcp_seg *b);

/* The headers of the super-frame for a run that starts with `a` and carries `run_payload` bytes (out: a->hdr_len
 * bytes), and its virtio-net header. `psh`: the run's last segment had PSH. */
void seb_tcp_super_header(const uint8_t *fa, const seb_tcp_seg *a, uint32_t run_payload, int psh, uint8_t *out,
                          struct virtio_net_hdr *vh);

#endif
