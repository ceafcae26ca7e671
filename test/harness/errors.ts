/**
 * Something in the test harness itself went wrong (a missing tool, a namespace that could not be
 * made, a server that never listened). Carries whatever output helps explain it, so a failing
 * acceptance test says why instead of timing out silently.
 */
export class HarnessError extends Error {
  readonly detail: string;

  constructor(message: string, detail = '') {
    super(detail ? `${message}\n--- detail ---\n${detail}` : message);
    this.name = 'HarnessError';
    this.detail = detail;
  }
}

/** vpncmd ran and reported failure; `code` is SoftEther's error code (or vpncmd's exit status). */
export class VpncmdError extends HarnessError {
  readonly command: string;
  readonly code: number;
  readonly output: string;

  constructor(command: string, code: number, output: string, why: string) {
    super(`vpncmd ${command} failed (code ${code}): ${why}`, output);
    this.name = 'VpncmdError';
    this.command = command;
    this.code = code;
    this.output = output;
  }
}
