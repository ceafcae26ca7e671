/**
 * VLAN-tagged frames between two host namespaces through raw sockets: the test machines' kernel has no 802.1Q
 * module (no vlan subinterfaces, no VLAN-filtering bridge), so the frames are written and checked by the Python
 * peer of the native tests (test/native/peer_agent.py, independent of sebridge's code), which reports the tag
 * the receiving kernel took off the frame (PACKET_AUXDATA).
 */
import { fileURLToPath } from 'node:url';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { Peer } from '../native/netlab.ts';
import type { PeerFrame } from '../native/netlab.ts';
import { eth, udp4Frame } from '../native/frames.ts';
import type { Lab } from './lab.ts';

const PEER_AGENT = fileURLToPath(new URL('../native/peer_agent.py', import.meta.url));

export async function startPeer(lab: Lab, ns: string, dev: string): Promise<Peer> {
  const { child } = lab.spawn(['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', ns, 'python3', '-u', PEER_AGENT, dev], { stdin: 'pipe' });
  const peer = new Peer(child as ChildProcessWithoutNullStreams);
  await peer.ready;
  return peer;
}

/** TCI = priority (3 bits) | DEI (1 bit) | VLAN id (12 bits). */
export function tci(vid: number, pcp = 0): number {
  return ((pcp & 7) << 13) | (vid & 0xfff);
}

export interface TaggedProbe {
  /** the frame as the receiver should see it, tag in place */
  tagged: Buffer;
  tci: number;
}

/** A UDP/IPv4 frame with an 802.1Q tag; payloadLen 1472 makes the largest tagged frame (1518 bytes). */
export function taggedUdp(dst: Buffer, src: Buffer, srcIp: string, dstIp: string, vlanTci: number, payloadLen: number, fill: number): TaggedProbe {
  const plain = udp4Frame(dst, src, srcIp, dstIp, Buffer.alloc(payloadLen, fill));
  const tagged = eth(plain.subarray(0, 6), plain.subarray(6, 12), plain.readUInt16BE(12), plain.subarray(14), { tci: vlanTci });
  return { tagged, tci: vlanTci };
}

/** Did the receiver get exactly this frame with exactly this tag (whether its kernel stripped the tag or not)? */
export function isProbe(f: PeerFrame, probe: TaggedProbe): boolean {
  if (f.tci === null) return f.frame.equals(probe.tagged);
  if (f.tci !== probe.tci) return false;
  const untagged = Buffer.concat([probe.tagged.subarray(0, 12), probe.tagged.subarray(16)]);
  return f.frame.equals(untagged);
}

/** Same frame but untagged or with another tag: the tag was lost or changed on the way. */
export function isMangledProbe(f: PeerFrame, probe: TaggedProbe): boolean {
  const untagged = Buffer.concat([probe.tagged.subarray(0, 12), probe.tagged.subarray(16)]);
  return (f.tci === null && f.frame.equals(untagged)) || (f.tci !== null && f.tci !== probe.tci && f.frame.equals(untagged));
}
