#include "thread_policy.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

napi_value seb_js_set_thread_policy(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t tid;
  if (argc < 2) return seb_throw(env, "SEB_EINVAL", "setThreadPolicy(tid, policy): two arguments");
  if (!seb_get_u32(env, argv[0], &tid, "tid")) return NULL;
  char name[16];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "policy must be a string");
    return NULL;
  }
  int policy;
  if (strcmp(name, "batch") == 0) policy = SCHED_BATCH;
  else if (strcmp(name, "normal") == 0) policy = SCHED_OTHER;
  else return seb_throw(env, "SEB_EINVAL", "policy must be \"batch\" or \"normal\"");
  if (tid == 0) return seb_throw(env, "SEB_EINVAL", "tid must be a thread id, not 0 (that would be the caller)");
  /* A thread of another process would also be accepted by the kernel: only our own threads are meant. */
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%u", tid);
  if (access(path, F_OK) != 0) return seb_throw(env, "ESRCH", "no such thread in this process");
  struct sched_param p = {.sched_priority = 0};
  if (sched_setscheduler((pid_t)tid, policy, &p) != 0)
    return seb_throw_errno(env, errno, policy == SCHED_BATCH ? "sched_setscheduler(SCHED_BATCH)" : "sched_setscheduler(SCHED_OTHER)");
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}
