/*
 * LinkMonitor: an rtnetlink socket subscribed to RTMGRP_LINK, polled by the event loop like the frame channels.
 * Every RTM_NEWLINK/RTM_DELLINK (carrier change, admin up/down, creation, deletion, rename) becomes an event
 * object; all messages read in one wake-up go to JavaScript in one call. If the kernel had to drop messages
 * (socket buffer overrun) an event of kind "overrun" says so, and the listener must re-read the state it cares about.
 */
#ifndef SEB_LINK_MONITOR_H
#define SEB_LINK_MONITOR_H

#include "napi_util.h"

napi_status seb_monitor_define(napi_env env, napi_value *ctor);
/* openLinkMonitor(onEvents: (events: object[]) => void): LinkMonitor */
napi_value seb_monitor_open(napi_env env, napi_callback_info info);

#endif
