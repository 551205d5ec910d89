/**
 * An error caused by the user's input (files, options, data). The CLI prints its message as one
 * line and exits with status 2; anything else is a bug and keeps its stack trace.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export function fail(message: string): never {
  throw new InputError(message);
}

/** Throws an InputError naming `what` if any value is NaN or infinite. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) fail(`${what} contains a non-finite value (${values[i]}) at index ${i}`);
  }
}
