#include "rx_fixup.h"

#include <string.h>

#include "checksum.h"

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86dd
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_SCTP 132

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

typedef struct headers {
  size_t l3;     /* offset of the IP header */
  int ipv6;
  size_t l4;     /* offset of the TCP/UDP header */
  uint8_t proto; /* PROTO_TCP or PROTO_UDP */
  size_t end;    /* offset of the payload */
} headers;

/* Locate the IP header and the upper-layer protocol behind it (h->l3, ipv6, proto, l4); false when the frame is
 * not unfragmented IPv4/IPv6 (optionally behind up to two VLAN tags). */
static int parse_l3(const uint8_t *f, size_t len, headers *h) {
  if (len < 14) return 0;
  size_t off = 12;
  uint16_t type = seb_get_be16(f + off);
  off += 2;
  for (int tags = 0; (type == ETH_P_8021Q_ || type == ETH_P_8021AD_) && tags < 2; tags++) {
    if (len < off + 4) return 0;
    type = seb_get_be16(f + off + 2);
    off += 4;
  }
  h->l3 = off;
  if (type == ETH_P_IP_) {
    if (len < off + 20 || (f[off] >> 4) != 4) return 0;
    size_t ihl = (size_t)(f[off] & 15) * 4;
    if (ihl < 20 || len < off + ihl) return 0;
    if (seb_get_be16(f + off + 6) & 0x3fff) return 0; /* a fragment cannot be segmented */
    h->ipv6 = 0;
    h->proto = f[off + 9];
    h->l4 = off + ihl;
  } else if (type == ETH_P_IPV6_) {
    if (len < off + 40 || (f[off] >> 4) != 6) return 0;
    h->ipv6 = 1;
    uint8_t nh = f[off + 6];
    size_t l4 = off + 40;
    /* Hop-by-hop, routing and destination options may sit in front of TCP/UDP; fragments may not. */
    for (int n = 0; (nh == 0 || nh == 43 || nh == 60) && n < 8; n++) {
      if (len < l4 + 8) return 0;
      nh = f[l4];
      l4 += ((size_t)f[l4 + 1] + 1) * 8;
    }
    h->proto = nh;
    h->l4 = l4;
  } else {
    return 0;
  }
  return 1;
}

/* Locate IP and TCP/UDP headers; false when the frame is not something GSO could have produced. */
static int parse_headers(const uint8_t *f, size_t len, headers *h) {
  if (!parse_l3(f, len, h)) return 0;
  if (h->proto == PROTO_TCP) {
    if (len < h->l4 + 20) return 0;
    size_t doff = (size_t)(f[h->l4 + 12] >> 4) * 4;
    if (doff < 20 || len < h->l4 + doff) return 0;
    h->end = h->l4 + doff;
  } else if (h->proto == PROTO_UDP) {
    if (len < h->l4 + 8) return 0;
    h->end = h->l4 + 8;
  } else {
    return 0;
  }
  return 1;
}

static void emit(const uint8_t *frame, size_t len, const seb_sink *sink, seb_rx_counters *c) {
  uint8_t *out = sink->alloc(sink->ctx, len);
  if (!out) {
    c->drop_no_memory++;
    return;
  }
  memcpy(out, frame, len);
  c->frames++;
  c->bytes += len;
}

/* Cut a super-frame into segments of at most gso_size payload bytes each, the way a NIC doing TSO/USO would. */
static void segment(const uint8_t *f, size_t len, const struct virtio_net_hdr *vh, const seb_sink *sink,
                    seb_rx_counters *c) {
  headers h;
  unsigned type = vh->gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;
  size_t mss = vh->gso_size; /* little-endian on every host this runs on (x86, arm64) */
  if (!parse_headers(f, len, &h) || mss == 0) goto bad;
  if (type == VIRTIO_NET_HDR_GSO_TCPV4 && (h.ipv6 || h.proto != PROTO_TCP)) goto bad;
  if (type == VIRTIO_NET_HDR_GSO_TCPV6 && (!h.ipv6 || h.proto != PROTO_TCP)) goto bad;
  if (type == VIRTIO_NET_HDR_GSO_UDP_L4 && h.proto != PROTO_UDP) goto bad;
  if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 && type != VIRTIO_NET_HDR_GSO_UDP_L4)
    goto bad;

  size_t payload = len - h.end;
  size_t nseg = payload ? (payload + mss - 1) / mss : 1;
  if (nseg > SEB_MAX_SEGMENTS) goto bad;
  size_t first_len = h.end + (payload < mss ? payload : mss);
  if (first_len > SEB_MAX_FRAME) {
    c->drop_oversize++;
    return;
  }
  c->gso_frames++;

  uint16_t ip_id = h.ipv6 ? 0 : seb_get_be16(f + h.l3 + 4);
  uint32_t seq = h.proto == PROTO_TCP ? seb_get_be32(f + h.l4 + 4) : 0;
  size_t off = h.end;
  for (size_t i = 0; i < nseg; i++) {
    size_t seglen = len - off < mss ? len - off : mss;
    size_t outlen = h.end + seglen;
    uint8_t *o = sink->alloc(sink->ctx, outlen);
    if (!o) {
      c->drop_no_memory++;
      return;
    }
    memcpy(o, f, h.end);
    memcpy(o + h.end, f + off, seglen);
    off += seglen;

    uint8_t *ip = o + h.l3;
    uint32_t l4len = (uint32_t)(outlen - h.l4);
    uint64_t sum;
    if (h.ipv6) {
      seb_put_be16(ip + 4, (uint16_t)(outlen - h.l3 - 40));
      sum = seb_csum_pseudo6(ip, h.proto, l4len);
    } else {
      seb_put_be16(ip + 2, (uint16_t)(outlen - h.l3));
      seb_put_be16(ip + 4, (uint16_t)(ip_id + i)); /* what the kernel's own segmentation does */
      seb_put_be16(ip + 10, 0);
      seb_put_be16(ip + 10, seb_csum_finish(seb_csum_add(0, ip, h.l4 - h.l3)));
      sum = seb_csum_pseudo4(ip, h.proto, l4len);
    }
    uint8_t *l4 = o + h.l4;
    if (h.proto == PROTO_TCP) {
      seb_put_be32(l4 + 4, seq + (uint32_t)(i * mss));
      if (i + 1 < nseg) l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH); /* end-of-data flags belong to the last piece */
      if (i > 0) l4[13] &= (uint8_t)~TCP_CWR;                    /* congestion signal belongs to the first */
      seb_put_be16(l4 + 16, 0);
      seb_put_be16(l4 + 16, seb_csum_finish(seb_csum_add(sum, l4, l4len)));
    } else {
      seb_put_be16(l4 + 4, (uint16_t)l4len);
      seb_put_be16(l4 + 6, 0);
      uint16_t ck = seb_csum_finish(seb_csum_add(sum, l4, l4len));
      seb_put_be16(l4 + 6, ck ? ck : 0xffff); /* 0 means "no checksum" in UDP */
    }
    c->frames++;
    c->bytes += outlen;
    c->gso_segments++;
  }
  return;
bad:
  c->drop_bad_gso++;
}

/* The kernel left the pseudo-header sum in the checksum field; summing from csum_start to the end
 * and storing the complement finishes the job, exactly as a NIC would.
 * Except for SCTP: its "partial checksum" (csum_offset 8, the kernel's csum_not_inet) is a CRC32c over the whole
 * SCTP packet with the field zeroed, stored least significant byte first (as Linux's sctp_compute_cksum does). */
static int complete_checksum(uint8_t *f, size_t len, size_t start, size_t field, seb_rx_counters *c) {
  if (start >= len || field + 2 > len || field < start) return 0;
  headers h;
  if (field - start == 8 && parse_l3(f, len, &h) && h.proto == PROTO_SCTP && h.l4 == start) {
    if (len < start + 12) return 0;
    memset(f + field, 0, 4);
    uint32_t crc = seb_crc32c(0, f + start, len - start);
    f[field] = (uint8_t)crc;
    f[field + 1] = (uint8_t)(crc >> 8);
    f[field + 2] = (uint8_t)(crc >> 16);
    f[field + 3] = (uint8_t)(crc >> 24);
    c->csum_sctp++;
    return 1;
  }
  uint16_t ck = seb_csum_finish(seb_csum_add(0, f + start, len - start));
  if (ck == 0 && field - start == 6) ck = 0xffff; /* UDP (checksum at offset 6): 0 would mean "none" */
  seb_put_be16(f + field, ck);
  return 1;
}

void seb_rx_process(uint8_t *frame, size_t len, const struct virtio_net_hdr *vh, const seb_vlan_info *vlan,
                    const seb_sink *sink, seb_rx_counters *c) {
  size_t shift = 0;
  if (len < SEB_MIN_FRAME) {
    c->drop_runt++;
    return;
  }
  if (vlan && vlan->valid) {
    /* Slide the two MAC addresses into the headroom and write the tag where they were. */
    memmove(frame - 4, frame, 12);
    frame -= 4;
    len += 4;
    seb_put_be16(frame + 12, vlan->tpid ? vlan->tpid : ETH_P_8021Q_);
    seb_put_be16(frame + 14, vlan->tci);
    shift = 4;
    c->vlan_restored++;
  }
  if (vh && vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
    segment(frame, len, vh, sink, c);
    return;
  }
  if (vh && (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
    size_t start = (size_t)vh->csum_start + shift;
    if (!complete_checksum(frame, len, start, start + vh->csum_offset, c)) {
      c->drop_bad_gso++;
      return;
    }
    c->csum_completed++;
  }
  if (len > SEB_MAX_FRAME) {
    c->drop_oversize++;
    return;
  }
  emit(frame, len, sink, c);
}
