/**
 * Switching off the NIC features that produce super-frames, and putting them back afterwards.
 *
 * GRO/LRO merge received packets into one large frame before a packet socket sees it; such a frame cannot go
 * through a 1600-byte tunnel. Super-frames that arrive anyway (a veth/virtio peer that segments late) are cut in the
 * addon.
 *
 * Segmentation/checksum offload on transmit (TX_OFFLOAD_FEATURES) is what lets the port send a run of TCP segments
 * from the tunnel as one super-frame that the NIC cuts (native/tx_coalesce.h), so it stays as it is while the port
 * does that (the default). A port that sends every frame on its own switches it off as the stock bridge does.
 *
 * Uses the kernel's ethtool ioctl through the addon; no `ethtool` binary is needed.
 */
import type { NativeAddon } from './native.ts';

/** Receive-side merging: always off while a port is open. */
export const RX_SUPER_FRAME_FEATURES: readonly string[] = [
  'rx-gro',
  'rx-lro',
  'rx-gro-hw',
  'rx-gro-list',
  'rx-udp-gro-forwarding',
];

/** Transmit segmentation and checksum offload: off only for a port that does not send super-frames itself. */
export const TX_OFFLOAD_FEATURES: readonly string[] = [
  'tx-generic-segmentation',
  'tx-tcp-segmentation',
  'tx-tcp6-segmentation',
  'tx-tcp-ecn-segmentation',
  'tx-tcp-accecn-segmentation', // newer kernels; absent names are skipped
  'tx-tcp-mangleid-segmentation',
  'tx-udp-segmentation',
  'tx-checksum-ip-generic',
  'tx-checksum-ipv4',
  'tx-checksum-ipv6',
];

export const SUPER_FRAME_FEATURES: readonly string[] = [...RX_SUPER_FRAME_FEATURES, ...TX_OFFLOAD_FEATURES];

/** What was changed on one interface, so exactly that can be undone. */
export interface OffloadChange {
  readonly ifname: string;
  readonly ifindex: number;
  /** Features that were on and are now off because of us. */
  readonly turnedOff: readonly string[];
}

export function disableOffloads(
  native: NativeAddon,
  ifname: string,
  ifindex: number,
  features: readonly string[] = SUPER_FRAME_FEATURES,
): OffloadChange {
  const before = native.getFeatures(ifname);
  const wanted: Record<string, boolean> = {};
  for (const f of features) if (before[f]?.active && before[f].changeable) wanted[f] = false;
  if (Object.keys(wanted).length === 0) return { ifname, ifindex, turnedOff: [] };
  native.setFeatures(ifname, wanted);
  const after = native.getFeatures(ifname);
  // Dependencies can switch more off than asked (tx checksums take TSO with them); record all of what we caused.
  const turnedOff = Object.keys(before).filter((f) => before[f].active && after[f] && !after[f].active);
  return { ifname, ifindex, turnedOff };
}

/**
 * Put back what disableOffloads changed. Does nothing if the interface is gone or is a different one now
 * (same name, new ifindex: it came up with its own defaults). Returns the features that could not be restored.
 */
export function restoreOffloads(native: NativeAddon, change: OffloadChange): string[] {
  if (change.turnedOff.length === 0) return [];
  const info = native.ifInfo(change.ifname);
  if (!info || info.ifindex !== change.ifindex) return [];
  const wanted: Record<string, boolean> = {};
  for (const f of change.turnedOff) wanted[f] = true;
  native.setFeatures(change.ifname, wanted);
  const after = native.getFeatures(change.ifname);
  return change.turnedOff.filter((f) => !after[f]?.active);
}
