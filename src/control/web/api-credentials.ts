/**
 * Which administrator credentials an /api/ request carries, read the way SoftEther's server reads them
 * (Cedar/Admin.c HttpParseBasicAuthHeader): the X-VPNADMIN-PASSWORD header wins (its user = X-VPNADMIN-HUBNAME,
 * empty when absent), otherwise HTTP Basic (user "" or "administrator" = server admin, else a hub name).
 * Header values arrive as latin1 from Node's parser; they are re-read as UTF-8 so non-ASCII passwords work.
 */
export type ApiCredentials =
  | { via: 'password' | 'basic'; user: string; password: string }
  | { via: 'none' }
  | { via: 'malformed'; reason: string };

const MAX_PASSWORD_BYTES = 1024;

function utf8(headerValue: string): string {
  return Buffer.from(headerValue, 'latin1').toString('utf8');
}

export function readApiCredentials(headers: Record<string, string | string[] | undefined>): ApiCredentials {
  const pw = headers['x-vpnadmin-password'];
  if (typeof pw === 'string') {
    if (pw.length > MAX_PASSWORD_BYTES) return { via: 'malformed', reason: 'X-VPNADMIN-PASSWORD is too long' };
    const hub = headers['x-vpnadmin-hubname'];
    return { via: 'password', user: typeof hub === 'string' ? utf8(hub).trim() : '', password: utf8(pw) };
  }
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth !== '') {
    const m = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(auth);
    if (!m) return { via: 'malformed', reason: 'Authorization must be HTTP Basic' };
    if (m[1].length > 2 * MAX_PASSWORD_BYTES) return { via: 'malformed', reason: 'Authorization is too long' };
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { via: 'malformed', reason: 'Basic credentials must be user:password' };
    return { via: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { via: 'none' };
}

/**
 * Whether `user` (hub name or Basic user) means the appliance's administrator: "" (SoftEther's npm client sends the
 * hub header empty; the stock 5.01 bridge hangs up on that, which locks vpnrpc out, so sebridge takes it for what
 * it says: server admin) or "administrator". A hub name asks for hub-admin mode, which a VPN Bridge does not have:
 * the stock bridge answers 401 even for "BRIDGE" with the right password (measured), and so does sebridge.
 */
export function isAdminUser(user: string): boolean {
  const u = user.toLowerCase();
  return u === '' || u === 'administrator';
}
