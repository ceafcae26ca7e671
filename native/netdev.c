#include "netdev.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

/* Any socket can carry these ioctls; a datagram socket is the cheapest to make. */
static int ioctl_ifreq(unsigned long req, struct ifreq *ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  int rc = ioctl(s, req, ifr) < 0 ? -errno : 0;
  close(s);
  return rc;
}

static int prepare(struct ifreq *ifr, const char *name) {
  memset(ifr, 0, sizeof *ifr);
  size_t n = strlen(name);
  if (n == 0 || n >= IFNAMSIZ) return -EINVAL;
  memcpy(ifr->ifr_name, name, n);
  return 0;
}

int seb_if_index(const char *name, int *ifindex) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (!rc) rc = ioctl_ifreq(SIOCGIFINDEX, &ifr);
  if (!rc) *ifindex = ifr.ifr_ifindex;
  return rc;
}

int seb_if_name(int ifindex, char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_ifindex = ifindex;
  int rc = ioctl_ifreq(SIOCGIFNAME, &ifr);
  if (!rc) memcpy(name, ifr.ifr_name, IFNAMSIZ);
  return rc;
}

int seb_if_get_flags(const char *name, unsigned *flags) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (!rc) rc = ioctl_ifreq(SIOCGIFFLAGS, &ifr);
  if (!rc) *flags = (unsigned short)ifr.ifr_flags;
  return rc;
}

int seb_if_set_up(const char *name, int up) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (!rc) rc = ioctl_ifreq(SIOCGIFFLAGS, &ifr);
  if (rc) return rc;
  short want = up ? (short)(ifr.ifr_flags | IFF_UP) : (short)(ifr.ifr_flags & ~IFF_UP);
  if (want == ifr.ifr_flags) return 0;
  ifr.ifr_flags = want;
  return ioctl_ifreq(SIOCSIFFLAGS, &ifr);
}

int seb_if_get_mtu(const char *name, int *mtu) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (!rc) rc = ioctl_ifreq(SIOCGIFMTU, &ifr);
  if (!rc) *mtu = ifr.ifr_mtu;
  return rc;
}

int seb_if_set_mtu(const char *name, int mtu) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (rc) return rc;
  ifr.ifr_mtu = mtu;
  return ioctl_ifreq(SIOCSIFMTU, &ifr);
}

int seb_if_get_mac(const char *name, uint8_t mac[6]) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (!rc) rc = ioctl_ifreq(SIOCGIFHWADDR, &ifr);
  if (!rc) memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return rc;
}

int seb_if_set_mac(const char *name, const uint8_t mac[6]) {
  struct ifreq ifr;
  int rc = prepare(&ifr, name);
  if (rc) return rc;
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
  return ioctl_ifreq(SIOCSIFHWADDR, &ifr);
}

static int bridge_ioctl(unsigned long req, const char *bridge, int ifindex) {
  struct ifreq ifr;
  int rc = prepare(&ifr, bridge);
  if (rc) return rc;
  ifr.ifr_ifindex = ifindex;
  return ioctl_ifreq(req, &ifr);
}

int seb_bridge_add_if(const char *bridge, int ifindex) { return bridge_ioctl(SIOCBRADDIF, bridge, ifindex); }
int seb_bridge_del_if(const char *bridge, int ifindex) { return bridge_ioctl(SIOCBRDELIF, bridge, ifindex); }
