/** The method table's refusal type; the transport formats it (see jsonrpc.ts). */
export { ApiError } from '../api/errors.ts';

/** SoftEther error numbers (Cedar.h) the transport itself produces. */
export const ERR_HUB_NOT_FOUND = 8;
export const ERR_AUTH_FAILED = 9;
export const ERR_ACCESS_DENIED = 12;
export const ERR_INTERNAL_ERROR = 23;
export const ERR_NOT_SUPPORTED = 33;
export const ERR_INVALID_PARAMETER = 38;
export const ERR_NOT_ENOUGH_RIGHT = 52;


/** SoftEther's English texts (hamcore strtable_en.stb ERR_n), used when a refusal carries no text of its own. */
const SOFTETHER_TEXT: ReadonlyMap<number, string> = new Map([
  [ERR_HUB_NOT_FOUND, 'The specified Virtual Hub does not exist on the server.'],
  [ERR_AUTH_FAILED, 'User authentication failed.'],
  [ERR_ACCESS_DENIED, 'Access has been denied.'],
  [ERR_INTERNAL_ERROR, 'An internal error occurred.'],
  [ERR_NOT_SUPPORTED, 'Unsupported.'],
  [ERR_INVALID_PARAMETER, 'Invalid parameter.'],
  [ERR_NOT_ENOUGH_RIGHT, 'Not enough privileges.'],
]);

export function softEtherText(code: number): string {
  return SOFTETHER_TEXT.get(code) ?? '';
}

/** The `message` string of a JSON-RPC error, formatted like SoftEther's server does it. */
export function errorMessageText(code: number, text: string): string {
  const t = text || softEtherText(code);
  return t ? `Error code ${code}: ${t}` : `Error code ${code}`;
}
