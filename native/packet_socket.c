#include "packet_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static int set_int(int fd, int level, int opt, int val) {
  return setsockopt(fd, level, opt, &val, sizeof val) < 0 ? -errno : 0;
}

int seb_packet_open(int ifindex, const seb_packet_opts *opts, int *ignores_outgoing) {
  /* Protocol 0 until bind: otherwise the socket would queue frames of every interface in the meantime. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int rc;
  /* The vnet header must be set before anything is queued; it changes the layout of every read and write. */
  if ((rc = set_int(fd, SOL_PACKET, PACKET_VNET_HDR, 1))) goto fail;
  if ((rc = set_int(fd, SOL_PACKET, PACKET_AUXDATA, 1))) goto fail;
  if (opts->timestamps && (rc = set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1))) goto fail;
  *ignores_outgoing = set_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) == 0;
  if (opts->rcvbuf) {
    /* FORCE works for root/CAP_NET_ADMIN beyond rmem_max; otherwise take what the limit allows. */
    if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, (int)opts->rcvbuf)) set_int(fd, SOL_SOCKET, SO_RCVBUF, (int)opts->rcvbuf);
  }
  if (opts->sndbuf) {
    if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)opts->sndbuf)) set_int(fd, SOL_SOCKET, SO_SNDBUF, (int)opts->sndbuf);
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    rc = -errno;
    goto fail;
  }
  if (opts->promisc) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
      rc = -errno;
      goto fail;
    }
  }
  return fd;
fail:
  close(fd);
  return rc;
}

uint64_t seb_packet_take_kernel_drops(int fd) {
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return 0;
  return st.tp_drops;
}
