import { ApiError, ERR_INTERNAL_ERROR, JSONRPC_INVALID_REQUEST, JSONRPC_PARSE_ERROR, errorMessageText } from './api-error.ts';

/**
 * The JSON-RPC 2.0 envelope as SoftEther's server speaks it (Cedar/Admin.c JsonRpcProcPost):
 * request `{"jsonrpc":"2.0","id":..,"method":"Name","params":{...}}` — params must be an object;
 * answer `{"jsonrpc":"2.0","id":..,"result":{...}}` or `{"jsonrpc":"2.0","id":..,"error":{"code":N,"message":
 * "Error code N: text"}}`, always with HTTP 200. Where we differ from SoftEther, on purpose:
 * - a body that is not JSON gets -32700 and a broken envelope -32600 (SoftEther says 38 "Invalid parameter" for
 *   both), so a client can tell transport mistakes from a method refusing its parameters;
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
    return { ok: false, id: '0', code: JSONRPC_PARSE_ERROR, text: 'Parse error: the request body is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, id: '0', code: JSONRPC_INVALID_REQUEST, text: 'Invalid request: the body must be one JSON-RPC 2.0 object (batches are not supported)' };
  }
  const req = value as Record<string, unknown>;
  const rawId = req.id;
  let id: JsonRpcId = '0';
  if (typeof rawId === 'string' && rawId.length <= 256) id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = rawId;
  else if (rawId !== undefined && rawId !== null) {
    return { ok: false, id, code: JSONRPC_INVALID_REQUEST, text: 'Invalid request: field id must be a string (at most 256 characters) or a number' };
  }
  if (req.jsonrpc !== '2.0') {
    return { ok: false, id, code: JSONRPC_INVALID_REQUEST, text: 'Invalid request: field jsonrpc must be "2.0"' };
  }
  if (typeof req.method !== 'string' || req.method === '') {
    return { ok: false, id, code: JSONRPC_INVALID_REQUEST, text: 'Invalid request: field method is empty' };
  }
  if (!METHOD_NAME.test(req.method)) {
    return { ok: false, id, code: JSONRPC_INVALID_REQUEST, text: 'Invalid request: field method must be a method name (letters, digits, _; at most 64)' };
  }
  const params = req.params;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    return { ok: false, id, code: JSONRPC_INVALID_REQUEST, text: 'Invalid request: field params must be an object' };
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
