/**
 * Seeded fuzzing of the CLI's bad-input contract (README, "Commands"): for input that is invalid by
 * construction, every command exits with status 2, prints exactly one `gradleak: error: ` line and
 * no stack trace, leaves --out absent or empty and no `.tmp-` file, within a memory cap and a time
 * limit. Cases run as processes (`sh -c 'ulimit -v …; exec node dist/src/cli/main.js …'`), a pool of
 * os.availableParallelism() at a time (FIFO cases, which block without CPU, wait beside the pool);
 * failures are collected and asserted once, grouped.
 *
 * Case list (test/fuzz/cases.ts): every mutation on every command that reads its input kind, and
 * every option mutation, once (the coverage set), then randomised mutations up to CASES; a separate
 * class of RANDOM_CASES genuinely random mutations (exit 2, or exit 0 with complete outputs); and
 * controls, the valid base invocations, which must succeed. Mutations: test/fuzz/inputs.ts (files),
 * test/fuzz/graphs.ts (graph specs), test/fuzz/options.ts (command lines).
 *
 * Environment: FUZZ_SEED, FUZZ_CASES (invalid cases), FUZZ_RANDOM (random-mutation cases),
 * FUZZ_TIMEOUT_MS, FUZZ_MEMORY_KB, FUZZ_PARALLEL, FUZZ_ONLY=c0012,c0345 (run only those ids),
 * FUZZ_KEEP=1 (keep the temporary folder and failing cases' folders), FUZZ_REPORT=file.json (every
 * result as JSON), FUZZ_CLI (another build's main.js), FUZZ_REFERENCE (fixtures elsewhere than
 * test/fixtures/reference).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { buildCases, type Case } from './fuzz/cases.js';
import { createContext } from './fuzz/context.js';
import { commandLine, describeGroups, firstLine, groupFailures, runAll, shorten, tally, type Result } from './fuzz/harness.js';

const env = (k: string, fallback: number) => (process.env[k] === undefined || process.env[k] === '' ? fallback : Number(process.env[k]));
const SEED = env('FUZZ_SEED', 20240611);
// the coverage set (1036 cases) and as many randomised ones as before the graph mutations came
const CASES = env('FUZZ_CASES', 1072);
const RANDOM_CASES = env('FUZZ_RANDOM', 40);
const TIMEOUT_MS = env('FUZZ_TIMEOUT_MS', 30_000);
const MEMORY_KB = env('FUZZ_MEMORY_KB', 3 * 1024 * 1024);
const PARALLEL = env('FUZZ_PARALLEL', os.availableParallelism());
const KEEP = process.env.FUZZ_KEEP === '1';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-fuzz-'));
after(() => { if (!KEEP) fs.rmSync(root, { recursive: true, force: true }); });

describe(`CLI fuzz (seed ${SEED}, ${CASES} invalid + ${RANDOM_CASES} random cases)`, () => {
  it(`node starts under ulimit -v ${MEMORY_KB} KiB`, () => {
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -v "$1" && exec "$2" -e "new Uint8Array(64 << 20).fill(1)"', 'sh', String(MEMORY_KB), process.execPath], { encoding: 'utf8' });
    assert.equal(r.status, 0, `node does not start under the cap: ${r.stderr}`);
  });

  it('same seed, same cases and same bytes', () => {
    const a = buildCases(SEED, CASES, RANDOM_CASES), b = buildCases(SEED, CASES, RANDOM_CASES);
    const describeCase = (c: Case) => `${c.id} ${c.klass} ${c.kind} ${c.command} ${c.slot} ${c.mutation} ${c.seed}`;
    const all = (s: typeof a) => [...s.invalid, ...s.random].map(describeCase);
    assert.deepEqual(all(a), all(b));
    assert.ok(a.invalid.length >= Math.min(CASES, a.coverage));
    // bytes: prepare a spread of cases twice, in separate folders and contexts
    const sample = (s: typeof a) => [...s.invalid, ...s.random].filter((c, i) => i % 7 === 0 && !c.heavy && !c.blocking && c.mutation !== 'decompression-bomb');
    const digest = (cases: Case[], tag: string) => {
      const base = path.join(root, `determinism-${tag}`);
      const ctx = createContext(base);
      return cases.map((c) => {
        const dir = path.join(base, 'cases', c.id);
        fs.mkdirSync(dir, { recursive: true });
        const p = c.prepare(dir, ctx);
        const h = crypto.createHash('sha256').update(p.args.join('\0').split(base).join('$T')).update(p.detail.split(base).join('$T'));
        const walk = (d: string) => { for (const n of fs.readdirSync(d).sort()) { const f = path.join(d, n); const s = fs.lstatSync(f); h.update(n); if (s.isDirectory()) walk(f); else if (s.isFile()) h.update(fs.readFileSync(f)); } };
        walk(dir);
        fs.rmSync(dir, { recursive: true, force: true });
        return `${c.id} ${h.digest('hex')}`;
      });
    };
    assert.deepEqual(digest(sample(a), 'a'), digest(sample(b), 'b'));
  });

  it('bad input: exit 2, one error line, no stack trace, nothing written; bounded time and memory', async (t) => {
    const ctx = createContext(root);
    const sets = buildCases(SEED, CASES, RANDOM_CASES);
    const only = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(',')) : null;
    const keep = (c: Case) => !only || only.has(c.id);
    const cases = [...sets.controls, ...sets.invalid, ...sets.random].filter((c) => c.klass === 'control' || keep(c));
    const t0 = performance.now();
    const results = await runAll(cases, ctx, { memoryKb: MEMORY_KB, timeoutMs: TIMEOUT_MS, parallel: PARALLEL, keepFailures: KEEP });
    const wall = (performance.now() - t0) / 1000;

    const of = (k: Case['klass']) => results.filter((r) => r.c.klass === k);
    const controls = of('control'), invalid = of('invalid'), random = of('random');
    const failed = (rs: Result[]) => rs.filter((r) => r.problems.length);
    const d = (s: string) => t.diagnostic(s);
    const cpu = results.reduce((a, r) => a + r.ms, 0) / 1000;
    d(`seed ${SEED}: ${invalid.length} invalid cases (${sets.coverage} in the coverage set), ${random.length} random, ${controls.length} controls; ${wall.toFixed(1)} s wall, ${cpu.toFixed(0)} s summed over cases, ${PARALLEL} at a time; cap ${MEMORY_KB} KiB, timeout ${TIMEOUT_MS / 1000} s`);
    if (KEEP) d(`temporary folder kept: ${root}`);
    d('slowest: ' + [...results].sort((x, y) => y.ms - x.ms).slice(0, 5).map((r) => `${r.c.id} ${r.c.kind}/${r.c.mutation} ${r.c.command} ${(r.ms / 1000).toFixed(1)} s`).join('; '));
    d('invalid cases by kind × command (count, outcomes):');
    for (const line of tally(invalid)) d(`  ${line}`);
    if (random.length) {
      d('random mutations (exit 2 clean or exit 0 complete both pass):');
      for (const line of tally(random)) d(`  ${line}`);
    }
    const groups = { controls: groupFailures(controls), invalid: groupFailures(invalid), random: groupFailures(random) };
    const summary: string[] = [];
    if (groups.controls.length) summary.push(`${failed(controls).length} CONTROL(S) FAILED — the valid base invocations must succeed, or the cases built on them prove nothing:`, ...describeGroups(groups.controls, ctx));
    if (groups.invalid.length) summary.push(`${failed(invalid).length} of ${invalid.length} invalid cases broke the contract, in ${groups.invalid.length} groups:`, ...describeGroups(groups.invalid, ctx));
    if (groups.random.length) summary.push(`${failed(random).length} of ${random.length} random-mutation cases failed:`, ...describeGroups(groups.random, ctx));
    for (const line of summary) d(line);

    if (process.env.FUZZ_REPORT) {
      fs.writeFileSync(process.env.FUZZ_REPORT, JSON.stringify(results.map((r) => ({
        id: r.c.id, klass: r.c.klass, kind: r.c.kind, command: r.c.command, slot: r.c.slot, mutation: r.c.mutation, detail: shorten(r.prepared?.detail ?? '', r, ctx),
        cmd: commandLine(r, ctx), status: r.status, signal: r.signal, timedOut: r.timedOut, ms: Math.round(r.ms), outcome: r.outcome, problems: r.problems,
        stderr: shorten(firstLine(r.stderr), r, ctx),
      })), null, 1));
    }
    assert.ok(summary.length === 0, `\n${summary.join('\n')}`);
  });
});
