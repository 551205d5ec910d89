import { fail } from '../core/errors.js';
import { IDENTITY, LEAKY_RELU, RELU, SIGMOID, SOFTPLUS, TANH } from './activations.js';
import { BATCH_NORM2D } from './batch-norm2d.js';
import { CONV2D } from './conv2d.js';
import { LINEAR } from './linear.js';
import type { Op } from './op.js';
import { AVG_POOL2D, GLOBAL_AVG_POOL, MAX_POOL2D } from './pooling.js';
import { ADD, DROPOUT, FLATTEN } from './structural.js';

/** Every op a graph may use, by name. A new op is a module plus one entry here. */
export const OPS: readonly Op<never>[] = [
  CONV2D, LINEAR, FLATTEN, RELU, LEAKY_RELU, TANH, SIGMOID, SOFTPLUS, IDENTITY,
  MAX_POOL2D, AVG_POOL2D, GLOBAL_AVG_POOL, BATCH_NORM2D, ADD, DROPOUT,
] as readonly Op<unknown>[] as readonly Op<never>[];

export function getOp(name: unknown, where: (s: string) => string): Op<unknown> {
  const op = OPS.find((o) => o.name === name);
  if (!op) fail(where('unknown op '
    + `${typeof name === 'string' ? JSON.stringify(name.slice(0, 40)) : typeof name} `
    + `(ops: ${OPS.map((o) => o.name).join(', ')})`));
  return op as unknown as Op<unknown>;
}
