import { randomBytes } from 'node:crypto';
import { startServer, type SoftEtherServer } from '../harness/softether-server.ts';
import type { CallContext } from './calls.ts';

/** The hub and user the conformance cascade logs in to. */
export const CASCADE_HUB = 'CONF';
export const CASCADE_USER = 'linkuser';

/**
 * A real vpnserver (test/harness) with hub CONF and a password user, for the conformance calls' cascade. `cascade`
 * is addressed as the root namespace sees the server (its veth address); a target living in another namespace
 * (the stock bridge) substitutes the address it reaches the server at.
 */
export async function startCascadeServer(): Promise<{ server: SoftEtherServer; cascade: CallContext['cascade'] }> {
  const server = await startServer();
  try {
    const cascade = { host: server.host, port: server.port, hub: CASCADE_HUB, user: CASCADE_USER, password: randomBytes(9).toString('hex') };
    await server.createHub(CASCADE_HUB);
    await server.createPasswordUser(CASCADE_HUB, CASCADE_USER, cascade.password);
    return { server, cascade };
  } catch (e) {
    await server.stop().catch(() => undefined);
    throw e;
  }
}
