/**
 * SoftEther error codes the admin API answers with (Cedar.h), and the error type every method throws for a
 * refusal. The JSON-RPC transport turns it into `{"error":{"code":N,"message":"Error code N: ..."}}`.
 */
export const ERR = {
  INTERNAL_ERROR: 23,
  OBJECT_NOT_FOUND: 29,
  NOT_SUPPORTED: 33,
  INVALID_PARAMETER: 38,
  NOT_ENOUGH_RIGHT: 52,
  HUB_NOT_FOUND: 8,
  ACCESS_DENIED: 12,
  LINK_ALREADY_EXISTS: 59,
  LINK_IS_OFFLINE: 61,
  ALREADY_ONLINE: 75,
  OFFLINE: 76,
  OBJECT_EXISTS: 112,
  INVALID_NAME: 94,
} as const;

/** SoftEther's own texts for the codes above, as the stock 5.01 server words them after "Error code N: " (measured). */
const TEXT: Record<number, string> = {
  8: 'The specified Virtual Hub does not exist on the server.',
  9: 'User authentication failed.',
  12: 'Access has been denied.',
  23: 'An internal error occurred.',
  29: 'Object not found.',
  33: 'Unsupported.',
  38: 'Invalid parameter.',
  52: 'You do not have enough privileges to perform this operation.',
  59: 'The Cascade Connection with the specified name already exists.',
  61: 'The specified Cascade Connection is offline.',
  75: 'Already online.',
  76: 'Offline.',
  94: 'The specified name is invalid.',
  112: 'The object already exists.',
};

/**
 * A refusal from an admin API method, carried to the client as a JSON-RPC error object in SoftEther's shape:
 * `{"code": N, "message": "Error code N: <message>"}`. `field` names the request field that was refused.
 * The one error type of the method table; the transports (web/jsonrpc.ts, later the Pack RPC) only format it.
 */
export class ApiError extends Error {
  readonly code: number;
  readonly field: string | undefined;

  constructor(code: number, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.field = field;
  }
}

/** SoftEther's text for a code ('' when this table has none). */
export function softEtherText(code: number): string {
  return TEXT[code] ?? '';
}

/** An ApiError whose message is SoftEther's own text for the code, followed by what exactly was wrong. */
export function apiError(code: number, detail?: string, field?: string): ApiError {
  const base = TEXT[code] ?? `Error ${code}.`;
  return new ApiError(code, detail ? `${base} ${detail}` : base, field);
}

/** A refused field: code 38, the field named first. */
export function invalid(field: string, message: string): ApiError {
  return apiError(ERR.INVALID_PARAMETER, `${field}: ${message}`, field);
}
