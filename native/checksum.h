/* Internet checksum (RFC 1071) and CRC32c helpers used to complete partial checksums and to checksum GSO segments. */
#ifndef SEB_CHECKSUM_H
#define SEB_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add the bytes at data (read as big-endian 16-bit words, odd tail padded with zero) to a running sum.
 * The running sum is kept unfolded in 64 bits so callers can chain pieces; every piece but the last
 * must have an even length, or the words of the next piece would be misaligned. */
uint64_t seb_csum_add(uint64_t sum, const uint8_t *data, size_t len);

/* Fold a running sum to 16 bits and complement it: the value to store in a checksum field. */
uint16_t seb_csum_finish(uint64_t sum);

/* Pseudo-header sums (addresses, protocol, upper-layer length) for TCP/UDP over IPv4 and IPv6. */
uint64_t seb_csum_pseudo4(const uint8_t *ip4hdr, uint8_t proto, uint32_t l4len);
uint64_t seb_csum_pseudo6(const uint8_t *ip6hdr, uint8_t proto, uint32_t l4len);

/* CRC32c (Castagnoli, reflected polynomial 0x82F63B78) as SCTP uses it (RFC 9260 appendix A): start with
 * crc = 0, chain pieces by passing the previous result; the pre- and post-inversion are done inside. */
uint32_t seb_crc32c(uint32_t crc, const uint8_t *data, size_t len);

static inline uint16_t seb_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t seb_get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void seb_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void seb_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
