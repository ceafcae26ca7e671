/* Interface control through the classic ioctls: index, flags, MTU, MAC, bridge membership. Pure C, errno-style:
 * every function returns 0 or a negative errno. */
#ifndef SEB_NETDEV_H
#define SEB_NETDEV_H

#include <stdint.h>

int seb_if_index(const char *name, int *ifindex);
int seb_if_name(int ifindex, char *name /* IFNAMSIZ */);
int seb_if_get_flags(const char *name, unsigned *flags);
int seb_if_set_up(const char *name, int up);
int seb_if_get_mtu(const char *name, int *mtu);
int seb_if_set_mtu(const char *name, int mtu);
int seb_if_get_mac(const char *name, uint8_t mac[6]);
int seb_if_set_mac(const char *name, const uint8_t mac[6]);
/* Add/remove an interface to/from a Linux bridge (the same ioctls brctl used). */
int seb_bridge_add_if(const char *bridge, int ifindex);
int seb_bridge_del_if(const char *bridge, int ifindex);

#endif
