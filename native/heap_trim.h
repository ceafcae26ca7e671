/*
 * Giving the C heap's free memory back to the system. glibc keeps freed memory resident: the ArrayBuffer backing
 * stores and TLS buffers that V8 and OpenSSL free at up to ~125 MB/s each way under load stay in the process's RSS
 * (main heap and the arenas of V8's worker threads) until malloc_trim (bench/README.md, "Memory under load").
 */
#ifndef SEB_HEAP_TRIM_H
#define SEB_HEAP_TRIM_H

#include "napi_util.h"

/* JS: trimHeap() -> number: malloc_trim(0) (free pages of every arena back to the kernel); the result is the
 * microseconds it took. */
napi_value seb_js_trim_heap(napi_env env, napi_callback_info info);

#endif
