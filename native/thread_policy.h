/*
 * Scheduling policy of one of the process's threads. V8's background workers (JIT compilers, GC helpers) run at
 * SCHED_BATCH: woken by the data path's thread, they do not preempt it (at the normal policy a compile job the event
 * loop had just posted preempted the loop on its own CPU for up to 1.5 ms, in the middle of forwarding a frame),
 * and they keep a normal share of the CPU, because the loop sometimes waits for them (a GC job it joins). SCHED_IDLE
 * starved them behind any busy program and stalled the loop for seconds (bench/README.md, "V8's worker threads").
 */
#ifndef SEB_THREAD_POLICY_H
#define SEB_THREAD_POLICY_H

#include "napi_util.h"

/* JS: setThreadPolicy(tid, "batch" | "normal") -> undefined: that thread of this process to SCHED_BATCH or back to
 * SCHED_OTHER (nice unchanged); throws (errno code, or SEB_EINVAL for a bad argument) on failure. */
napi_value seb_js_set_thread_policy(napi_env env, napi_callback_info info);

#endif
