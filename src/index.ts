/**
 * gradleak as a library: `import { audit, getAttack, presetGraph, initParams } from 'gradleak'`.
 * Everything here is browser-safe (no Node modules); file reading and writing belong to the caller.
 */
export { InputError } from './core/errors.js';
export {
  parseGraphSpec, buildGraph, forwardGraph, parameterCount, type Graph, type GraphSpec, type NodeSpec,
  type ParamMap,
} from './model/graph.js';
export { presetGraph, presetSpec, presetNames, graphFromJson } from './model/presets.js';
export { importOnnx } from './model/onnx-import.js';
export { chainToGraph, chainView } from './model/chain.js';
export {
  initParams, paramsFromTensors, tensorsFromParams, checkMagnitudes, fileName,
} from './model/params.js';
export { batchGradients } from './model/gradients.js';
export { PRESETS } from './model/chain-presets.js';
export { parseSpec, type ModelSpec } from './model/chain-spec.js';
export { OPS } from './ops/registry.js';
export type { Op, BnMode } from './ops/op.js';
export { Engine, Var } from './autodiff/engine.js';
export { JS_KERNELS } from './kernels/js/index.js';
export type { Kernels } from './kernels/kernels.js';
export type { Tensor, Shape } from './tensor/tensor.js';
export {
  naiveGradients, updateTensors, type ServerPayload, type SharedUpdate, type GradientUpdate, type DeltaUpdate,
  type DefenceRecord,
} from './threat/payload.js';
export { simulateClient, simulateDefendedClient, trainOnBatch, type ClientResult } from './threat/client.js';
export { DEFENCES, getDefence } from './defences/registry.js';
export {
  parseDefence, parseDefenceSweep, checkParams, checkDefences, formatDefence,
} from './defences/spec.js';
export { applyDefences, gradientStep, type DefendedClient } from './defences/apply.js';
export type {
  Defence, DefenceOption, DefenceParams, DefenceContext, ClientBatch, ClientOutput, ClientStep, UpdateForm,
} from './defences/types.js';
export {
  gaussianDelta, gaussianEpsilon, gaussianEpsilonComposed, rdpEpsilon, rdpEpsilonAt, privacyOf, type Privacy,
} from './defences/accounting.js';
export { erfc, erfcx, normalCdf, logNormalCdf } from './defences/normal.js';
export type {
  AdaptiveRule, CandidateBatch, ReceivedUpdate, SimulatedStep, TensorDistance,
} from './defences/adaptive.js';
export { adaptiveReading, type AdaptiveReading } from './attacks/adaptive.js';
export {
  audit, auditOnWorkers, type AuditResult, type AuditSettings, type AuditSource,
} from './analysis/audit.js';
export {
  runLayerTask, type LayerOutcome, type LayerTask, type LayerThreads, type LayerWorker, type SpawnLayerWorker,
} from './analysis/layer-jobs.js';
export type { LayerReport } from './analysis/reports.js';
export { ATTACKS, getAttack } from './attacks/registry.js';
export type { Attack, AttackOptions, AttackResult, Progress, SolveSettings } from './attacks/types.js';
export { recoverLabels, type LabelRecovery } from './attacks/labels.js';
export { matchingObjective, type MatchingProblem } from './attacks/matching/objective.js';
export { SolverCache } from './solve/solver-cache.js';
export { DEFAULT_RANK_TOL } from './solve/layersolve.js';
export {
  estimate, checkMemory, concurrentSolves, parameterBytes, passBytes, solveBytes, matchingBytes,
  type MemoryEstimate,
  type MemoryPart,
} from './core/memory.js';
export { mse, psnr, ssim, quality, batchQuality, type Quality } from './metrics/quality.js';
export { parseSafetensors, serializeSafetensors, type NamedTensor } from './formats/safetensors.js';
export {
  decodeImage, encodeImagePng, bitmapToTensor, toUnitRange, unitTensorToBitmap, fitBitmap,
  REFERENCE_NORMALISATION, type Bitmap, type Normalisation,
} from './formats/image.js';
export {
  trainModel, type TrainSettings, type TrainData, type TrainHooks, type TrainProgress, type TrainResult,
  type EpochResult,
} from './train/loop.js';
export { splitHeldOut, shuffleInPlace, type LabelledImage } from './train/dataset.js';
export { evaluate, type Evaluation } from './train/evaluate.js';
export { Sgd, type SgdSettings } from './train/sgd.js';
export { updateRunningStats, BN_MOMENTUM } from './train/running-stats.js';
export { runDefendCell, type DefendCell, type DefendRow, type AttackMode } from './defend/cell.js';
export { summariseDefend, breakIndex, weakestFirst, type DefendSummary } from './defend/summary.js';
export { updateUtility, type Utility } from './defend/utility.js';
