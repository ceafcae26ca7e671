/**
 * Why an upgrade was refused or failed. Every refusal names one of these and says in words what exactly was wrong
 * (the UI shows the text; scripts and tests look at the reason).
 */
export type FirmwareErrorReason =
  /** This machine was not booted by the slot-selecting initrd (no /run/sebridge-boot.env): a PC, the test suite. */
  | 'no-slots'
  /** Another upload is running. */
  | 'busy'
  /** The booted slot is not (yet) the confirmed one: writing the other slot would destroy the fallback. */
  | 'not-confirmed'
  | 'magic'
  | 'header-size'
  | 'header'
  | 'signature'
  | 'arch'
  | 'kernel'
  | 'version'
  /** The rootfs does not fit the slot, the upload is longer than the header says, or over the size cap. */
  | 'size'
  /** The upload ended before the whole rootfs arrived. */
  | 'truncated'
  | 'hash'
  /** The client went away or the daemon stopped during the upload. */
  | 'aborted'
  /** ApplyFirmware without a verified upload (or for a different one than the caller saw). */
  | 'not-ready'
  /** Reading or writing the slot or the boot state failed. */
  | 'io';

export class FirmwareError extends Error {
  readonly reason: FirmwareErrorReason;
  constructor(reason: FirmwareErrorReason, message: string, options?: { cause?: unknown }) {
    super(`${reason}: ${message}`, options);
    this.name = 'FirmwareError';
    this.reason = reason;
  }
}

export const NO_SLOTS_TEXT = 'this system has no firmware slots (it was not started from a sebridge image: no boot slot information)';
