import type { AuditReport } from '../../src/app/audit.js';
import type { CompareRow } from '../../src/app/compare.js';
import type { DefendCell, DefendResult, DefendRow } from '../../src/defend/cell.js';
import type { Bitmap } from '../../src/formats/image.js';
import type { SweepRequest } from './sweep.js';

/**
 * The messages between the page and its workers. Everything is plain data (structured clone): files
 * as bytes, images as bitmaps; nothing else crosses.
 */

export interface FileBytes {
  name: string;
  bytes: Uint8Array;
}

/** What the user chose: the model (a preset or a file), its weights and update, the client's image. */
export interface Inputs {
  model: { preset: string } | { file: FileBytes };
  weights?: FileBytes;
  /** A shared update to attack; without it gradleak plays the client on `image`. */
  gradients?: FileBytes;
  /** The client's image (fitted to the model's input); the target of PSNR/SSIM when known. */
  image?: { source: string; bitmap: Bitmap };
  label: number;
  seed: number;
}

export type Job =
  | { kind: 'audit'; inputs: Inputs }
  | { kind: 'attack'; inputs: Inputs; method: string; iterations?: number; adaptive: boolean }
  | { kind: 'compare'; inputs: Inputs; methods: string[]; iterations?: number; adaptive: boolean }
  | { kind: 'cell'; cell: DefendCell }
  | { kind: 'catalogue' }
  | { kind: 'sweep-plan'; sweep: SweepRequest }
  | { kind: 'sweep-report'; sweep: SweepRequest; done: { row: DefendRow; reconstruction: Float64Array }[] };

export interface NamedFile {
  name: string;
  data: Uint8Array | string;
}

export interface AttackView {
  result: Record<string, unknown>;
  seconds: number;
  /** Every reconstruction: one per image of the batch, or the whole crowd of a secure-aggregation sum. */
  bitmaps: Bitmap[];
  target: Bitmap | null;
  files: NamedFile[];
}

export type JobResult =
  | { kind: 'audit'; report: AuditReport; seconds: number; files: NamedFile[] }
  | { kind: 'attack'; attack: AttackView }
  | { kind: 'compare'; rows: CompareRow[]; shown: { method: string; bitmap: Bitmap }[]; target: Bitmap | null;
    files: NamedFile[] }
  | { kind: 'cell'; result: DefendResult }
  | {
    kind: 'catalogue'; presets: { name: string; kind: string }[];
    attacks: { name: string; description: string }[];
  }
  | { kind: 'sweep-plan'; cells: DefendCell[] }
  | { kind: 'sweep-report'; files: NamedFile[]; breakPoints: string };

export interface ProgressMessage {
  step: number;
  total: number;
  message: string;
  psnr?: number;
  /** The current reconstruction (the batch's first image), for the live preview. */
  preview?: Bitmap;
}

export type FromWorker =
  | { id: number; type: 'progress'; progress: ProgressMessage }
  | { id: number; type: 'done'; result: JobResult }
  | { id: number; type: 'error'; message: string; input: boolean };

export interface ToWorker {
  id: number;
  job: Job;
}
