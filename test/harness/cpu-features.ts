import { readFileSync } from 'node:fs';

/**
 * OPENSSL_ia32cap that hides AES-NI (bit 57) and PCLMULQDQ (bit 33) of the CPUID words OpenSSL reads: it then runs
 * AES-GCM in plain software, like a router CPU without AES instructions (the Raspberry Pi 4's). Node's bundled
 * OpenSSL and Debian's libssl both honour it.
 */
export const NO_AES_IA32CAP = '~0x200000200000000';

/** An x86-64 CPU with AES-NI: where NO_AES_IA32CAP makes a difference. */
export function hasAesNi(): boolean {
  return process.arch === 'x64' && /^flags\s*:.*\baes\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
}
