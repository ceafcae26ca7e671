import { apiError, ERR } from './errors.ts';
import { Params } from './params.ts';
import type { ApiContext, Caller } from './context.ts';
import type { Method } from './methods/common.ts';
import { bridgeMethods } from './methods/bridges.ts';
import { linkMethods } from './methods/links.ts';
import { serverMethods } from './methods/server.ts';
import { firmwareMethods } from './methods/firmware.ts';
import type { ControlLog } from '../control-log.ts';

/**
 * The one method table behind every API encoding: JSON-RPC over HTTPS today, SoftEther's binary Pack RPC later
 * (a Pack converts to these suffix-named JSON params by the same type-suffix rule), and the browser UI, which is
 * just another JSON-RPC client. Keys are SoftEther's method names.
 */
export const METHODS: Readonly<Record<string, Method>> = Object.freeze({ ...serverMethods, ...linkMethods, ...bridgeMethods, ...firmwareMethods });

/** Methods that only read: not logged per call (the dashboard polls them every few seconds). */
const READ_ONLY = /^(Get|Enum|Test$)/;

export type Dispatch = (method: string, params: Record<string, unknown>, caller: Caller) => Promise<Record<string, unknown>>;

export function createDispatch(ctx: ApiContext, log: ControlLog): Dispatch {
  return async (method, params, caller) => {
    const m = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    if (!m) throw apiError(ERR.NOT_SUPPORTED, `unknown method "${method}"`);
    if (caller.kind === 'setup' && m.access !== 'setup') {
      throw apiError(ERR.ACCESS_DENIED, 'the admin password must be set first (SetServerPassword)');
    }
    const result = await m.run(new Params(params), ctx, caller);
    // Parameters are never logged: they carry passwords and keys.
    if (!READ_ONLY.test(method)) log.info({ object: 'api', method, via: caller.via, address: caller.address }, `API ${method} by ${caller.via === 'session' ? 'web UI' : caller.via} from ${caller.address}`);
    return result;
  };
}
