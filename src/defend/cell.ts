import { privacyOf } from '../defences/accounting.js';
import { applyDefences } from '../defences/apply.js';
import { getDefence } from '../defences/registry.js';
import type { ClientBatch } from '../defences/types.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { matchingKernels, type MatchingKernels, type Precision } from '../kernels/select.js';
import { SolverCache } from '../solve/solver-cache.js';
import { InputError } from '../core/errors.js';
import { REFERENCE_NORMALISATION, toUnitRange } from '../formats/image.js';
import { quality } from '../metrics/quality.js';
import { attackCell, cellClient, type CellClient, type ClientCell } from '../study/cell.js';
import { simulateClient } from '../threat/client.js';
import { naiveGradients, type DefenceRecord, type SharedUpdate } from '../threat/payload.js';
import { updateUtility } from './utility.js';

/** Naive: the attack reads the defended update as plain gradients; adaptive: it knows the defence. */
export type AttackMode = 'naive' | 'adaptive';

/** One cell of `defend`: one defence at one strength (none: the baseline), one attack, one image. */
export interface DefendCell extends ClientCell {
  /** The defence with every parameter, or undefined for the undefended baseline. */
  defence?: DefenceRecord;
  method: string;
  mode: AttackMode;
  /** The other clients' images (as the model takes them) and labels, for secure aggregation. */
  population?: ClientBatch;
}

export interface DefendRow {
  key: string;
  model: string;
  image: string;
  label: number;
  /** The defence's name, or 'none'. */
  defence: string;
  /** The value of its strength option (null for none). */
  strength: number | string | null;
  /** The whole record, for results that name every parameter. */
  params: Record<string, number | string>;
  method: string;
  mode: AttackMode;
  psnr: number;
  ssim: number;
  mse: number;
  /** The defended update against the clean gradient (utility.ts). */
  relError: number;
  cosine: number;
  /** ε of one release at the noise's δ (noise only). */
  epsilon: number | null;
  /** Why the attack gave up on this update (its reconstruction is then the blank image), or null. */
  gaveUp: string | null;
  /** The attack's time: kept in the journal and timing.json, never in the deterministic outputs. */
  seconds: number;
}

export interface DefendResult {
  row: DefendRow;
  /** The reconstruction on [0, 1] (CHW), for the image grids. */
  reconstruction: Float64Array;
}

/**
 * The client computes its clean gradient and its defended update (noise seeded by the cell's seed,
 * so every attack and mode of a sweep point faces the same update); the attack sees only the defended
 * one; the clean one measures the utility cost.
 */
export function runDefendCell(
  cell: DefendCell, solver = new SolverCache(), kernels: (p: Precision) => MatchingKernels = matchingKernels,
): DefendResult {
  const client = cellClient(cell);
  const { model, params, payload, image } = client;
  const labels = [cell.label];
  const clean = simulateClient(JS_KERNELS, model, params, payload.bnMode, image, labels).update;
  const defences = cell.defence ? [cell.defence] : [];
  const update = defences.length === 0 ? clean : applyDefences({
    kernels: JS_KERNELS, model, params, bnMode: payload.bnMode, defences, seed: cell.seed,
    population: cell.population,
  }, { images: image, labels }).update;
  const utility = updateUtility(model, clean.gradients, naiveGradients(update).gradients);
  const r = attackOrBlank(cell, client, update, solver, kernels);
  const d = cell.defence;
  const row: DefendRow = {
    key: cell.key, model: cell.model, image: cell.image, label: cell.label,
    defence: d?.name ?? 'none', strength: d ? strengthOf(d) : null, params: d ? { ...d.params } : {},
    method: cell.method, mode: cell.mode,
    psnr: r.quality.psnr, ssim: r.quality.ssim, mse: r.quality.mse, ...utility,
    epsilon: privacyOf(defences)?.epsilon ?? null, gaveUp: r.gaveUp, seconds: r.seconds,
  };
  return { row, reconstruction: r.unit };
}

/** The value of a defence's strength option in a record. */
export function strengthOf(r: DefenceRecord): number | string {
  return r.params[getDefence(r.name).strength.option];
}

/**
 * The attack, or when it refuses the defended update (an all-zero bias gradient after heavy pruning,
 * say) the blank image an attacker without a reconstruction is left with: the defence stopped it, and
 * the sweep records that as a measurement rather than a failed cell.
 */
function attackOrBlank(
  cell: DefendCell, client: CellClient, update: SharedUpdate, solver: SolverCache,
  kernels: (p: Precision) => MatchingKernels,
): ReturnType<typeof attackCell> & { gaveUp: string | null } {
  try {
    return { ...attackCell(cell.method, client, update, cell, solver, kernels, cell.mode === 'adaptive'),
      gaveUp: null };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const unit = toUnitRange(new Float64Array(cell.input.length), REFERENCE_NORMALISATION);
    return { unit, quality: quality(unit, client.target, client.shape), seconds: 0, gaveUp: e.message };
  }
}
