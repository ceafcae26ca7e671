export { FirmwareManager, FIRMWARE_DEFAULTS } from './manager.ts';
export type { FirmwareInfo, FirmwareOptions, UploadProgress, UploadPhase, UploadResult } from './manager.ts';
export { FirmwareError, NO_SLOTS_TEXT } from './errors.ts';
export type { FirmwareErrorReason } from './errors.ts';
export { MAGIC, MAX_HEADER_BYTES, SIGNATURE_BYTES, compareVersions, firmwareArch, parseHeader } from './format.ts';
export type { FirmwareHeader, FirmwareArch } from './format.ts';
export { keyFingerprint, loadTrustedKeys } from './keys.ts';
export { readBootEnv, readSlotFile } from './boot-state.ts';
export type { BootEnv, Slot, SlotRecord } from './boot-state.ts';
