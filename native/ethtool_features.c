#include "ethtool_features.h"

#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

static int ethtool_ioctl(const char *ifname, void *cmd) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t n = strlen(ifname);
  if (n == 0 || n >= IFNAMSIZ) return -EINVAL;
  memcpy(ifr.ifr_name, ifname, n);
  ifr.ifr_data = cmd;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  int rc = ioctl(s, SIOCETHTOOL, &ifr);
  int res = rc < 0 ? -errno : rc;
  close(s);
  return res;
}

/* Number of feature names the kernel knows, or -errno. */
static int feature_count(const char *ifname) {
  struct {
    struct ethtool_sset_info hdr;
    uint32_t data[1];
  } sset;
  memset(&sset, 0, sizeof sset);
  sset.hdr.cmd = ETHTOOL_GSSET_INFO;
  sset.hdr.sset_mask = 1ULL << ETH_SS_FEATURES;
  int rc = ethtool_ioctl(ifname, &sset);
  if (rc < 0) return rc;
  if (!(sset.hdr.sset_mask & (1ULL << ETH_SS_FEATURES))) return -EOPNOTSUPP;
  if (sset.data[0] == 0 || sset.data[0] > 4096) return -EOPNOTSUPP;
  return (int)sset.data[0];
}

static int legacy_get(const char *ifname, seb_feature **out, size_t *count) {
  struct ethtool_value gro = {.cmd = ETHTOOL_GGRO}, flags = {.cmd = ETHTOOL_GFLAGS};
  seb_feature *f = calloc(2, sizeof *f);
  if (!f) return -ENOMEM;
  size_t n = 0;
  if (ethtool_ioctl(ifname, &gro) >= 0) {
    strcpy(f[n].name, "rx-gro");
    f[n].active = gro.data != 0;
    f[n++].changeable = 1;
  }
  if (ethtool_ioctl(ifname, &flags) >= 0) {
    strcpy(f[n].name, "rx-lro");
    f[n].active = (flags.data & ETH_FLAG_LRO) != 0;
    f[n++].changeable = 1;
  }
  *out = f;
  *count = n;
  return 0;
}

int seb_features_get(const char *ifname, seb_feature **out, size_t *count) {
  int n = feature_count(ifname);
  if (n == -EOPNOTSUPP) return legacy_get(ifname, out, count);
  if (n < 0) return n;
  size_t blocks = ((size_t)n + 31) / 32;
  struct ethtool_gstrings *names = calloc(1, sizeof *names + (size_t)n * ETH_GSTRING_LEN);
  struct ethtool_gfeatures *gf = calloc(1, sizeof *gf + blocks * sizeof(struct ethtool_get_features_block));
  seb_feature *f = calloc((size_t)n, sizeof *f);
  int rc = -ENOMEM;
  if (!names || !gf || !f) goto done;
  names->cmd = ETHTOOL_GSTRINGS;
  names->string_set = ETH_SS_FEATURES;
  names->len = (uint32_t)n;
  if ((rc = ethtool_ioctl(ifname, names)) < 0) goto done;
  gf->cmd = ETHTOOL_GFEATURES;
  gf->size = (uint32_t)blocks;
  if ((rc = ethtool_ioctl(ifname, gf)) < 0) goto done;
  for (int i = 0; i < n; i++) {
    const struct ethtool_get_features_block *b = &gf->features[i / 32];
    uint32_t bit = 1u << (i % 32);
    memcpy(f[i].name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
    f[i].name[ETH_GSTRING_LEN - 1] = 0;
    f[i].active = (b->active & bit) != 0;
    f[i].changeable = (b->available & bit) && !(b->never_changed & bit);
  }
  *out = f;
  *count = (size_t)n;
  f = NULL;
  rc = 0;
done:
  free(names);
  free(gf);
  free(f);
  return rc;
}

static int legacy_set(const char *ifname, const char *const *names, const int *values, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int rc = 0;
    if (!strcmp(names[i], "rx-gro")) {
      struct ethtool_value v = {.cmd = ETHTOOL_SGRO, .data = values[i] ? 1 : 0};
      rc = ethtool_ioctl(ifname, &v);
    } else if (!strcmp(names[i], "rx-lro")) {
      struct ethtool_value v = {.cmd = ETHTOOL_GFLAGS};
      rc = ethtool_ioctl(ifname, &v);
      if (rc >= 0) {
        v.cmd = ETHTOOL_SFLAGS;
        v.data = values[i] ? (v.data | ETH_FLAG_LRO) : (v.data & ~(uint32_t)ETH_FLAG_LRO);
        rc = ethtool_ioctl(ifname, &v);
      }
    }
    if (rc < 0 && rc != -EOPNOTSUPP) return rc;
  }
  return 0;
}

int seb_features_set(const char *ifname, const char *const *names, const int *values, size_t n) {
  seb_feature *f;
  size_t count;
  int cnt = feature_count(ifname);
  if (cnt == -EOPNOTSUPP) return legacy_set(ifname, names, values, n);
  if (cnt < 0) return cnt;
  int rc = seb_features_get(ifname, &f, &count);
  if (rc < 0) return rc;
  size_t blocks = (count + 31) / 32;
  struct ethtool_sfeatures *sf = calloc(1, sizeof *sf + blocks * sizeof(struct ethtool_set_features_block));
  if (!sf) {
    free(f);
    return -ENOMEM;
  }
  sf->cmd = ETHTOOL_SFEATURES;
  sf->size = (uint32_t)blocks;
  int any = 0;
  for (size_t k = 0; k < n; k++) {
    for (size_t i = 0; i < count; i++) {
      if (strcmp(f[i].name, names[k]) || !f[i].changeable) continue;
      uint32_t bit = 1u << (i % 32);
      sf->features[i / 32].valid |= bit;
      if (values[k]) sf->features[i / 32].requested |= bit;
      any = 1;
    }
  }
  /* A positive result only says some wish could not be met exactly (dependencies); the caller reads back. */
  rc = any ? ethtool_ioctl(ifname, sf) : 0;
  free(sf);
  free(f);
  return rc < 0 ? rc : 0;
}
