#include "thread_policy.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

napi_value seb_js_set_thread_idle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t tid;
  if (argc < 1 || !seb_get_u32(env, argv[0], &tid, "tid")) return NULL;
  if (tid == 0) return seb_throw(env, "SEB_EINVAL", "tid must be a thread id, not 0 (that would be the caller)");
  /* A thread of another process would also be accepted by the kernel: only our own threads are meant. */
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%u", tid);
  if (access(path, F_OK) != 0) return seb_throw(env, "ESRCH", "no such thread in this process");
  struct sched_param p = {.sched_priority = 0};
  if (sched_setscheduler((pid_t)tid, SCHED_IDLE, &p) != 0) return seb_throw_errno(env, errno, "sched_setscheduler(SCHED_IDLE)");
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}
