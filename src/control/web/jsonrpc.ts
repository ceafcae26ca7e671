import { ApiError, ERR_INTERNAL_ERROR, ERR_INVALID_PARAMETER, errorMessageText } from './api-error.ts';

/** The stock server's words for a body it cannot read as JSON-RPC. */
const PARSE_ERROR = 'Parameter is invalid: JSON-RPC Parse Error';

/**
 * The JSON-RPC 2.0 envelope as SoftEther's server speaks it (Cedar/Admin.c JsonRpcProcPost):
 * request `{"jsonrpc":"2.0","id":..,"method":"Name","params":{...}}` — params must be an object;
 * answer `{"jsonrpc":"2.0","id":..,"result":{...}}` or `{"jsonrpc":"2.0","id":..,"error":{"code":N,"message":
 * "Error code N: text"}}`, always with HTTP 200. A body that is not JSON or a broken envelope gets code 38 with the
 * stock server's words ("Parameter is invalid: JSON-RPC Parse Error", "JSON-RPC parameter is empty", "JSON-RPC
 * method name is empty"), then what exactly was wrong. Where we differ from SoftEther, on purpose:
 * - a numeric id is echoed as the number (SoftEther reads ids as strings only and answers "0" for numbers);
 *   a missing id is answered with "0" like SoftEther;
 * - a refused field is also named in `error.data.field`.
 */
export type JsonRpcId = string | number;

export type Envelope =
  | { ok: true; id: JsonRpcId; method: string; params: Record<string, unknown> }
  | { ok: false; id: JsonRpcId; code: number; text: string };

const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export function parseEnvelope(body: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, id: '0', code: ERR_INVALID_PARAMETER, text: `${PARSE_ERROR}: the request body is not valid JSON` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, id: '0', code: ERR_INVALID_PARAMETER, text: `${PARSE_ERROR}: the body must be one JSON-RPC 2.0 object (batches are not supported)` };
  }
  const req = value as Record<string, unknown>;
  const rawId = req.id;
  let id: JsonRpcId = '0';
  if (typeof rawId === 'string' && rawId.length <= 256) id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = rawId;
  else if (rawId !== undefined && rawId !== null) {
    return { ok: false, id, code: ERR_INVALID_PARAMETER, text: `${PARSE_ERROR}: field id must be a string (at most 256 characters) or a number` };
  }
  if (req.jsonrpc !== '2.0') {
    return { ok: false, id, code: ERR_INVALID_PARAMETER, text: `${PARSE_ERROR}: field jsonrpc must be "2.0"` };
  }
  if (typeof req.method !== 'string' || req.method === '') {
    return { ok: false, id, code: ERR_INVALID_PARAMETER, text: 'JSON-RPC method name is empty' };
  }
  if (!METHOD_NAME.test(req.method)) {
    return { ok: false, id, code: ERR_INVALID_PARAMETER, text: 'JSON-RPC method name is invalid: letters, digits and _, at most 64' };
  }
  const params = req.params;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    return { ok: false, id, code: ERR_INVALID_PARAMETER, text: 'JSON-RPC parameter is empty: field params must be an object' };
  }
  return { ok: true, id, method: req.method, params: params as Record<string, unknown> };
}

export function resultBody(id: JsonRpcId, result: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function errorBody(id: JsonRpcId, code: number, text: string, field?: string): string {
  const error: Record<string, unknown> = { code, message: errorMessageText(code, text) };
  if (field) error.data = { field };
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** The body for a refusal thrown by a method: ApiError as given, anything else as SoftEther's internal error. */
export function thrownErrorBody(id: JsonRpcId, err: unknown): { body: string; internal: boolean } {
  if (err instanceof ApiError && Number.isInteger(err.code)) {
    return { body: errorBody(id, err.code, err.message, err.field), internal: false };
  }
  return { body: errorBody(id, ERR_INTERNAL_ERROR, ''), internal: true };
}
