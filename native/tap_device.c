#include "tap_device.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

int seb_tap_open(char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= IFNAMSIZ) return -EINVAL;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  /* No IFF_VNET_HDR and no TUNSETOFFLOAD: the kernel then segments and checksums everything before
   * handing it to us, so a TAP never delivers super-frames. */
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, n);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  name[IFNAMSIZ - 1] = 0;
  return fd;
}
