#include "tx_coalesce.h"

#include <string.h>

#include "checksum.h"

#define ETH_LEN 14
#define TCP_ACK 0x10
#define TCP_PSH 0x08
/* A super-frame stays within the kernel's default GSO limit (gso_max_size, 64 KiB with the Ethernet header), which
 * also keeps its IPv4 total length and IPv6 payload length within their 16-bit fields. */
#define MAX_SUPER_FRAME 65536u

int seb_tcp_seg_parse(const uint8_t *f, uint32_t len, seb_tcp_seg *s) {
  if (len < ETH_LEN + 20 + 20) return 0;
  const uint8_t *ip = f + ETH_LEN;
  uint32_t l4, l4len;
  switch (seb_get_be16(f + 12)) {
    case 0x0800: {
      if (ip[0] != 0x45 || ip[9] != 6) return 0;          /* IPv4 without options, TCP */
      if (seb_get_be16(ip + 6) & 0x3fff) return 0;        /* a fragment (MF or an offset) */
      uint32_t total = seb_get_be16(ip + 2);
      if (total < 40 || ETH_LEN + total != len) return 0; /* exactly the frame: no padding, nothing cut off */
      l4 = ETH_LEN + 20;
      l4len = total - 20;
      s->v6 = 0;
      break;
    }
    case 0x86dd: {
      if (len < ETH_LEN + 40 + 20 || (ip[0] >> 4) != 6 || ip[6] != 6) return 0; /* no extension headers */
      l4len = seb_get_be16(ip + 4);
      if (ETH_LEN + 40 + l4len != len) return 0;
      l4 = ETH_LEN + 40;
      s->v6 = 1;
      break;
    }
    default:
      return 0; /* not IP, or VLAN-tagged: sent as it is */
  }
  const uint8_t *th = f + l4;
  uint32_t thlen = (uint32_t)(th[12] >> 4) * 4u;
  if (thlen < 20 || thlen >= l4len) return 0; /* no payload: nothing to merge */
  if ((th[12] & 0x0f) != 0) return 0;         /* reserved bits (AccECN) */
  uint8_t flags = th[13];
  if (flags != TCP_ACK && flags != (TCP_ACK | TCP_PSH)) return 0;
  s->l4 = (uint16_t)l4;
  s->hdr_len = (uint16_t)(l4 + thlen);
  s->payload = (uint16_t)(l4len - thlen);
  s->psh = flags == (TCP_ACK | TCP_PSH);
  s->seq = seb_get_be32(th + 4);
  return 1;
}

int seb_tcp_seg_intact(const uint8_t *f, const seb_tcp_seg *s) {
  const uint8_t *ip = f + ETH_LEN;
  uint32_t l4len = (uint32_t)(s->hdr_len - s->l4) + s->payload;
  uint64_t pseudo;
  if (!s->v6) {
    if (seb_csum_finish(seb_csum_add(0, ip, 20)) != 0) return 0;
    pseudo = seb_csum_pseudo4(ip, 6, l4len);
  } else {
    pseudo = seb_csum_pseudo6(ip, 6, l4len);
  }
  return seb_csum_finish(seb_csum_add(pseudo, f + s->l4, l4len)) == 0;
}

int seb_tcp_seg_continues(const uint8_t *fa, const seb_tcp_seg *a, uint32_t count, uint32_t run_payload,
                          uint32_t next_seq, const uint8_t *fb, const seb_tcp_seg *b) {
  if (b->v6 != a->v6 || b->hdr_len != a->hdr_len || b->seq != next_seq || b->payload > a->payload) return 0;
  if ((uint32_t)a->hdr_len + run_payload + b->payload > MAX_SUPER_FRAME) return 0;
  if (memcmp(fa, fb, ETH_LEN) != 0) return 0;
  const uint8_t *ia = fa + ETH_LEN, *ib = fb + ETH_LEN;
  if (!a->v6) {
    /* version/IHL and TOS (with ECN); flags/fragment, TTL, protocol; addresses. Length, id, checksum may differ. */
    if (memcmp(ia, ib, 2) != 0 || memcmp(ia + 6, ib + 6, 4) != 0 || memcmp(ia + 12, ib + 12, 8) != 0) return 0;
    int df = (ia[6] & 0x40) != 0;
    /* Without DF, GSO numbers the segments from the first one's id: merge only what was numbered that way. */
    if (!df && seb_get_be16(ib + 4) != (uint16_t)(seb_get_be16(ia + 4) + count)) return 0;
  } else {
    /* version, traffic class, flow label; next header, hop limit; addresses. */
    if (memcmp(ia, ib, 4) != 0 || memcmp(ia + 6, ib + 6, 34) != 0) return 0;
  }
  const uint8_t *ta = fa + a->l4, *tb = fb + b->l4;
  /* ports; acknowledgement; data offset; window, urgent pointer and every option byte. Flags: parse() allowed
   * only ACK and ACK+PSH, and a run ends after a PSH. */
  if (memcmp(ta, tb, 4) != 0 || memcmp(ta + 8, tb + 8, 5) != 0 || memcmp(ta + 14, tb + 14, 2) != 0) return 0;
  return memcmp(ta + 18, tb + 18, (size_t)(a->hdr_len - a->l4 - 18)) == 0;
}

void seb_tcp_super_header(const uint8_t *fa, const seb_tcp_seg *a, uint32_t run_payload, int psh, uint8_t *out,
                          struct virtio_net_hdr *vh) {
  memcpy(out, fa, a->hdr_len);
  uint8_t *ip = out + ETH_LEN, *th = out + a->l4;
  uint32_t l4len = (uint32_t)(a->hdr_len - a->l4) + run_payload;
  uint64_t pseudo;
  if (!a->v6) {
    seb_put_be16(ip + 2, (uint16_t)(20 + l4len));
    seb_put_be16(ip + 10, 0);
    seb_put_be16(ip + 10, seb_csum_finish(seb_csum_add(0, ip, 20)));
    pseudo = seb_csum_pseudo4(ip, 6, l4len);
  } else {
    seb_put_be16(ip + 4, (uint16_t)l4len);
    pseudo = seb_csum_pseudo6(ip, 6, l4len);
  }
  if (psh) th[13] |= TCP_PSH;
  /* A checksum left to the device holds the pseudo-header sum, folded but not complemented. */
  seb_put_be16(th + 16, (uint16_t)~seb_csum_finish(pseudo));
  memset(vh, 0, sizeof *vh);
  vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh->gso_type = a->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  vh->hdr_len = a->hdr_len;
  vh->gso_size = a->payload;
  vh->csum_start = a->l4;
  vh->csum_offset = 16;
}
