/* TAP device from /dev/net/tun: Ethernet frames without packet-info prefix, non-blocking. */
#ifndef SEB_TAP_DEVICE_H
#define SEB_TAP_DEVICE_H

/* name: requested name (may contain %d); on success holds the kernel's name (IFNAMSIZ bytes). Returns fd or -errno.
 * The device is not persistent: closing the fd deletes it (and takes it out of any bridge). */
int seb_tap_open(char *name);

#endif
