/*
 * FrameChannel: one file descriptor carrying Ethernet frames (an AF_PACKET socket or a TAP device).
 * Reading (default: on the event loop, through a libuv poll handle): a batch is read and fixed up (VLAN tag, GSO
 * segmentation, checksums: see rx_fixup.h) into native arenas, copied into ONE ArrayBuffer and handed to JavaScript in
 * ONE call with (arena, offset, length) triples; JS makes Buffer views of it (src/ports/native.ts framesFromBatch). A
 * view keeps the whole buffer alive: whoever keeps a frame beyond the batch copies it (see the Port contract,
 * src/ports/port.ts). With SEBRIDGE_IO_THREAD=rx,tx the channel's I/O thread reads instead (channel_io.h) and a
 * libuv async handle wakes the JS thread.
 * An exception thrown by the JS callback is caught, counted (stats().callbackErrors) and does not stop reading.
 * Writing: sendmmsg on the JS thread while the transmit ring is empty; what the kernel cannot take now is copied
 * into the I/O thread's bounded transmit ring and sent there when the socket is writable (SEBRIDGE_IO_THREAD=tx:
 * every write above 4 KiB goes through the thread). A frame that finds the ring full is dropped and counted
 * (txDropQueueFull).
 */
#ifndef SEB_FRAME_CHANNEL_H
#define SEB_FRAME_CHANNEL_H

#include "napi_util.h"
#include "channel_io.h"

napi_status seb_channel_define(napi_env env, napi_value *ctor);
/* Wraps fd (ownership passes to the channel, also on failure) in a new FrameChannel object. Targets of 0 leave the
 * receive-buffer CoDel (codel.h, packet sockets only: it needs their arrival stamps) and the path CoDel (path_aqm.h)
 * off. */
napi_value seb_channel_new(napi_env env, int kind, int fd, int ignores_outgoing, int tx_super_frames,
                           uint64_t aqm_target_ns, uint64_t path_target_ns, uint64_t aqm_interval_ns);

#endif
