import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers.js';

/**
 * The kernel threads' protocol when a helper does not do its part: one that never starts, one whose
 * worker fails to start, one that fails during its slice, helpers asked for after `close`, a spawner
 * that fails for the second helper. The caller must never wait forever, never return a product with a
 * slice missing, and the results must be the same bytes as one thread's. Each case runs in its own
 * process with a time limit, since a caller stuck in Atomics.wait cannot be interrupted from inside.
 */
const LIMIT_MS = 30_000;

const module = (rel: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src', rel)).href);

/** A large convolution (each GEMM ≥ PARALLEL_MIN_MACS, so it is split) through one and two threads. */
const PRELUDE = `
import { createWasmKernels } from ${module('kernels/wasm/index.js')};
import { spawnKernelThread } from ${module('cli/threads.js')};
import { KERNELS_WASM_BASE64 } from ${module('kernels/wasm/binary.js')};
import { fromBase64 } from ${module('formats/base64.js')};
import { Rng } from ${module('core/rng.js')};
const g = { inC: 16, inH: 32, inW: 32, outC: 12, outH: 32, outW: 32, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1 };
const rng = new Rng(9);
const vec = (n) => Float64Array.from({ length: n }, () => rng.normal());
const x = vec(16 * 32 * 32), w = vec(12 * 16 * 9), dz = vec(12 * 32 * 32);
const calls = (k) => [
  k.conv2d(g, 1, x, w, null), k.conv2dInputGrad(g, 1, dz, w), k.conv2dWeightGrad(g, 1, x, dz),
];
const one = calls(createWasmKernels('f64'));
const bytes = (a) => Buffer.from(a.buffer);
const same = (got) => got.every((a, i) => bytes(a).equals(bytes(one[i])));
/** The unshared module (it cannot import the shared memory) and one without the GEMMs. */
const unshared = new WebAssembly.Module(fromBase64(KERNELS_WASM_BASE64));
const empty = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
const exited = [];
/** Node's spawner on another module; the case waits for these workers to end before it ends. */
const spawnWith = (module) => (init) => {
  const worker = spawnKernelThread({ ...init, module });
  worker.ref(); // the case waits for its exit
  exited.push(new Promise((resolve) => worker.on('exit', resolve)));
  return worker;
};
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-threads-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs a case as a module file (workers inherit the parent's flags, so not through --eval). */
interface Outcome { code: number | null; killed: boolean; stdout: string; stderr: string }

function runCase(body: string): Promise<Outcome> {
  const file = path.join(dir, `case-${fs.readdirSync(dir).length}.mjs`);
  fs.writeFileSync(file, PRELUDE + body);
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: LIMIT_MS },
      (error, stdout, stderr) => resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        killed: !!error?.killed, stdout, stderr,
      }));
  });
}

/** The case ended by itself, printed `expected` and no stack trace; returns its stderr. */
async function expectCase(body: string, expected: string): Promise<string> {
  const r = await runCase(body);
  assert.ok(!r.killed, `still running after ${LIMIT_MS} ms (a thread waits forever)\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), expected, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  return r.stderr;
}

describe('kernel threads when a helper does not do its part', { concurrency: true }, () => {
  it('a helper that never starts: the caller runs every slice, same bytes as one thread', async () => {
    await expectCase(`
      const k = createWasmKernels('f64', { count: 2, spawn: () => ({ terminate() {} }) });
      console.log(same(calls(k)) && same(calls(k)));`, 'true');
  });

  it('a helper whose worker fails to start: same bytes, and one warning line instead of a crash', async () => {
    // instantiation fails in the worker
    const stderr = await expectCase(`
      const k = createWasmKernels('f64', { count: 2, spawn: spawnWith(unshared) });
      const ok = same(calls(k));
      await Promise.all(exited);
      console.log(ok && same(calls(k)));`, 'true');
    assert.match(stderr, /^warning: a kernel thread stopped: .+\n$/);
  });

  it('a helper that fails during its slice: the caller throws rather than wait or return a part', async () => {
    // a module without the GEMMs: the helper instantiates, then fails on the first slice it claims
    const stderr = await expectCase(`
      const k = createWasmKernels('f64', { count: 2, spawn: spawnWith(empty) });
      let outcome = 'no failure seen';
      for (const start = Date.now(); Date.now() - start < 20000;) {
        try {
          if (!same(calls(k))) { outcome = 'wrong bytes'; break; }
        } catch (e) { outcome = e.message; break; }
      }
      await Promise.all(exited);
      console.log(outcome);`, 'a kernel thread failed during a GEMM (its worker reports the error)');
    assert.match(stderr, /^warning: a kernel thread stopped: .+\n$/);
  });

  it('close, then more large convolutions: they run on the calling thread, same bytes', async () => {
    await expectCase(`
      const k = createWasmKernels('f64', { count: 2, spawn: spawnKernelThread });
      const before = same(calls(k));
      k.close();
      console.log(before && same(calls(k)) && same(calls(k)));`, 'true');
  });

  it('a spawner that fails for the second of three helpers: the error, then same bytes', async () => {
    await expectCase(`
      let spawned = 0;
      const spawn = (init) => {
        if (++spawned === 2) throw new Error('no more threads');
        return spawnKernelThread(init);
      };
      const k = createWasmKernels('f64', { count: 3, spawn });
      let first;
      try { calls(k); first = 'no error'; } catch (e) { first = e.message; }
      console.log(first, same(calls(k)) && same(calls(k)));
      k.close();`, 'no more threads true');
  });
});
