import { runCommand } from '../../test/harness/run-command.ts';

/** Packet counters of one interface in a namespace (ip -s -j link). */
export interface LinkCounters {
  rxPackets: number;
  txPackets: number;
  /** rx + tx dropped as the kernel counts them on this device */
  dropped: number;
}

export async function linkCounters(netns: string, dev: string): Promise<LinkCounters | undefined> {
  const r = await runCommand(['ip', '-n', netns, '-s', '-j', 'link', 'show', 'dev', dev], { timeoutMs: 5000 });
  if (r.code !== 0) return undefined;
  try {
    const s = (JSON.parse(r.stdout) as Array<{ stats64?: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } } }>)[0]?.stats64;
    if (!s) return undefined;
    return { rxPackets: s.rx.packets, txPackets: s.tx.packets, dropped: s.rx.dropped + s.tx.dropped };
  } catch {
    return undefined;
  }
}

/**
 * Frames that left the sending host's veth but never reached the receiving host's veth during one measurement:
 * lost somewhere in bridge, tunnel or server (each side's queues drop under overload, by design). Returned as a
 * count and as a share of the frames sent.
 */
export function tunnelLoss(
  senderBefore: LinkCounters | undefined,
  senderAfter: LinkCounters | undefined,
  receiverBefore: LinkCounters | undefined,
  receiverAfter: LinkCounters | undefined,
): { lost: number; sent: number } | undefined {
  if (!senderBefore || !senderAfter || !receiverBefore || !receiverAfter) return undefined;
  const sent = senderAfter.txPackets - senderBefore.txPackets;
  const arrived = receiverAfter.rxPackets - receiverBefore.rxPackets;
  return { lost: Math.max(0, sent - arrived), sent };
}
