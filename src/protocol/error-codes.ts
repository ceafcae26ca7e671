/**
 * SoftEther error codes a cascade can meet (protocol notes §6.2, §4.4, §8), turned into sentences an
 * operator can act on. The numbers are the server's `error` INT; names follow Cedar.h loosely.
 */
const MESSAGES: ReadonlyMap<number, string> = new Map([
  [0, 'no error (error 0)'],
  [1, 'connection to the server failed (error 1): check the server address, port and that it is reachable'],
  [2, 'the server is not a SoftEther VPN server (error 2): check the host and port'],
  [3, 'disconnected by the server (error 3): the server closed the session; it will be retried'],
  [4, 'protocol error (error 4): the server rejected the request as malformed; check server version compatibility'],
  [5, 'the server says this peer is not a VPN client (error 5): check that the port belongs to a SoftEther listener'],
  [7, 'authentication type not supported (error 7): choose anonymous, password, plain password or certificate authentication'],
  [8, 'virtual hub not found (error 8): check the hub name'],
  [9, 'authentication failed (error 9): check user name and password'],
  [10, 'virtual hub is stopping or offline (error 10): bring the hub online on the server; retrying in 60 s'],
  [11, 'session was removed on the server (error 11): an administrator disconnected it; it will be retried'],
  [12, 'access denied (error 12): the user is expired or its policy denies access; check the user on the server'],
  [13, 'session timed out or is unknown to the server (error 13): a full re-login is needed'],
  [14, 'invalid protocol for this session (error 14): a full re-login is needed'],
  [15, 'too many connections for this session (error 15): lower max_connection or wait for a slot'],
  [16, 'virtual hub is busy (error 16): the hub or server session limit is reached; retrying in 60 s'],
  [20, 'too many sessions of the same user (error 20): raise the MultiLogins policy or log out other sessions; retrying in 60 s'],
  [21, 'license error on the server (error 21): check the server license; retrying in 60 s'],
  [23, 'internal error on the server (error 23): check the server log'],
  [33, 'not supported (error 33): the peer does not accept VPN sessions (a stock VPN Bridge answers every login this way); connect to a VPN Server instead'],
  [51, 'empty passwords are accepted only from localhost (error 51): set a password for this user'],
  [63, 'too many users on the server (error 63): the server user limit is reached'],
  [85, 'server certificate not trusted (error 85): check the pinned certificate or trusted CA'],
  [87, 'client version rejected (error 87): the hub requires a newer client build'],
  [105, 'the server cannot accept this connection (error 105): hub communication is disabled; check the hub settings'],
  [106, 'server certificate expired (error 106): renew the server certificate'],
  [107, 'monitor mode denied (error 107): the user policy does not allow monitor mode'],
  [108, 'bridge mode denied (error 108): the user policy has both NoBridge and NoRouting; allow bridging for this user'],
  [109, 'client IP address denied (error 109): the hub access list rejects this address'],
  [124, 'branding mismatch (error 124): the server is a branded build that rejects this client'],
  [125, 'branding mismatch (error 125): the server is a branded build that rejects this client'],
  [127, 'client ID required (error 127): the hub requires a specific client ID'],
  [131, 'NAT-T connection refused (error 131): two or more NAT-T sessions from the same address'],
  [138, 'password must be changed (error 138): the MS-CHAPv2 password needs a reset on the authentication server'],
]);

export function errorMessage(code: number): string {
  return MESSAGES.get(code) ?? `server error ${code}`;
}

/** The session key is dead: an additional connection cannot help, only a fresh login (notes §8). */
export function isSessionGone(code: number): boolean {
  return code === 13 || code === 14;
}

/** The stock cascade waits 60 s instead of the usual ~10 s after these (notes §9). */
export function retryDelayClass(code: number): 'normal' | 'long' {
  return code === 10 || code === 16 || code === 20 || code === 21 ? 'long' : 'normal';
}
