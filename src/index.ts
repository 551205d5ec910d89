/**
 * gradleak as a library: `import { audit, getAttack, PRESETS, buildModel } from 'gradleak'`. Everything
 * here is browser-safe (no Node modules); file reading and writing belong to the caller.
 */
export { InputError } from './core/errors.js';
export { parseSpec, buildModel, type Model, type ModelSpec, type LayerSpec, type LayerGeometry } from './core/spec.js';
export { PRESETS } from './core/presets.js';
export { initParams, forward, backward, type Params, type LayerTensors } from './core/network.js';
export { paramsFromTensors, tensorsFromParams, checkMagnitudes } from './core/params-io.js';
export { simulateClient, trainOnImage, type ClientUpdate } from './core/client.js';
export { audit, type AuditResult, type AuditSource } from './core/audit.js';
export type { LayerReport } from './core/analysis.js';
export { ATTACKS, getAttack } from './core/attacks/registry.js';
export type {
  Attack, AttackInput, AttackOptions, AttackResult, Progress, SolveSettings,
} from './core/attacks/types.js';
export { inferLabel, type LabelGuess } from './core/label.js';
export { SolverCache } from './core/solver-cache.js';
export { DEFAULT_RANK_TOL } from './core/layersolve.js';
export {
  estimate, checkMemory, parameterBytes, passBytes, solveBytes, matchingBytes,
  type MemoryEstimate, type MemoryPart,
} from './core/memory.js';
export { mse, psnr, ssim, quality, type Quality } from './core/metrics.js';
export { parseSafetensors, serializeSafetensors, type NamedTensor } from './formats/safetensors.js';
export {
  decodeImage, encodeImagePng, bitmapToTensor, toUnitRange, unitTensorToBitmap, fitBitmap,
  REFERENCE_NORMALISATION, type Bitmap, type Normalisation,
} from './formats/image.js';
