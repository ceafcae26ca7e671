/**
 * Node-info integers (ClientProductVer, ClientProductBuild, ServerProductVer, ServerProductBuild,
 * ClientPort, ServerPort2, ProxyPort) are stored byte-swapped: the C code keeps them in network order
 * in memory and then writes them as a big-endian INT again (notes §3). Only logs read them.
 */
export const SWAPPED_NODE_INFO_INTS: readonly string[] = [
  'ClientProductVer',
  'ClientProductBuild',
  'ServerProductVer',
  'ServerProductBuild',
  'ClientPort',
  'ServerPort2',
  'ProxyPort',
];

/** Reverses the 4 bytes of a u32: 501 <-> 0xF5010000. Its own inverse. */
export function byteSwap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
