import { parentPort } from 'node:worker_threads';
import { runLayerTask, type LayerTask } from '../analysis/layer-jobs.js';

/** A layer worker (analysis/layer-jobs.ts): solves each layer system it is sent and posts the report. */
parentPort!.on('message', (task: LayerTask) => parentPort!.postMessage(runLayerTask(task)));
