/*
 * FrameChannel: one file descriptor carrying Ethernet frames (an AF_PACKET socket or a TAP device), read and
 * written by its own I/O thread (channel_io.h) so system calls, segmentation and checksums run in parallel with
 * the JavaScript thread.
 * Reading: the I/O thread fixes frames up (VLAN tag, GSO segmentation, checksums: see rx_fixup.h) straight into a
 * few ArrayBuffer arenas of 64 KiB that the JS thread created for it; a libuv async handle wakes the JS thread,
 * which hands every filled arena to JavaScript in ONE call with (arena, offset, length) triples; JS makes Buffer
 * views of them (src/ports/native.ts framesFromBatch). An arena that is mostly empty (a few small frames: idle
 * traffic) is copied into a small ArrayBuffer and reused at once; a full one is handed over and replaced by a new
 * one. A view keeps its whole arena alive: whoever keeps a frame beyond the batch copies it (see the Port
 * contract, src/ports/port.ts).
 * An exception thrown by the JS callback is caught, counted (stats().callbackErrors) and does not stop reading.
 * Writing: write() copies the frames into the I/O thread's bounded transmit ring and returns; the thread sends
 * them in batches (sendmmsg). A frame that finds the ring full is dropped and counted (txDropQueueFull).
 */
#ifndef SEB_FRAME_CHANNEL_H
#define SEB_FRAME_CHANNEL_H

#include "napi_util.h"
#include "channel_io.h"

napi_status seb_channel_define(napi_env env, napi_value *ctor);
/* Wraps fd (ownership passes to the channel, also on failure) in a new FrameChannel object. */
napi_value seb_channel_new(napi_env env, int kind, int fd, int ignores_outgoing);

#endif
