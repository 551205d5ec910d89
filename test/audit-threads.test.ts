import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { audit, auditOnWorkers, type AuditSource } from '../src/analysis/audit.js';
import { runLayerTask, type LayerTask, type SpawnLayerWorker } from '../src/analysis/layer-jobs.js';
import { concurrentSolves } from '../src/core/memory.js';
import { serializeSafetensors } from '../src/formats/safetensors.js';
import { initParams } from '../src/model/params.js';
import { graphFromJson, presetGraph } from '../src/model/presets.js';
import { layerGeometries } from '../src/analysis/whatif.js';
import { REFERENCE_NORMALISATION } from '../src/formats/image.js';
import type { ServerPayload } from '../src/threat/payload.js';
import { runCli, tmpDir } from './helpers.js';

const withoutSeconds = (stdout: string) => {
  const { seconds, ...rest } = JSON.parse(stdout) as { seconds: number };
  assert.equal(typeof seconds, 'number');
  return JSON.stringify(rest);
};

/** A worker on this thread: the task goes through a structured clone, as it would to a real worker. */
function cloningWorkers(log: LayerTask[]): SpawnLayerWorker {
  return () => ({
    solve: async (task) => { log.push(task); return runLayerTask(structuredClone(task)); },
    terminate: () => {},
  });
}

function cnnPayload(name: string): { payload: ServerPayload; source: AuditSource } {
  const model = presetGraph(name)!;
  const payload: ServerPayload = {
    model, params: initParams(model, 3), normalisation: REFERENCE_NORMALISATION, bnMode: 'train',
  };
  const [c, h, w] = model.input;
  const data = Float64Array.from({ length: c * h * w }, (_, i) => Math.sin(0.37 * i) / 3);
  return { payload, source: { kind: 'image', image: { shape: [1, c, h, w], data }, label: 2 } };
}

describe('audit on worker threads', () => {
  it('--threads 1 and --threads 2 print the same JSON (seconds aside)', () => {
    const outs = ['1', '2'].map((t) => {
      const r = runCli(['audit', '--model', 'cnn4_c1', '--json', '--threads', t]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      return withoutSeconds(r.stdout);
    });
    assert.equal(outs[1], outs[0]);
    const layers = (JSON.parse(outs[0]) as { layers: { solver: string }[] }).layers;
    assert.ok(layers.filter((l) => l.solver !== 'closed-form').length >= 2, 'several layers solved');
  });

  it('the library: audit() on this thread equals auditOnWorkers, the costliest layer first', async () => {
    const { payload, source } = cnnPayload('cnn4_c1');
    const alone = audit(payload, source);
    const log: LayerTask[] = [];
    const parallel = await auditOnWorkers(payload, source, { spawn: cloningWorkers(log), threads: 2 });
    assert.equal(JSON.stringify(parallel), JSON.stringify(alone));
    assert.ok(log.length >= 2);
    // cnn4_c1's first layer has the largest input, so the largest system: it must not start last
    assert.notEqual(log.at(-1)!.job.system.g.index, 0);
  });

  it('an error inside a worker: exit 2, the one line the single-thread path prints', () => {
    const dir = tmpDir('threads-error');
    // zero weights in layer 0: every weight row joins the gradient rows, a Schur complement past the
    // ceiling that only the solve itself finds out
    const spec = {
      name: 'zeronet', input: [3, 32, 32], layers: [
        { type: 'conv', out: 24, kernel: 5, stride: 2, padding: 2, activation: 'sigmoid' },
        { type: 'conv', out: 4, kernel: 3, stride: 1, padding: 1, activation: 'sigmoid' },
        { type: 'linear', out: 10 }],
    };
    const g = graphFromJson(spec, 'zeronet');
    const params = initParams(g, 0);
    params.get('layers.0.weight')!.fill(0);
    const model = path.join(dir, 'zeronet.json'), weights = path.join(dir, 'zeronet.safetensors');
    fs.writeFileSync(model, JSON.stringify(spec));
    fs.writeFileSync(weights, serializeSafetensors(
      g.params.map((p) => [p.name, { shape: [...p.shape], data: params.get(p.name)! }])));
    const errs = ['1', '2'].map((t) => {
      const r = runCli(
        ['audit', '--model', model, '--weights', weights, '--max-memory', '600M', '--threads', t]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      return r.stderr;
    });
    // one line: `.` does not match a line end
    assert.match(errs[1], /^gradleak: error: layer 0's system .* needs 1012 MiB for a Schur .*\n$/);
    assert.equal(errs[1], errs[0]);
  });

  it('fewer solves at once when the largest ones together pass the ceiling', () => {
    const layers = layerGeometries(presetGraph('LeNet')!);
    const big = concurrentSolves({ layers }, 8, 0, 64 * 2 ** 30);
    assert.deepEqual([big.solves, big.limit], [3, 3], 'LeNet: three solved layers (the last is closed form)');
    const tight = concurrentSolves({ layers }, 2, 0, big.wantedBytes / 2);
    assert.equal(tight.solves, 1);
    assert.equal(concurrentSolves({ layers }, 1, 0, 64 * 2 ** 30).solves, 1);
  });
});
