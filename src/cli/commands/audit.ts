import { audit, type AuditSource } from '../../core/audit.js';
import { fail } from '../../core/errors.js';
import { DEFAULT_RANK_TOL } from '../../core/layersolve.js';
import { estimate, parameterBytes, passBytes, solveBytes } from '../../core/memory.js';
import { Rng } from '../../core/rng.js';
import { SolverCache } from '../../core/solver-cache.js';
import type { Model } from '../../core/spec.js';
import {
  checkCeiling, IMAGE_OPTIONS, JSON_OPTION, loadGradients, loadImage, loadParams, MODEL_OPTIONS, normalisation,
  requireModel, TOL_OPTION,
} from '../args.js';
import type { Command } from '../command.js';
import { auditTable } from '../format.js';
import type { Args } from '../options.js';

export const auditCommand: Command = {
  name: 'audit',
  usage: `gradleak audit --model <preset|spec.json> [--weights W.safetensors]
               [--image IMG --label N | --gradients G.safetensors [--label N]]
  Per-layer unknowns, constraint counts, numerical and count-based rank, condition estimate and the
  security index. Without --image or --gradients a seeded random image stands in for the client's.`,
  options: {
    ...MODEL_OPTIONS, ...IMAGE_OPTIONS,
    gradients: {
      kind: 'string', arg: 'G.safetensors',
      help: 'audit these shared gradients (the attacker\'s view) instead of an image',
    },
    ...TOL_OPTION, ...JSON_OPTION,
  },
  run: runAudit,
};

function auditSource(a: Args, model: Model, maxBytes: number): AuditSource {
  const image = a.str('image'), gradients = a.str('gradients');
  if (image && gradients) fail('give --image or --gradients, not both');
  const label = a.int('label');
  if (gradients) return { kind: 'gradients', gradients: loadGradients(gradients, model, maxBytes), label };
  if (image) return { kind: 'image', image: loadImage(image, model, normalisation(a)), label: label ?? 0 };
  const rng = new Rng(a.int('seed', 0) + 1);
  const [c, h, w] = model.spec.input;
  return { kind: 'image', image: Float64Array.from({ length: c * h * w }, () => rng.uniform() - 0.5), label: label ?? 0 };
}

function runAudit(a: Args): void {
  const model = requireModel(a);
  const maxBytes = checkCeiling(a, estimate([parameterBytes(model, 2), passBytes(model), ...solveBytes(model)]),
    `auditing ${model.spec.name}`);
  const params = loadParams(a, model);
  const source = auditSource(a, model, maxBytes);
  const t0 = performance.now();
  const result = audit(model, params, source, {
    tol: a.num('tol', DEFAULT_RANK_TOL), maxBytes, solver: new SolverCache(),
  });
  const seconds = (performance.now() - t0) / 1000;
  if (a.flag('json')) { console.log(JSON.stringify({ ...result, seconds })); return; }
  for (const w of result.warnings) console.error(`warning: ${w}`);
  console.log(`${model.spec.name}: ${model.layers.length} layers, input ${model.spec.input.join('×')}\n\n`
    + `${auditTable(result)}\n(${seconds.toFixed(3)} s)`);
}
