/**
 * Cancelling a run. The application layer takes anything with `aborted` (an AbortSignal in Node and
 * browsers) and checks it where an attack reports progress; a run that is cancelled throws `Cancelled`.
 * A page may also stop a run by ending the Web Worker it runs in: a synchronous solve checks nothing.
 */
export interface CancelSignal {
  readonly aborted: boolean;
}

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

export function throwIfCancelled(signal: CancelSignal | undefined): void {
  if (signal?.aborted) throw new Cancelled();
}
