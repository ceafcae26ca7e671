import { FirmwareError } from '../../firmware/errors.ts';
import { apiError, ERR, invalid } from '../errors.ts';
import type { ApiContext, FirmwareAccess } from '../context.ts';
import { dt } from '../wire.ts';
import type { Method } from './common.ts';

function firmwareOf(ctx: ApiContext): FirmwareAccess {
  if (!ctx.firmware) throw apiError(ERR.NOT_SUPPORTED, 'firmware upgrades are not available in this daemon');
  return ctx.firmware;
}

/** sebridge's own methods for firmware upgrades (docs/firmware.md). The upload is POST /firmware/upload. */
export const firmwareMethods: Record<string, Method> = {
  GetFirmwareInfo: {
    access: 'admin',
    async run(_p, ctx) {
      const fw = firmwareOf(ctx);
      const [i, max] = await Promise.all([fw.info(), fw.maxUploadBytes()]);
      const u = i.upload;
      return {
        Version_str: i.version,
        Arch_str: i.arch ?? '',
        Kernel_str: i.kernel,
        HasSlots_bool: i.hasSlots,
        NoSlotsReason_utf: i.noSlotsReason ?? '',
        Slot_str: i.slot ?? '',
        SlotDevice_str: i.slotDev ?? '',
        ActiveSlot_str: i.activeSlot ?? '',
        Trial_bool: i.trial,
        TrialConfirmed_bool: i.trialConfirmed,
        PendingSlot_str: i.pendingSlot ?? '',
        OtherSlot_str: i.otherSlot ?? '',
        OtherDevice_str: i.otherDev ?? '',
        // What the daemon last wrote and verified there; empty when unknown (e.g. written by the image build).
        OtherVersion_str: i.other?.version ?? '',
        OtherKernel_str: i.other?.kernel ?? '',
        OtherCreated_str: i.other?.created ?? '',
        OtherSha256_str: i.other?.rootfsSha256 ?? '',
        OtherWritten_dt: dt(i.other?.writtenAt ?? null),
        KeyList: i.keys.map((k) => ({ Name_str: k.name, Fingerprint_str: k.fingerprint })),
        KeyProblems_utf: i.keyProblems.join('\n'),
        UploadPath_str: fw.uploadPath,
        MaxUploadBytes_u64: max,
        UploadPhase_str: u.phase,
        UploadReceived_u64: u.received,
        UploadTotal_u64: u.total ?? 0,
        UploadWritten_u64: u.written,
        UploadRootfsSize_u64: u.header?.rootfsSize ?? 0,
        UploadTargetSlot_str: u.targetSlot ?? '',
        UploadVersion_str: u.header?.version ?? '',
        UploadKernel_str: u.header?.kernel ?? '',
        UploadArch_str: u.header?.arch ?? '',
        UploadCreated_str: u.header?.created ?? '',
        UploadSha256_str: u.header?.rootfsSha256 ?? '',
        UploadSignedBy_str: u.signedBy ?? '',
        UploadDowngrade_bool: u.downgrade,
        UploadStarted_dt: dt(u.startedAt),
        UploadFinished_dt: dt(u.finishedAt),
        UploadReason_str: u.reason ?? '',
        UploadError_utf: u.error ?? '',
      };
    },
  },
  ApplyFirmware: {
    access: 'admin',
    async run(p, ctx) {
      const fw = firmwareOf(ctx);
      // The version the admin saw and confirmed: a different upload in between is never applied by mistake.
      const version = p.str('Version_str', { required: true, max: 64 });
      const now = (await fw.info()).upload;
      if (now.phase === 'ready' && now.header && now.header.version !== version) {
        throw invalid('Version_str', `the verified upload is ${now.header.version}, not ${version}`);
      }
      try {
        const r = await fw.apply({ version });
        return { Version_str: r.version, Slot_str: r.slot, Rebooting_bool: true };
      } catch (e) {
        if (!(e instanceof FirmwareError)) throw e;
        if (e.reason === 'no-slots') throw apiError(ERR.NOT_SUPPORTED, e.message);
        if (e.reason === 'not-ready') throw apiError(ERR.OBJECT_NOT_FOUND, e.message);
        throw apiError(ERR.INTERNAL_ERROR, e.message);
      }
    },
  },
};
