/**
 * Set by the single executable (src/sea/main.ts), which carries the UI and its version inside itself; read by
 * `sebridge run` (src/run.ts). Its own module so that the executable's entry does not load the daemon (run.ts and
 * everything behind it) for `sebridge link`.
 */
export const embedded: { staticDir?: string | null; version?: string } = {};
