/* Per-environment state of the addon (one per Node.js environment / worker), kept as napi instance data. */
#ifndef SEB_ADDON_STATE_H
#define SEB_ADDON_STATE_H

#include "napi_util.h"

typedef struct seb_addon_state {
  napi_ref channel_ctor;
  napi_ref monitor_ctor;
} seb_addon_state;

static inline seb_addon_state *seb_state(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

#endif
