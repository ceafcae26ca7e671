#include "checksum.h"

#include <string.h>

uint64_t seb_csum_add(uint64_t sum, const uint8_t *data, size_t len) {
  /* Summing big-endian 32-bit words is the same as summing their two 16-bit halves once folded,
   * because 2^16 == 1 modulo 0xffff; it halves the loop count. */
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, data, 4);
    sum += __builtin_bswap32(w);
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    sum += seb_get_be16(data);
    data += 2;
    len -= 2;
  }
  if (len) sum += (uint32_t)data[0] << 8;
  return sum;
}

uint16_t seb_csum_finish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

uint64_t seb_csum_pseudo4(const uint8_t *ip4hdr, uint8_t proto, uint32_t l4len) {
  uint64_t sum = seb_csum_add(0, ip4hdr + 12, 8); /* source and destination address */
  return sum + proto + l4len;
}

uint64_t seb_csum_pseudo6(const uint8_t *ip6hdr, uint8_t proto, uint32_t l4len) {
  uint64_t sum = seb_csum_add(0, ip6hdr + 8, 32);
  return sum + proto + (l4len >> 16) + (l4len & 0xffff);
}

/* Byte-at-a-time table, built on first use (1 KiB; SCTP with a checksum left to "hardware" is rare on a LAN). */
static uint32_t crc32c_table[256];
static int crc32c_ready;

uint32_t seb_crc32c(uint32_t crc, const uint8_t *data, size_t len) {
  if (!crc32c_ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t r = i;
      for (int k = 0; k < 8; k++) r = (r >> 1) ^ (0x82F63B78u & (0u - (r & 1)));
      crc32c_table[i] = r;
    }
    crc32c_ready = 1;
  }
  crc = ~crc;
  for (size_t i = 0; i < len; i++) crc = (crc >> 8) ^ crc32c_table[(crc ^ data[i]) & 0xff];
  return ~crc;
}
