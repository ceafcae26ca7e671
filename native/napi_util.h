/*
 * Small helpers shared by every native file: error throwing with errno codes, and argument reading.
 * Errors reach JS as ordinary Error objects whose `code` is the errno name (ENODEV, EPERM, ...) or an
 * SEB_* code for argument problems, so the TypeScript side can map them to typed errors.
 */
#ifndef SEB_NAPI_UTIL_H
#define SEB_NAPI_UTIL_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Throw an Error with code = errno name and message "<what>: <strerror>". Returns NULL for tail calls. */
napi_value seb_throw_errno(napi_env env, int err, const char *what);
/* Throw an Error with the given code (e.g. "SEB_EINVAL") and message. */
napi_value seb_throw(napi_env env, const char *code, const char *msg);

/* The errno name for err ("ENODEV"), or "EUNKNOWN". */
const char *seb_errno_name(int err);

/* Argument readers: return false after throwing a TypeError when the argument does not fit. */
bool seb_get_string(napi_env env, napi_value v, char *out, size_t cap, const char *what);
bool seb_get_u32(napi_env env, napi_value v, uint32_t *out, const char *what);
bool seb_get_bool(napi_env env, napi_value v, bool *out, const char *what);
bool seb_get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what);

/* Object builders that ignore failures (only possible when the VM is out of memory / terminating). */
void seb_set_u64(napi_env env, napi_value obj, const char *key, uint64_t val);
void seb_set_bool(napi_env env, napi_value obj, const char *key, bool val);
void seb_set_str(napi_env env, napi_value obj, const char *key, const char *val);

/* A JS callback the addon called from an event-loop wake-up threw. The exception must not reach
 * napi_fatal_exception (that is process 'uncaughtException': without a handler the process dies, and the data
 * path with it). If an exception is pending (status napi_pending_exception): clear it, count it in *count and keep
 * its message (truncated to cap-1 bytes, NUL-terminated) in msg. Returns true if there was one. */
bool seb_take_callback_exception(napi_env env, napi_status status, uint64_t *count, char *msg, size_t cap);

/* Parse up to `max` call arguments; missing ones read as undefined. */
#define SEB_ARGS(n)                                                                 \
  size_t want_ = (n), argc = want_;                                                 \
  napi_value argv[(n) > 0 ? (n) : 1];                                               \
  napi_value self;                                                                  \
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL; \
  for (size_t i_ = argc; i_ < want_; i_++) napi_get_undefined(env, &argv[i_]);

#endif
