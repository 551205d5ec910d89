import { fail } from '../core/errors.js';
import { ADD } from './add.js';
import { AVG_POOL2D } from './avg-pool2d.js';
import { BATCH_NORM2D } from './batch-norm2d.js';
import { CONV2D } from './conv2d.js';
import { DROPOUT } from './dropout.js';
import { FLATTEN } from './flatten.js';
import { GLOBAL_AVG_POOL } from './global-avg-pool.js';
import { IDENTITY } from './identity.js';
import { LEAKY_RELU } from './leaky-relu.js';
import { LINEAR } from './linear.js';
import { MAX_POOL2D } from './max-pool2d.js';
import type { Op } from './op.js';
import { RELU } from './relu.js';
import { SIGMOID } from './sigmoid.js';
import { SOFTPLUS } from './softplus.js';
import { TANH } from './tanh.js';

/** Every op a graph may use, by name. A new op is a module plus one entry here. */
export const OPS: readonly Op<never>[] = [
  CONV2D, LINEAR, FLATTEN, RELU, LEAKY_RELU, TANH, SIGMOID, SOFTPLUS, IDENTITY,
  MAX_POOL2D, AVG_POOL2D, GLOBAL_AVG_POOL, BATCH_NORM2D, ADD, DROPOUT,
] as readonly Op<unknown>[] as readonly Op<never>[];

export function getOp(name: unknown, where: (s: string) => string): Op<unknown> {
  if (name === undefined) fail(where(`"op" is required (ops: ${OPS.map((o) => o.name).join(', ')})`));
  const op = OPS.find((o) => o.name === name);
  if (!op) fail(where('unknown op '
    + `${typeof name === 'string' ? JSON.stringify(name.slice(0, 40)) : typeof name} `
    + `(ops: ${OPS.map((o) => o.name).join(', ')})`));
  return op as unknown as Op<unknown>;
}
