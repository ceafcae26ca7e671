#include "link_monitor.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "addon_state.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define NL_BUF 32768
#define NL_READS_PER_WAKE 16

typedef struct seb_monitor {
  napi_env env;
  int fd;
  int closed;
  int in_callback;
  uv_poll_t *poll;
  napi_ref on_events;
  napi_ref pump;
  napi_async_context actx;
  uint8_t *buf;
  uint64_t callback_errors; /* onEvents threw: caught, counted, monitoring goes on */
  char last_callback_error[160];
} seb_monitor;

static void release_js(seb_monitor *m) {
  if (m->pump) {
    napi_delete_reference(m->env, m->pump);
    m->pump = NULL;
  }
  if (m->on_events) {
    napi_delete_reference(m->env, m->on_events);
    m->on_events = NULL;
  }
  if (m->actx) {
    napi_async_destroy(m->env, m->actx);
    m->actx = NULL;
  }
}

static void free_poll(uv_handle_t *h) { free(h); }

static void monitor_close(seb_monitor *m) {
  if (m->closed) return;
  m->closed = 1;
  if (m->poll) {
    uv_poll_stop(m->poll);
    m->poll->data = NULL;
    uv_close((uv_handle_t *)m->poll, free_poll);
    m->poll = NULL;
  }
  if (m->fd >= 0) close(m->fd);
  m->fd = -1;
  free(m->buf);
  m->buf = NULL;
  if (!m->in_callback) release_js(m);
}

static napi_value link_event(napi_env env, const struct nlmsghdr *nh) {
  const struct ifinfomsg *ifi = NLMSG_DATA(nh);
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return NULL;
  seb_set_str(env, o, "kind", nh->nlmsg_type == RTM_DELLINK ? "del" : "new");
  seb_set_u64(env, o, "ifindex", (uint64_t)ifi->ifi_index);
  unsigned flags = ifi->ifi_flags;
  seb_set_bool(env, o, "up", (flags & IFF_UP) != 0);
  seb_set_bool(env, o, "running", (flags & IFF_RUNNING) != 0);
  seb_set_bool(env, o, "lowerUp", (flags & IFF_LOWER_UP) != 0);
  int attrlen = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
  for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, attrlen); a = RTA_NEXT(a, attrlen)) {
    if (a->rta_type == IFLA_IFNAME) {
      char name[IFNAMSIZ];
      size_t n = RTA_PAYLOAD(a);
      if (n >= IFNAMSIZ) n = IFNAMSIZ - 1;
      memcpy(name, RTA_DATA(a), n);
      name[n] = 0;
      seb_set_str(env, o, "name", name);
    } else if (a->rta_type == IFLA_OPERSTATE && RTA_PAYLOAD(a) >= 1) {
      seb_set_u64(env, o, "operstate", *(const uint8_t *)RTA_DATA(a));
    }
  }
  return o;
}

/* Runs as a JS-callable native function (so V8 has an entered context for creating objects), invoked through
 * napi_make_callback from the poll callback: reads what is queued and hands it to onEvents in one call. */
static napi_value js_pump(napi_env env, napi_callback_info info) {
  seb_monitor *m = NULL;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, NULL, NULL, (void **)&m) != napi_ok || !m || m->closed) return NULL;
  napi_value arr;
  uint32_t count = 0;
  if (napi_create_array(env, &arr) != napi_ok) return NULL;
  for (int i = 0; i < NL_READS_PER_WAKE; i++) {
    ssize_t r = recv(m->fd, m->buf, NL_BUF, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        napi_value o;
        napi_create_object(env, &o);
        seb_set_str(env, o, "kind", "overrun");
        napi_set_element(env, arr, count++, o);
        continue;
      }
      break;
    }
    int len = (int)r;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)m->buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if ((nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) ||
          nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        continue;
      napi_value o = link_event(env, nh);
      if (o) napi_set_element(env, arr, count++, o);
    }
  }
  napi_value fn, recv_;
  if (count && m->on_events && napi_get_reference_value(env, m->on_events, &fn) == napi_ok && fn) {
    napi_get_undefined(env, &recv_);
    napi_status s = napi_call_function(env, recv_, fn, 1, &arr, NULL);
    /* Caught here: passed on, the exception would reach napi_fatal_exception below and end the process. */
    seb_take_callback_exception(env, s, &m->callback_errors, m->last_callback_error, sizeof m->last_callback_error);
  }
  return NULL;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  seb_monitor *m = h->data;
  (void)events;
  if (!m || m->closed || status < 0) return;
  napi_env env = m->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value pump, recv_;
  if (m->pump && napi_get_reference_value(env, m->pump, &pump) == napi_ok && pump) {
    napi_get_global(env, &recv_); /* napi_make_callback needs an object as receiver */
    m->in_callback = 1;
    napi_status s = napi_make_callback(env, m->actx, recv_, pump, 0, NULL, NULL);
    m->in_callback = 0;
    if (s == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
    if (m->closed) release_js(m);
  }
  napi_close_handle_scope(env, scope);
}

static void monitor_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  seb_monitor *m = data;
  m->in_callback = 0;
  monitor_close(m);
  release_js(m);
  free(m);
}

static napi_value js_construct(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  seb_monitor *m = calloc(1, sizeof *m);
  if (!m) return seb_throw_errno(env, ENOMEM, "LinkMonitor");
  m->env = env;
  m->fd = -1;
  m->closed = 1;
  if (napi_wrap(env, self, m, monitor_finalize, NULL, NULL) != napi_ok) {
    free(m);
    return NULL;
  }
  return self;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  void *p = NULL;
  if (napi_unwrap(env, self, &p) == napi_ok && p) monitor_close(p);
  return NULL;
}

/* { callbackErrors, lastCallbackError }: exceptions thrown by onEvents, caught and counted. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  void *p = NULL;
  if (napi_unwrap(env, self, &p) != napi_ok || !p) return seb_throw(env, "SEB_EARG", "not a LinkMonitor");
  seb_monitor *m = p;
  napi_value o;
  napi_create_object(env, &o);
  seb_set_u64(env, o, "callbackErrors", m->callback_errors);
  seb_set_str(env, o, "lastCallbackError", m->last_callback_error);
  return o;
}

static napi_value js_unref(napi_env env, napi_callback_info info) {
  SEB_ARGS(0);
  void *p = NULL;
  /* A monitor alone should not keep the process alive: it only matters while some port is open. */
  if (napi_unwrap(env, self, &p) == napi_ok && p && ((seb_monitor *)p)->poll)
    uv_unref((uv_handle_t *)((seb_monitor *)p)->poll);
  return NULL;
}

napi_status seb_monitor_define(napi_env env, napi_value *ctor) {
  napi_property_descriptor props[] = {
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"unref", NULL, js_unref, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default_method, NULL},
  };
  return napi_define_class(env, "LinkMonitor", NAPI_AUTO_LENGTH, js_construct, NULL, sizeof props / sizeof props[0], props, ctor);
}

napi_value seb_monitor_open(napi_env env, napi_callback_info info) {
  SEB_ARGS(1);
  (void)self;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_function) return seb_throw(env, "SEB_EARG", "onEvents must be a function");
  seb_addon_state *state = seb_state(env);
  napi_value ctor, obj;
  void *p = NULL;
  if (!state || napi_get_reference_value(env, state->monitor_ctor, &ctor) != napi_ok ||
      napi_new_instance(env, ctor, 0, NULL, &obj) != napi_ok || napi_unwrap(env, obj, &p) != napi_ok || !p)
    return NULL;
  seb_monitor *m = p;

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return seb_throw_errno(env, errno, "netlink socket");
  int rcvbuf = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return seb_throw_errno(env, err, "netlink bind");
  }
  uv_loop_t *loop;
  m->buf = malloc(NL_BUF);
  m->poll = calloc(1, sizeof *m->poll);
  if (!m->buf || !m->poll || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, m->poll, fd) < 0) {
    close(fd);
    free(m->buf);
    free(m->poll);
    m->buf = NULL;
    m->poll = NULL;
    return seb_throw_errno(env, ENOMEM, "LinkMonitor");
  }
  m->fd = fd;
  m->closed = 0;
  m->poll->data = m;
  napi_value name;
  napi_create_string_utf8(env, "sebridge:LinkMonitor", NAPI_AUTO_LENGTH, &name);
  napi_value pump;
  if (napi_create_function(env, "pump", NAPI_AUTO_LENGTH, js_pump, m, &pump) != napi_ok) return NULL;
  napi_create_reference(env, pump, 1, &m->pump);
  napi_create_reference(env, argv[0], 1, &m->on_events);
  napi_async_init(env, NULL, name, &m->actx);
  uv_poll_start(m->poll, UV_READABLE, on_poll);
  return obj;
}
