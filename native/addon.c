/*
 * Module entry: registers the FrameChannel and LinkMonitor classes and the plain functions JavaScript calls
 * (opening sockets/TAPs, interface control, ethtool features, and a pure frame fix-up hook for tests).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon_state.h"
#include "ethtool_features.h"
#include "codel.h"
#include "path_aqm.h"
#include "frame_channel.h"
#include "heap_trim.h"
#include "thread_policy.h"
#include "link_monitor.h"
#include "napi_util.h"
#include "netdev.h"
#include "packet_socket.h"
#include "rx_fixup.h"
#include "tap_device.h"

static napi_value throw_rc(napi_env env, int rc, const char *what, const char *ifname) {
  char ctx[96];
  snprintf(ctx, sizeof ctx, "%s(%s)", what, ifname);
  return seb_throw_errno(env, -rc, ctx);
}

static bool optional_u32(napi_env env, napi_value obj, const char *key, uint32_t *out) {
  napi_valuetype t;
  napi_value v;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) return true;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  return seb_get_u32(env, v, out, key);
}

static bool optional_bool(napi_env env, napi_value obj, const char *key, bool *out) {
  napi_valuetype t;
  napi_value v;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) return true;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  return seb_get_bool(env, v, out, key);
}

/* openPacketSocket(ifindex, { promisc = true, rcvbuf, sndbuf, txSuperFrames = true, aqmTargetUs = 0,
 * pathAqmTargetUs = 0, aqmIntervalUs = 100000 }): FrameChannel. aqmTargetUs > 0 turns CoDel on the receive
 * buffer on (codel.h), pathAqmTargetUs > 0 CoDel on the path's delay (path_aqm.h); both with aqmIntervalUs. */
static napi_value js_open_packet_socket(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  uint32_t ifindex, rcvbuf = 4u << 20, sndbuf = 1u << 20, aqm_target_us = 0, aqm_interval_us = 100000;
  uint32_t path_target_us = 0;
  bool promisc = true, tx_super = true;
  if (!seb_get_u32(env, argv[0], &ifindex, "ifindex")) return NULL;
  if (!optional_bool(env, argv[1], "promisc", &promisc) || !optional_u32(env, argv[1], "rcvbuf", &rcvbuf) ||
      !optional_u32(env, argv[1], "sndbuf", &sndbuf) || !optional_bool(env, argv[1], "txSuperFrames", &tx_super) ||
      !optional_u32(env, argv[1], "aqmTargetUs", &aqm_target_us) ||
      !optional_u32(env, argv[1], "pathAqmTargetUs", &path_target_us) ||
      !optional_u32(env, argv[1], "aqmIntervalUs", &aqm_interval_us))
    return NULL;
  uint32_t larger = aqm_target_us > path_target_us ? aqm_target_us : path_target_us;
  if (larger && (aqm_interval_us < larger || aqm_interval_us > 10000000))
    return seb_throw(env, "SEB_EARG", "aqmIntervalUs must be from the targets to 10000000");
  seb_packet_opts opts = {promisc, rcvbuf, sndbuf, aqm_target_us != 0};
  int ignores = 0;
  int fd = seb_packet_open((int)ifindex, &opts, &ignores);
  if (fd < 0) return seb_throw_errno(env, -fd, "AF_PACKET socket");
  return seb_channel_new(env, SEB_CHANNEL_PACKET, fd, ignores, tx_super, (uint64_t)aqm_target_us * 1000,
                         (uint64_t)path_target_us * 1000, (uint64_t)aqm_interval_us * 1000);
}

/* openTap(name, { pathAqmTargetUs = 0, aqmIntervalUs = 100000 }): { channel: FrameChannel, name: string }.
 * pathAqmTargetUs > 0 turns CoDel on the path's delay on (path_aqm.h). */
static napi_value js_open_tap(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  char name[IFNAMSIZ];
  uint32_t path_target_us = 0, aqm_interval_us = 100000;
  if (!seb_get_string(env, argv[0], name, sizeof name, "name")) return NULL;
  if (!optional_u32(env, argv[1], "pathAqmTargetUs", &path_target_us) ||
      !optional_u32(env, argv[1], "aqmIntervalUs", &aqm_interval_us))
    return NULL;
  if (path_target_us && (aqm_interval_us < path_target_us || aqm_interval_us > 10000000))
    return seb_throw(env, "SEB_EARG", "aqmIntervalUs must be from the target to 10000000");
  int fd = seb_tap_open(name);
  if (fd < 0) return throw_rc(env, fd, "TUNSETIFF", name);
  napi_value ch = seb_channel_new(env, SEB_CHANNEL_TAP, fd, 0, 0, 0, (uint64_t)path_target_us * 1000,
                                  (uint64_t)aqm_interval_us * 1000);
  if (!ch) return NULL;
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "channel", ch);
  seb_set_str(env, o, "name", name);
  return o;
}

/* ifInfo(name): { ifindex, up, running, mtu, mac } or null when there is no such interface */
static napi_value js_if_info(napi_env env, napi_callback_info info) {
  SEB_ARGS(1);
  char name[IFNAMSIZ];
  if (!seb_get_string(env, argv[0], name, sizeof name, "name")) return NULL;
  int ifindex, mtu;
  unsigned flags;
  uint8_t mac[6];
  int rc = seb_if_index(name, &ifindex);
  if (!rc) rc = seb_if_get_flags(name, &flags);
  if (!rc) rc = seb_if_get_mtu(name, &mtu);
  if (!rc) rc = seb_if_get_mac(name, mac);
  napi_value o;
  if (rc == -ENODEV) {
    napi_get_null(env, &o);
    return o;
  }
  if (rc) return throw_rc(env, rc, "ifInfo", name);
  napi_create_object(env, &o);
  seb_set_u64(env, o, "ifindex", (uint64_t)ifindex);
  seb_set_bool(env, o, "up", (flags & IFF_UP) != 0);
  seb_set_bool(env, o, "running", (flags & IFF_RUNNING) != 0);
  seb_set_u64(env, o, "mtu", (uint64_t)mtu);
  napi_value macbuf;
  void *data;
  if (napi_create_buffer_copy(env, 6, mac, &data, &macbuf) == napi_ok) napi_set_named_property(env, o, "mac", macbuf);
  return o;
}

static napi_value js_if_index(napi_env env, napi_callback_info info) {
  SEB_ARGS(1);
  char name[IFNAMSIZ];
  if (!seb_get_string(env, argv[0], name, sizeof name, "name")) return NULL;
  int ifindex;
  int rc = seb_if_index(name, &ifindex);
  if (rc) return throw_rc(env, rc, "SIOCGIFINDEX", name);
  napi_value v;
  napi_create_uint32(env, (uint32_t)ifindex, &v);
  return v;
}

static napi_value js_set_if_up(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  char name[IFNAMSIZ];
  bool up;
  if (!seb_get_string(env, argv[0], name, sizeof name, "name") || !seb_get_bool(env, argv[1], &up, "up")) return NULL;
  int rc = seb_if_set_up(name, up);
  return rc ? throw_rc(env, rc, "SIOCSIFFLAGS", name) : NULL;
}

static napi_value js_set_if_mtu(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  char name[IFNAMSIZ];
  uint32_t mtu;
  if (!seb_get_string(env, argv[0], name, sizeof name, "name") || !seb_get_u32(env, argv[1], &mtu, "mtu")) return NULL;
  if (mtu < 68 || mtu > 65535) return seb_throw(env, "SEB_EARG", "mtu must be within 68..65535");
  int rc = seb_if_set_mtu(name, (int)mtu);
  return rc ? throw_rc(env, rc, "SIOCSIFMTU", name) : NULL;
}

static napi_value js_set_if_mac(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  char name[IFNAMSIZ];
  void *mac;
  size_t len;
  if (!seb_get_string(env, argv[0], name, sizeof name, "name") || !seb_get_buffer(env, argv[1], &mac, &len, "mac"))
    return NULL;
  if (len != 6) return seb_throw(env, "SEB_EARG", "mac must be 6 bytes");
  int rc = seb_if_set_mac(name, mac);
  return rc ? throw_rc(env, rc, "SIOCSIFHWADDR", name) : NULL;
}

static napi_value bridge_op(napi_env env, napi_callback_info info, int add) {
  SEB_ARGS(2);
  char bridge[IFNAMSIZ], ifname[IFNAMSIZ];
  if (!seb_get_string(env, argv[0], bridge, sizeof bridge, "bridge") ||
      !seb_get_string(env, argv[1], ifname, sizeof ifname, "ifname"))
    return NULL;
  int ifindex;
  int rc = seb_if_index(ifname, &ifindex);
  if (rc) return throw_rc(env, rc, "SIOCGIFINDEX", ifname);
  rc = add ? seb_bridge_add_if(bridge, ifindex) : seb_bridge_del_if(bridge, ifindex);
  return rc ? throw_rc(env, rc, add ? "SIOCBRADDIF" : "SIOCBRDELIF", bridge) : NULL;
}
static napi_value js_bridge_add_if(napi_env env, napi_callback_info info) { return bridge_op(env, info, 1); }
static napi_value js_bridge_del_if(napi_env env, napi_callback_info info) { return bridge_op(env, info, 0); }

/* getFeatures(name): { [feature]: { active, changeable } } */
static napi_value js_get_features(napi_env env, napi_callback_info info) {
  SEB_ARGS(1);
  char name[IFNAMSIZ];
  if (!seb_get_string(env, argv[0], name, sizeof name, "name")) return NULL;
  seb_feature *f;
  size_t n;
  int rc = seb_features_get(name, &f, &n);
  if (rc) return throw_rc(env, rc, "ETHTOOL_GFEATURES", name);
  napi_value o;
  napi_create_object(env, &o);
  for (size_t i = 0; i < n; i++) {
    if (!f[i].name[0]) continue;
    napi_value e;
    napi_create_object(env, &e);
    seb_set_bool(env, e, "active", f[i].active);
    seb_set_bool(env, e, "changeable", f[i].changeable);
    napi_set_named_property(env, o, f[i].name, e);
  }
  free(f);
  return o;
}

/* setFeatures(name, { [feature]: boolean }): void — read back with getFeatures to see what took. */
static napi_value js_set_features(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  char name[IFNAMSIZ];
  if (!seb_get_string(env, argv[0], name, sizeof name, "name")) return NULL;
  napi_value keys;
  if (napi_get_property_names(env, argv[1], &keys) != napi_ok)
    return seb_throw(env, "SEB_EARG", "features must be an object");
  uint32_t n;
  napi_get_array_length(env, keys, &n);
  if (n > 512) return seb_throw(env, "SEB_EARG", "too many features");
  char(*names)[ETH_GSTRING_LEN] = calloc(n ? n : 1, ETH_GSTRING_LEN);
  const char **ptrs = calloc(n ? n : 1, sizeof *ptrs);
  int *values = calloc(n ? n : 1, sizeof *values);
  napi_value result = NULL;
  if (!names || !ptrs || !values) {
    seb_throw_errno(env, ENOMEM, "setFeatures");
    goto done;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value k, v;
    bool b;
    napi_get_element(env, keys, i, &k);
    if (!seb_get_string(env, k, names[i], ETH_GSTRING_LEN, "feature name")) goto done;
    if (napi_get_property(env, argv[1], k, &v) != napi_ok || !seb_get_bool(env, v, &b, names[i])) goto done;
    ptrs[i] = names[i];
    values[i] = b;
  }
  int rc = seb_features_set(name, ptrs, values, n);
  if (rc) throw_rc(env, rc, "ETHTOOL_SFEATURES", name);
done:
  free(names);
  free(ptrs);
  free(values);
  return result;
}

typedef struct array_sink {
  napi_env env;
  napi_value array;
  uint32_t count;
} array_sink;

static uint8_t *array_sink_alloc(void *ctx, size_t len) {
  array_sink *s = ctx;
  void *data;
  napi_value buf;
  if (napi_create_buffer(s->env, len, &data, &buf) != napi_ok) return NULL;
  napi_set_element(s->env, s->array, s->count++, buf);
  return data;
}

/* processRxFrame(frame, { vnetHdr?: Buffer(10), vlanTci?, vlanTpid? }): { frames: Buffer[], counters }
 * The exact fix-up the receive path applies, callable on crafted frames so tests can check it bit by bit. */
static napi_value js_process_rx_frame(napi_env env, napi_callback_info info) {
  SEB_ARGS(2);
  void *data;
  size_t len;
  if (!seb_get_buffer(env, argv[0], &data, &len, "frame")) return NULL;
  if (len > 256 * 1024) return seb_throw(env, "SEB_EARG", "frame too large");
  struct virtio_net_hdr vh;
  int have_vh = 0;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t == napi_object) {
    napi_value v;
    bool has;
    napi_has_named_property(env, argv[1], "vnetHdr", &has);
    if (has && napi_get_named_property(env, argv[1], "vnetHdr", &v) == napi_ok) {
      napi_typeof(env, v, &t);
      if (t != napi_undefined) {
        void *h;
        size_t hl;
        if (!seb_get_buffer(env, v, &h, &hl, "vnetHdr")) return NULL;
        if (hl != sizeof vh) return seb_throw(env, "SEB_EARG", "vnetHdr must be 10 bytes");
        memcpy(&vh, h, sizeof vh);
        have_vh = 1;
      }
    }
  }
  uint32_t tci = 0x10000, tpid = 0;
  if (!optional_u32(env, argv[1], "vlanTci", &tci) || !optional_u32(env, argv[1], "vlanTpid", &tpid)) return NULL;
  seb_vlan_info vlan = {tci <= 0xffff, (uint16_t)tpid, (uint16_t)tci};
  uint8_t *copy = malloc(len + SEB_RX_HEADROOM);
  if (!copy) return seb_throw_errno(env, ENOMEM, "processRxFrame");
  memcpy(copy + SEB_RX_HEADROOM, data, len);
  array_sink s = {env, NULL, 0};
  napi_create_array(env, &s.array);
  seb_sink sink = {array_sink_alloc, &s};
  seb_rx_counters c;
  memset(&c, 0, sizeof c);
  seb_rx_process(copy + SEB_RX_HEADROOM, len, have_vh ? &vh : NULL, &vlan, &sink, &c);
  free(copy);
  napi_value o, cs;
  napi_create_object(env, &o);
  napi_create_object(env, &cs);
  napi_set_named_property(env, o, "frames", s.array);
  seb_set_u64(env, cs, "gsoSuperFrames", c.gso_frames);
  seb_set_u64(env, cs, "gsoSegments", c.gso_segments);
  seb_set_u64(env, cs, "checksumsCompleted", c.csum_completed);
  seb_set_u64(env, cs, "sctpChecksumsCompleted", c.csum_sctp);
  seb_set_u64(env, cs, "vlanTagsRestored", c.vlan_restored);
  seb_set_u64(env, cs, "dropOversize", c.drop_oversize);
  seb_set_u64(env, cs, "dropRunt", c.drop_runt);
  seb_set_u64(env, cs, "dropBadGso", c.drop_bad_gso);
  napi_set_named_property(env, o, "counters", cs);
  return o;
}

/* codelDecisions(targetUs, intervalUs, events: Float64Array [nowUs, sojournUs, droppable]*):
 * Uint8Array, 1 per frame the receive path's CoDel (codel.h) would drop. Lets tests drive it on any timeline. */
static napi_value js_codel_decisions(napi_env env, napi_callback_info info) {
  SEB_ARGS(3);
  uint32_t target_us, interval_us;
  if (!seb_get_u32(env, argv[0], &target_us, "targetUs") || !seb_get_u32(env, argv[1], &interval_us, "intervalUs"))
    return NULL;
  bool is_ta = false;
  napi_is_typedarray(env, argv[2], &is_ta);
  napi_typedarray_type type;
  size_t n = 0;
  void *data = NULL;
  if (!is_ta || napi_get_typedarray_info(env, argv[2], &type, &n, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || n % 3 != 0)
    return seb_throw(env, "SEB_EARG", "events must be a Float64Array of (nowUs, sojournUs, droppable) rows");
  const double *ev = data;
  size_t frames = n / 3;
  napi_value ab, out;
  void *res;
  if (napi_create_arraybuffer(env, frames ? frames : 1, &res, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, frames, ab, 0, &out) != napi_ok)
    return NULL;
  seb_codel c;
  seb_codel_init(&c, (uint64_t)target_us * 1000, (uint64_t)interval_us * 1000);
  for (size_t i = 0; i < frames; i++) {
    const double *e = ev + i * 3;
    ((uint8_t *)res)[i] = (uint8_t)seb_codel_decide(&c, (uint64_t)(e[0] * 1000), (uint64_t)(e[1] * 1000), e[2] != 0);
  }
  return out;
}

/* pathAqmRun(targetUs, intervalUs, steps: [nowUs, outbound 1 / inbound 0, frame Buffer][]):
 * { drops: Uint8Array (outbound steps: 1 = dropped), delayUs: Float64Array (the step's flow delay estimate after
 * it, -1: no flow), samples, rebases }. Drives CoDel on the path's delay (path_aqm.h) on a scripted timeline. */
static napi_value js_path_aqm_run(napi_env env, napi_callback_info info) {
  SEB_ARGS(3);
  uint32_t target_us, interval_us, n;
  bool is_array = false;
  if (!seb_get_u32(env, argv[0], &target_us, "targetUs") || !seb_get_u32(env, argv[1], &interval_us, "intervalUs"))
    return NULL;
  napi_is_array(env, argv[2], &is_array);
  if (!is_array) return seb_throw(env, "SEB_EARG", "steps must be an array of [nowUs, outbound, frame]");
  napi_get_array_length(env, argv[2], &n);
  seb_path_aqm *p = malloc(sizeof *p);
  if (!p) return seb_throw_errno(env, ENOMEM, "pathAqmRun");
  seb_path_aqm_init(p, (uint64_t)target_us * 1000, (uint64_t)interval_us * 1000);
  napi_value drops_ab, delay_ab, drops, delays, out = NULL;
  void *dr, *de;
  if (napi_create_arraybuffer(env, n ? n : 1, &dr, &drops_ab) != napi_ok ||
      napi_create_arraybuffer(env, (n ? n : 1) * sizeof(double), &de, &delay_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, n, drops_ab, 0, &drops) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, n, delay_ab, 0, &delays) != napi_ok)
    goto done;
  for (uint32_t i = 0; i < n; i++) {
    napi_value row, v;
    double now_us;
    uint32_t outbound;
    void *frame;
    size_t len;
    if (napi_get_element(env, argv[2], i, &row) != napi_ok || napi_get_element(env, row, 0, &v) != napi_ok ||
        napi_get_value_double(env, v, &now_us) != napi_ok || napi_get_element(env, row, 1, &v) != napi_ok ||
        !seb_get_u32(env, v, &outbound, "outbound") || napi_get_element(env, row, 2, &v) != napi_ok ||
        !seb_get_buffer(env, v, &frame, &len, "frame")) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) seb_throw(env, "SEB_EARG", "each step must be [nowUs, outbound 0/1, frame Buffer]");
      goto done;
    }
    uint64_t now = (uint64_t)(now_us * 1000);
    ((uint8_t *)dr)[i] = outbound ? (uint8_t)seb_path_aqm_outbound(p, now, frame, len) : 0;
    if (!outbound) seb_path_aqm_inbound(p, now, frame, len);
    /* The flow as the outbound hook keys it: an inbound frame's is its reverse, found by the caller's next
     * outbound step; report the estimate only for outbound steps. */
    const seb_path_flow *fl = outbound ? seb_path_aqm_lookup(p, frame, len) : NULL;
    ((double *)de)[i] = fl && fl->base != UINT64_MAX ? (double)fl->delay / 1000.0 : -1;
  }
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "drops", drops);
  napi_set_named_property(env, out, "delayUs", delays);
  seb_set_u64(env, out, "samples", p->samples);
  seb_set_u64(env, out, "rebases", p->rebases);
done:
  free(p);
  return out;
}

static void state_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  seb_addon_state *s = data;
  if (s->channel_ctor) napi_delete_reference(env, s->channel_ctor);
  if (s->monitor_ctor) napi_delete_reference(env, s->monitor_ctor);
  free(s);
}

static napi_value init(napi_env env, napi_value exports) {
  seb_addon_state *state = calloc(1, sizeof *state);
  if (!state) return seb_throw_errno(env, ENOMEM, "sebridge native init");
  napi_value channel_ctor, monitor_ctor;
  if (seb_channel_define(env, &channel_ctor) != napi_ok || seb_monitor_define(env, &monitor_ctor) != napi_ok) {
    free(state);
    return NULL;
  }
  napi_create_reference(env, channel_ctor, 1, &state->channel_ctor);
  napi_create_reference(env, monitor_ctor, 1, &state->monitor_ctor);
  napi_set_instance_data(env, state, state_finalize, NULL);

  napi_property_descriptor fns[] = {
      {"openPacketSocket", NULL, js_open_packet_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openTap", NULL, js_open_tap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openLinkMonitor", NULL, seb_monitor_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifInfo", NULL, js_if_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifIndex", NULL, js_if_index, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setIfUp", NULL, js_set_if_up, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setIfMtu", NULL, js_set_if_mtu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setIfMac", NULL, js_set_if_mac, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bridgeAddIf", NULL, js_bridge_add_if, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bridgeDelIf", NULL, js_bridge_del_if, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getFeatures", NULL, js_get_features, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setFeatures", NULL, js_set_features, NULL, NULL, NULL, napi_enumerable, NULL},
      {"processRxFrame", NULL, js_process_rx_frame, NULL, NULL, NULL, napi_enumerable, NULL},
      {"codelDecisions", NULL, js_codel_decisions, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pathAqmRun", NULL, js_path_aqm_run, NULL, NULL, NULL, napi_enumerable, NULL},
      {"trimHeap", NULL, seb_js_trim_heap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreadPolicy", NULL, seb_js_set_thread_policy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"FrameChannel", NULL, NULL, NULL, NULL, channel_ctor, napi_enumerable, NULL},
      {"LinkMonitor", NULL, NULL, NULL, NULL, monitor_ctor, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
