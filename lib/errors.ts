/**
 * Errors meant for the person at the keyboard: one line that names the file, option, layer or
 * set at fault. The CLI prints `ddtb: <message>` for these and exits with `exitCode`, without a
 * stack trace. Anything else that escapes is a bug and is reported as such.
 */
export class UserError extends Error {
  /** Process exit status the CLI uses for this error (2 = bad usage or input). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Throws a UserError with `message` unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new UserError(typeof message === 'function' ? message() : message);
}
