/*
 * FrameChannel: one file descriptor carrying Ethernet frames (an AF_PACKET socket or a TAP device), driven by
 * the Node.js event loop through a libuv poll handle.
 * Reading: on each wake-up, up to a few hundred frames are read (recvmmsg for sockets), fixed up (VLAN tag,
 * GSO segmentation, checksums: see rx_fixup.h) into a few shared ArrayBuffer arenas (16-64 KiB each, new ones
 * on every wake-up) and handed to JavaScript in ONE call with (arena, offset, length) triples; JS makes Buffer
 * views of them (src/ports/native.ts framesFromBatch). A view keeps its whole arena alive: whoever keeps a frame
 * beyond the batch copies it (see the Port contract, src/ports/port.ts).
 * An exception thrown by the JS callback is caught, counted (stats().callbackErrors) and does not stop reading.
 * Writing: frames go out in batches (sendmmsg) straight from the caller's Buffers; what the kernel cannot take
 * right now waits in a small bounded queue (copied), beyond which frames are dropped and counted.
 */
#ifndef SEB_FRAME_CHANNEL_H
#define SEB_FRAME_CHANNEL_H

#include "napi_util.h"

#define SEB_CHANNEL_PACKET 1
#define SEB_CHANNEL_TAP 2

napi_status seb_channel_define(napi_env env, napi_value *ctor);
/* Wraps fd (ownership passes to the channel, also on failure) in a new FrameChannel object. */
napi_value seb_channel_new(napi_env env, int kind, int fd, int ignores_outgoing);

#endif
