/*
 * Reading and switching netdev features ("offloads") by their ethtool names (rx-gro, rx-lro, tx-tcp-segmentation...)
 * through the SIOCETHTOOL ioctl, as the ethtool program does, without needing that program.
 * Uses ETHTOOL_GFEATURES/SFEATURES; if a driver does not support those, falls back to the legacy
 * ETHTOOL_[GS]GRO and ETHTOOL_[GS]FLAGS (LRO) commands, which cover the two features that matter most.
 */
#ifndef SEB_ETHTOOL_FEATURES_H
#define SEB_ETHTOOL_FEATURES_H

#include <stddef.h>
#include <linux/ethtool.h>

typedef struct seb_feature {
  char name[ETH_GSTRING_LEN];
  int active;
  int changeable;
} seb_feature;

/* *out is malloc'd (caller frees). Returns 0 or -errno. */
int seb_features_get(const char *ifname, seb_feature **out, size_t *count);

/* Request each named feature on (values[i] != 0) or off. Unknown or fixed features are skipped.
 * Returns 0 or -errno; read back with seb_features_get to learn what actually changed. */
int seb_features_set(const char *ifname, const char *const *names, const int *values, size_t n);

#endif
