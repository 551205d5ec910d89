import { audit, type AuditSource } from '../../core/audit.js';
import { Rng } from '../../core/rng.js';
import { fail } from '../../core/errors.js';
import type { Model } from '../../core/spec.js';
import { int, loadGradients, loadImage, loadParams, normalisation, num, parse, requireModel, str } from '../args.js';
import { auditTable } from '../format.js';
import { DEFAULT_RANK_TOL } from '../../core/layersolve.js';

export const AUDIT_HELP = `gradleak audit --model <preset|spec.json> [--weights W.safetensors]
               [--image IMG --label N | --gradients G.safetensors [--label N]] [--seed N] [--tol T] [--json]
  Per-layer unknowns, constraint counts, numerical and count-based rank, condition estimate and the
  security index. Without --image or --gradients a seeded random image stands in for the client's.`;

export function auditSource(v: Record<string, string | boolean | undefined>, model: Model): AuditSource {
  const image = str(v, 'image'), gradients = str(v, 'gradients');
  if (image && gradients) fail('give --image or --gradients, not both');
  const label = int(v, 'label');
  if (gradients) return { kind: 'gradients', gradients: loadGradients(gradients, model), label };
  if (image) return { kind: 'image', image: loadImage(image, model, normalisation(v)), label: label ?? 0 };
  const rng = new Rng(int(v, 'seed', 0)! + 1);
  const [c, h, w] = model.spec.input;
  return { kind: 'image', image: Float64Array.from({ length: c * h * w }, () => rng.uniform() - 0.5), label: label ?? 0 };
}

export function runAudit(argv: string[]): void {
  const v = parse(argv, { image: { type: 'string' }, label: { type: 'string' }, gradients: { type: 'string' } });
  if (v.help) { console.log(AUDIT_HELP); return; }
  const model = requireModel(v);
  const params = loadParams(v, model);
  const source = auditSource(v, model);
  const t0 = performance.now();
  const result = audit(model, params, source, num(v, 'tol', DEFAULT_RANK_TOL));
  const seconds = (performance.now() - t0) / 1000;
  if (v.json) console.log(JSON.stringify({ ...result, seconds }));
  else console.log(`${model.spec.name}: ${model.layers.length} layers, input ${model.spec.input.join('×')}\n\n${auditTable(result)}\n(${seconds.toFixed(3)} s)`);
}
