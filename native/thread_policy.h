/*
 * Scheduling policy of one of the process's threads. V8's background workers (JIT compilers, GC helpers) run at
 * SCHED_IDLE so that, woken by the data path's thread, they never take the CPU from it: at the normal policy a
 * compile job the event loop had just posted preempted the loop on its own CPU for up to 1.5 ms, in the middle of
 * forwarding a frame (bench/README.md, "V8's worker threads, and where LAN→server stops").
 */
#ifndef SEB_THREAD_POLICY_H
#define SEB_THREAD_POLICY_H

#include "napi_util.h"

/* JS: setThreadIdle(tid) -> undefined: that thread of this process to SCHED_IDLE; throws (errno code) on failure. */
napi_value seb_js_set_thread_idle(napi_env env, napi_callback_info info);

#endif
