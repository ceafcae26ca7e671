/** The method table's refusal type; the transport formats it (see jsonrpc.ts). */
export { ApiError } from '../api/errors.ts';

import { ERR, softEtherText } from '../api/errors.ts';

/** The SoftEther error numbers the transport itself produces (one table: api/errors.ts). */
export const ERR_ACCESS_DENIED = ERR.ACCESS_DENIED;
export const ERR_INTERNAL_ERROR = ERR.INTERNAL_ERROR;
export const ERR_INVALID_PARAMETER = ERR.INVALID_PARAMETER;

/** The `message` string of a JSON-RPC error, formatted like SoftEther's server does it. */
export function errorMessageText(code: number, text: string): string {
  const t = text || softEtherText(code);
  return t ? `Error code ${code}: ${t}` : `Error code ${code}`;
}
