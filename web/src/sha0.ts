/**
 * SoftEther's password hash for AuthType 1 in the browser (WebCrypto has no SHA-0): the daemon's own pure
 * implementation, bundled by esbuild, so the UI and the daemon can never disagree.
 */
export { sha0Bytes as sha0, passwordHashBytes as hashPassword } from '../../src/protocol/sha0.ts';
