/* Opening the AF_PACKET socket a bridge port reads and writes. Pure C, returns fd or negative errno. */
#ifndef SEB_PACKET_SOCKET_H
#define SEB_PACKET_SOCKET_H

#include <stdint.h>

typedef struct seb_packet_opts {
  int promisc;          /* PACKET_MR_PROMISC membership: the kernel drops it when the socket closes */
  uint32_t rcvbuf;      /* bytes; 0 keeps the default */
  uint32_t sndbuf;
  int timestamps;       /* SO_TIMESTAMPNS: each read carries the frame's arrival time (for CoDel, codel.h) */
} seb_packet_opts;

/* Socket bound to ifindex for all protocols, non-blocking, with PACKET_VNET_HDR and PACKET_AUXDATA on and
 * (where the kernel has it) PACKET_IGNORE_OUTGOING. *ignores_outgoing tells whether that last one took. */
int seb_packet_open(int ifindex, const seb_packet_opts *opts, int *ignores_outgoing);

/* Frames the kernel dropped because the socket's buffer was full, since the previous call. */
uint64_t seb_packet_take_kernel_drops(int fd);

#endif
