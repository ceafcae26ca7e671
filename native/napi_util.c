#include "napi_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *seb_errno_name(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(ENXIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(ENODEV) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ENOSPC) E(ERANGE) E(ENOSYS)
    E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
    E(ENETDOWN) E(ENETUNREACH) E(ENOBUFS) E(EMSGSIZE) E(ENOTCONN) E(ETIMEDOUT) E(EOVERFLOW) E(ENOLINK)
#undef E
    default: return "EUNKNOWN";
  }
}

napi_value seb_throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, seb_errno_name(err), msg);
  return NULL;
}

napi_value seb_throw(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static bool type_error(napi_env env, const char *what, const char *expected) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s must be %s", what, expected);
  napi_throw_type_error(env, "SEB_EARG", msg);
  return false;
}

bool seb_get_string(napi_env env, napi_value v, char *out, size_t cap, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return type_error(env, what, "a string");
  if (len == 0 || len >= cap) return type_error(env, what, "a non-empty string that fits the kernel's limit");
  napi_get_value_string_utf8(env, v, out, cap, &len);
  return true;
}

bool seb_get_u32(napi_env env, napi_value v, uint32_t *out, const char *what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d)
    return type_error(env, what, "an unsigned 32-bit integer");
  *out = (uint32_t)d;
  return true;
}

bool seb_get_bool(napi_env env, napi_value v, bool *out, const char *what) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return type_error(env, what, "a boolean");
  return true;
}

bool seb_get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what) {
  bool is = false;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) {
    /* Plain Uint8Arrays are fine too: the bytes are all we need. */
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return type_error(env, what, "a Buffer");
    napi_typedarray_type type;
    size_t n;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &type, &n, data, &ab, &off) != napi_ok || type != napi_uint8_array)
      return type_error(env, what, "a Buffer");
    *len = n;
    return true;
  }
  if (napi_get_buffer_info(env, v, data, len) != napi_ok) return type_error(env, what, "a Buffer");
  return true;
}

void seb_set_u64(napi_env env, napi_value obj, const char *key, uint64_t val) {
  napi_value v;
  if (napi_create_double(env, (double)val, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

void seb_set_bool(napi_env env, napi_value obj, const char *key, bool val) {
  napi_value v;
  if (napi_get_boolean(env, val, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

void seb_set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value v;
  if (napi_create_string_utf8(env, val, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

bool seb_take_callback_exception(napi_env env, napi_status status, uint64_t *count, char *msg, size_t cap) {
  bool pending = status == napi_pending_exception;
  if (!pending && napi_is_exception_pending(env, &pending) != napi_ok) return false;
  if (!pending) return false;
  napi_value exc, text;
  if (napi_get_and_clear_last_exception(env, &exc) != napi_ok) return false;
  (*count)++;
  if (cap == 0) return true;
  msg[0] = '\0';
  /* String(exc) may itself throw (a hostile toString): then keep no message, and clear that one too. */
  size_t len = 0;
  if (napi_coerce_to_string(env, exc, &text) == napi_ok) {
    napi_get_value_string_utf8(env, text, msg, cap, &len);
  } else {
    napi_value again;
    napi_get_and_clear_last_exception(env, &again);
  }
  return true;
}
