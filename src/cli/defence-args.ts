import { fail } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { privacyOf } from '../defences/accounting.js';
import { DEFENCES } from '../defences/registry.js';
import { checkDefences, formatDefence, parseDefence } from '../defences/spec.js';
import type { ClientBatch } from '../defences/types.js';
import { bitmapsToBatch, type Normalisation } from '../formats/image.js';
import { loadImageSet } from '../io/imagesets.js';
import type { Graph } from '../model/graph.js';
import type { DefenceRecord, SharedUpdate } from '../threat/payload.js';
import type { Args, OptionTable } from './options.js';

/** --defence (repeatable, applied in order) and --population, for the commands that play the client. */
export const DEFENCE_OPTIONS: OptionTable = {
  defence: {
    kind: 'string', arg: 'SPEC', repeatable: true,
    help: 'a defence the client applies, in the order given: '
      + `${DEFENCES.map((d) => d.name).join(', ')} (e.g. prune:0.9, noise:z=1,clip=1, fedavg:steps=5,lr=0.1, `
      + 'quantise:int8, secagg:4; docs/METHOD.md)',
  },
  population: {
    kind: 'string', arg: 'samples|DIR',
    help: 'the other clients\' images for secagg: samples, a folder, a CIFAR-10 .bin or an IDX file',
  },
};

/** The --defence chain, each spec checked, then the chain as a whole. */
export function defenceChain(a: Args): DefenceRecord[] {
  const chain = a.strs('defence').map(parseDefence);
  checkDefences(chain);
  if (a.has('population') && !chain.some((r) => r.name === 'secagg')) fail(
    '--population goes with --defence secagg:K (the other clients\' images)');
  return chain;
}

/**
 * The images secure aggregation's other clients hold: (K − 1)·B of them from --population (default
 * samples), fitted to the model's input; labels from the data set where it has them, else seeded
 * random classes (the same for the same --seed).
 */
export function loadPopulation(
  a: Args, chain: readonly DefenceRecord[], model: Graph, norm: Normalisation, batch: number,
): ClientBatch | undefined {
  const sec = chain.find((r) => r.name === 'secagg');
  if (!sec) return undefined;
  const need = ((sec.params.clients as number) - 1) * batch;
  const spec = a.str('population') ?? 'samples';
  const set = loadImageSet(spec, need);
  if (set.length < need) fail(`--population ${spec}: ${formatDefence(sec)} with batches of ${batch} needs `
    + `${need} image(s) for the other clients, it has ${set.length}`);
  const images = bitmapsToBatch(set, model.input as [number, number, number], norm);
  const rng = new Rng(a.int('seed', 0));
  const labels = set.map((s) => s.label !== null && s.label < model.classes
    ? s.label : Math.floor(rng.uniform() * model.classes));
  return { images, labels };
}

/** One line for the terminal: the defences and ε (and, for an attack, how it read the update). */
export function defenceLine(u: SharedUpdate, attacked: boolean, adaptive = false): string | undefined {
  if (!u.defences?.length) return undefined;
  const p = privacyOf(u.defences);
  const eps = p ? `; ε = ${p.epsilon.toPrecision(4)} at δ = ${p.delta} for one round`
    + (p.rounds > 1 ? `, ${p.epsilonRounds.toPrecision(4)} over ${p.rounds} rounds `
      + `(RDP bound ${p.epsilonRoundsRdp.toPrecision(4)})` : '') : '';
  const naive = !attacked ? ''
    : adaptive ? '; attacked adaptively (each defence simulated on the candidate)'
      : u.kind === 'delta' ? '; attacked naively, as the gradient −Δ/(E·η)' : '; attacked naively';
  return `defences ${u.defences.map(formatDefence).join(' then ')}${eps}${naive}`;
}
