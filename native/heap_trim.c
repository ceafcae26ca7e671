#include "heap_trim.h"

#include <malloc.h>
#include <time.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

napi_value seb_js_trim_heap(napi_env env, napi_callback_info info) {
  (void)info;
  double t0 = now_us();
  malloc_trim(0);
  napi_value out;
  if (napi_create_double(env, now_us() - t0, &out) != napi_ok) return NULL;
  return out;
}
