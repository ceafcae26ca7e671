/** What every page gets: the API, the shared poller, its container, and navigation. */
import type { Api } from './api.ts';
import type { Poller } from './poller.ts';

export interface Ctx {
  api: Api;
  poller: Poller;
  main: HTMLElement;
  navigate(hash: string): void;
  /** Poll `fn` every `everySeconds` while this page is shown; failures show in the connection banner. */
  poll(everySeconds: number, fn: () => Promise<void>): void;
  /** Run `fn` when the user leaves this page (free charts, observers). */
  onLeave(fn: () => void): void;
  /** Leave a one-shot message for the next page (e.g. "Password set"). */
  setFlash(text: string): void;
  /** Take (and clear) the one-shot message, if any. */
  takeFlash(): string | null;
  /** Re-read GET /auth/state (after setting the password, logging in or out). */
  refreshAuth(): Promise<void>;
}

export type Page = (ctx: Ctx, arg: string) => void | Promise<void>;
