import { fail } from '../core/errors.js';
import { candidateSlice, sumVars, type SimulatedStep } from './adaptive.js';
import { batchSlice, sumOutputs } from './tensors.js';
import type { Defence } from './types.js';
import { num } from './types.js';

/**
 * Secure aggregation: the server sees only the sum of K clients' updates. The other K − 1 clients
 * hold batches of the same size as the target client, taken in order from the population (client k
 * gets images (k−1)·B … k·B − 1), and apply the same defences listed before secagg, drawing their own
 * noise from the same seeded stream after the target's. The update's batch stays the target's; the
 * loss reported is the target's.
 */
export const secagg: Defence = {
  name: 'secagg',
  description: 'secure aggregation: the server receives the sum of K clients\' updates',
  options: [{
    name: 'clients', kind: 'int', min: 2, max: 1e5, help: 'K, the clients summed (the target included)',
  }],
  once: true,
  strength: { option: 'clients', stronger: 'higher' },
  wrap: (inner, p, ctx) => (params, batch) => {
    const others = num(p, 'clients') - 1, B = batch.labels.length;
    const have = ctx.population?.labels.length ?? 0;
    if (have < others * B) fail(`secagg: ${others} other client(s) with batches of ${B} need ${others * B} `
      + `population image(s), ${have} given`);
    const own = inner(params, batch);
    const rest = Array.from(
      { length: others }, (_, k) => inner(params, batchSlice(ctx.population!, k * B, B)));
    return { ...sumOutputs([own, ...rest]), loss: own.loss };
  },
  // the sum read as the crowd's: a candidate of K batches, each client's step on its own slice
  // (its own batch statistics), summed; the attack reconstructs all K·B images and cannot tell which
  // were the target's
  adapt: (p, received) => {
    const K = num(p, 'clients'), B = received.batch;
    return {
      crowd: K,
      simulate: (inner, e): SimulatedStep => (theta, batch) => sumVars(e, Array.from(
        { length: K }, (_, k) => inner(theta, candidateSlice(e, batch, k * B, B)))),
    };
  },
};
