/** Who is calling an admin API method, as the method table sees it. */
export type Caller = {
  /** 'setup': no admin password exists yet (only SetServerPassword and GetSetupState reach the table). */
  kind: 'setup' | 'admin';
  /** How the caller proved it: X-VPNADMIN-PASSWORD header, HTTP Basic, browser session cookie, or nothing (setup). */
  via: 'password' | 'basic' | 'session' | 'none';
  /** The client's IP address (IPv4-mapped IPv6 addresses shown as plain IPv4). */
  address: string;
};

/**
 * The admin API method table. Resolves with the result object; rejects with ApiError (api-error.ts) to refuse;
 * any other rejection is answered as SoftEther's internal error (23) and logged.
 */
export type Dispatch = (method: string, params: Record<string, unknown>, caller: Caller) => Promise<Record<string, unknown>>;

export type WebLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: object) => void;

/**
 * Where `POST /firmware/upload` streams its body (the daemon's FirmwareManager). `upload` rejects with an error
 * carrying `reason` (firmware/errors.ts) for a refused file; the transport maps it to an HTTP status.
 */
export type FirmwareUploadTarget = {
  upload(body: AsyncIterable<Uint8Array>, opts: { force: boolean; length: number }): Promise<object>;
  /** The largest upload that could be accepted now (the slot's size plus the file's header). */
  maxBytes(): Promise<number>;
};
