/**
 * Command lines that are wrong whatever the files say: undeclared options, bad numbers, bad choices,
 * options given twice, positionals, unwritable --out, nonexistent inputs, missing or conflicting
 * required options. Each option mutation starts from the command's valid base invocation.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Rng } from '../../src/core/rng.js';
import { BASE_MODEL, LABEL, SAMPLE, int, pick, type Command, type Context } from './context.js';

/** The hardened CLI's option sets. */
export const DECLARED: Record<Command, string[]> = {
  audit: ['model', 'weights', 'image', 'label', 'gradients', 'seed', 'tol', 'pixel-scale', 'pixel-offset', 'json', 'max-memory', 'debug', 'help'],
  attack: ['method', 'model', 'weights', 'image', 'label', 'gradients', 'target', 'out', 'seed', 'tol', 'iterations', 'budget', 'tv', 'lr', 'pixel-scale', 'pixel-offset', 'json', 'max-memory', 'debug', 'help'],
  compare: ['methods', 'model', 'weights', 'image', 'label', 'gradients', 'target', 'out', 'seed', 'tol', 'iterations', 'budget', 'tv', 'lr', 'pixel-scale', 'pixel-offset', 'json', 'max-memory', 'debug', 'help'],
  simulate: ['model', 'weights', 'image', 'label', 'out', 'save-weights', 'seed', 'pixel-scale', 'pixel-offset', 'max-memory', 'debug', 'help'],
  study: ['models', 'images', 'count', 'methods', 'iterations', 'train-steps', 'train-lr', 'workers', 'seed', 'out', 'max-memory', 'debug', 'help'],
  demo: ['model', 'image', 'label', 'out', 'seed', 'max-memory', 'debug', 'help'],
  models: ['help', 'debug'],
};
export const ALL_OPTIONS = [...new Set(Object.values(DECLARED).flat())].sort();
const FLAGS = new Set(['json', 'debug', 'help']);

/** [option, value] pairs; value null is a flag. */
export type Opt = [string, string | null];

export function toArgv(command: Command, opts: Opt[]): string[] {
  const out: string[] = [command];
  // a value starting with '-' is passed as --opt=value, so it reaches the option's validation
  for (const [k, v] of opts) out.push(...(v === null ? [`--${k}`] : v.startsWith('-') ? [`--${k}=${v}`] : [`--${k}`, v]));
  return out;
}

export interface Base { opts: Opt[]; outputs: string[]; stdout: boolean }

/** Files a successful run of the command leaves (relative to the case folder; --out is <dir>/out). */
export function outputsOf(command: Command): string[] {
  switch (command) {
    case 'attack': return ['out/reconstruction.png', 'out/result.json', 'out/timing.json'];
    case 'compare': return ['out/compare.png', 'out/compare.json', 'out/compare.md', 'out/rgap.png'];
    case 'simulate': return ['g.safetensors'];
    case 'demo': return ['out/demo.png'];
    case 'study': return ['out/results.json', 'out/results.csv', 'out/summary.json', 'out/report.md'];
    default: return [];
  }
}

/** The cheap valid invocation each option mutation starts from. */
export function optionBase(command: Command, dir: string, ctx: Context): Base {
  const out = path.join(dir, 'out');
  const opts: Record<Command, Opt[]> = {
    audit: [['model', BASE_MODEL], ['image', SAMPLE], ['label', LABEL]],
    attack: [['method', 'rgap'], ['model', BASE_MODEL], ['image', SAMPLE], ['label', LABEL], ['out', out]],
    compare: [['methods', 'rgap'], ['model', BASE_MODEL], ['image', SAMPLE], ['label', LABEL], ['out', out]],
    simulate: [['model', BASE_MODEL], ['image', SAMPLE], ['label', LABEL], ['out', path.join(dir, 'g.safetensors')]],
    study: [['models', BASE_MODEL], ['count', '1'], ['methods', 'rgap'], ['workers', '1'], ['images', ctx.imagesDir], ['out', out]],
    demo: [['model', BASE_MODEL], ['image', SAMPLE], ['label', LABEL], ['out', out]],
    models: [],
  };
  return { opts: opts[command], outputs: outputsOf(command), stdout: command === 'audit' || command === 'models' };
}

/** A plausible (valid-looking) value for any option, and a second, different one. */
function plausible(o: string, dir: string, ctx: Context, second = false): string | null {
  if (FLAGS.has(o)) return null;
  const v: Record<string, [string, string]> = {
    model: [BASE_MODEL, 'cnn2_c1'], models: [BASE_MODEL, 'cnn2_c1'], weights: [ctx.fixture.weights, ctx.fixture.weights],
    gradients: [ctx.fixture.gradients, ctx.fixture.gradients], image: [SAMPLE, ctx.fixture.target], target: [SAMPLE, ctx.fixture.target],
    images: [ctx.imagesDir, ctx.imagesDir], label: [LABEL, '4'], seed: ['1', '2'], tol: ['1e-10', '1e-9'], 'pixel-scale': ['1', '2'],
    'pixel-offset': ['-0.5', '0'], out: [path.join(dir, 'out'), path.join(dir, 'out2')], 'save-weights': [path.join(dir, 'w.safetensors'), path.join(dir, 'w2.safetensors')],
    method: ['rgap', 'rgap'], methods: ['rgap', 'rgap'], count: ['1', '1'], iterations: ['10', '20'], budget: ['5', '10'], tv: ['0.01', '0.02'],
    lr: ['0.1', '0.2'], 'train-steps': ['0', '1'], 'train-lr': ['0.01', '0.02'], workers: ['1', '1'], 'max-memory': ['8G', '4G'],
  };
  return v[o][second ? 1 : 0];
}

/** Replaces the option's value in opts, or appends it. */
function withOpt(opts: Opt[], k: string, v: string | null): Opt[] {
  const i = opts.findIndex(([o]) => o === k);
  if (i < 0) return [...opts, [k, v]];
  const copy = [...opts];
  copy[i] = [k, v];
  return copy;
}
const without = (opts: Opt[], ...ks: string[]) => opts.filter(([k]) => !ks.includes(k));

export interface OptionMutation {
  command: Command;
  name: string;
  /** The option concerned (the report's slot column). */
  slot: string;
  param: boolean;
  /** Returns the full argv (after `gradleak`) and a description; may create files in dir. */
  apply(r: Rng, dir: string, ctx: Context): { argv: string[]; detail: string };
}

export const BAD_NUMBERS = ['', ' ', '0x10', 'NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '12abc', 'abc', '1.2.3', '0b101', '1e', '1,5', '１２', '1_000', '+-1', '--5'];
export const BAD_SIZES = ['', ' ', 'abc', '0', '-1G', '-5', 'G', '12XB', 'NaN', 'Infinity', '1e400', '0x10', '0M'];
const INTEGER = new Set(['label', 'seed', 'iterations', 'count', 'train-steps', 'workers']);
const NUMBER = new Set([...INTEGER, 'tol', 'pixel-scale', 'pixel-offset', 'budget', 'tv', 'lr', 'train-lr']);
/** Values out of range by construction (well-formed numbers). */
const OUT_OF_RANGE: Record<string, string[]> = {
  label: ['-1', '10', '1.5', '2147483648'], seed: ['1.5'], iterations: ['0', '-1', '1.5'], count: ['0', '-1', '1.5'],
  'train-steps': ['-1', '1.5'], workers: ['0', '-1', '1.5'], 'pixel-scale': ['0'], budget: ['0', '-1'], lr: ['0', '-1'], 'train-lr': ['0', '-1'],
};
const BAD_CHOICES: Partial<Record<Command, Record<string, string[]>>> = {
  audit: { model: ['', 'nosuchnet', 'cnn2_c0,cnn2_c1'] },
  attack: { method: ['foo', '', 'RGAP', 'rgap,hybrid'], model: ['', 'nosuchnet'] },
  compare: { methods: ['', ',', 'rgap,foo', 'foo'], model: ['', 'nosuchnet'] },
  simulate: { model: ['', 'nosuchnet'] },
  study: { models: ['', 'nosuchnet', `${BASE_MODEL},nosuchnet`, 'sweep:nosuch', ','], methods: ['', 'foo', 'rgap,foo', ','] },
  demo: { model: ['', 'nosuchnet', `${BASE_MODEL},nosuchnet`, ','] },
};

function mutation(command: Command, name: string, slot: string, param: boolean, apply: OptionMutation['apply']): OptionMutation {
  return { command, name, slot, param, apply };
}
const base = (command: Command, dir: string, ctx: Context) => optionBase(command, dir, ctx).opts;

/** Every option mutation for one command (the coverage set), then the randomised ones for filling. */
export function optionMutations(command: Command): { coverage: OptionMutation[]; random: OptionMutation[] } {
  const coverage: OptionMutation[] = [];
  const declared = DECLARED[command];

  // options the command does not declare
  for (const o of ALL_OPTIONS.filter((x) => !declared.includes(x))) {
    coverage.push(mutation(command, 'undeclared-option', `--${o}`, false, (_r, dir, ctx) => {
      const v = plausible(o, dir, ctx);
      return { argv: toArgv(command, [...base(command, dir, ctx), [o, v]]), detail: v === null ? `--${o}` : `--${o} ${v}` };
    }));
  }
  const unknown = ['--bogus', '-x', '--json=yes'];
  for (const u of unknown) {
    if (u === '--json=yes' && !declared.includes('json')) continue;
    coverage.push(mutation(command, 'unknown-option', u, false, (_r, dir, ctx) => ({ argv: [...toArgv(command, base(command, dir, ctx)), u], detail: u })));
  }

  // numbers: every out-of-range value, every malformed string at least once per command
  const numeric = declared.filter((o) => NUMBER.has(o));
  const badValue = (o: string, v: string, name: string) => mutation(command, name, `--${o}`, false, (_r, dir, ctx) => ({
    argv: toArgv(command, withOpt(base(command, dir, ctx), o, v)), detail: `--${o} ${JSON.stringify(v)}`,
  }));
  numeric.forEach((o) => { for (const v of OUT_OF_RANGE[o] ?? []) coverage.push(badValue(o, v, 'out-of-range')); });
  // each malformed string once per command, on options in rotation (so every option gets some)
  BAD_NUMBERS.forEach((v, k) => { if (numeric.length) coverage.push(badValue(numeric[(k + COMMANDS_INDEX[command]) % numeric.length], v, 'malformed-number')); });
  // '', 'abc' and '0' for every command, the other malformed sizes in rotation
  if (declared.includes('max-memory')) {
    const k = COMMANDS_INDEX[command], rest = BAD_SIZES.filter((v) => !['', 'abc', '0'].includes(v));
    for (const v of ['', 'abc', '0', rest[(2 * k) % rest.length], rest[(2 * k + 1) % rest.length]]) coverage.push(badValue('max-memory', v, 'bad-size'));
  }
  for (const [o, vs] of Object.entries(BAD_CHOICES[command] ?? {})) for (const v of vs) coverage.push(badValue(o, v, 'bad-choice'));

  // the same option twice
  for (const o of declared.filter((x) => !FLAGS.has(x))) {
    coverage.push(mutation(command, 'option-twice', `--${o}`, true, (r, dir, ctx) => {
      const same = r.uniform() < 0.5;
      const a = plausible(o, dir, ctx)!, b = plausible(o, dir, ctx, !same)!;
      const opts = without(base(command, dir, ctx), o);
      const at = int(r, 0, opts.length);
      opts.splice(at, 0, [o, a]);
      opts.push([o, b]);
      return { argv: toArgv(command, opts), detail: `--${o} ${a} … --${o} ${b}` };
    }));
  }

  // positionals
  for (const where of ['end', 'after-command', 'after---']) {
    coverage.push(mutation(command, 'positional', where, true, (r, dir, ctx) => {
      const word = pick(r, ['extra', 'x.png', '-', '3', 'out', BASE_MODEL]);
      const argv = toArgv(command, base(command, dir, ctx));
      if (where === 'end') argv.push(word);
      else if (where === 'after-command') argv.splice(1, 0, word);
      else argv.push('--', word);
      return { argv, detail: `${where}: ${JSON.stringify(word)}` };
    }));
  }

  // --out that cannot be written
  const existingFile = (dir: string) => { const f = path.join(dir, 'existing.txt'); fs.writeFileSync(f, 'keep me\n'); return f; };
  if (['attack', 'compare', 'demo', 'study'].includes(command)) {
    const outs: Record<string, (dir: string) => string> = {
      '/proc': () => '/proc/gradleak-fuzz-out',
      'existing-file': existingFile,
      'under-a-file': (dir) => path.join(existingFile(dir), 'sub'),
    };
    for (const [v, f] of Object.entries(outs)) coverage.push(mutation(command, 'unwritable-out', v, false, (_r, dir, ctx) => {
      const out = f(dir);
      return { argv: toArgv(command, withOpt(base(command, dir, ctx), 'out', out)), detail: `--out ${out}` };
    }));
  }
  if (command === 'simulate') {
    const cases: Record<string, (dir: string, opts: Opt[]) => Opt[]> = {
      '/proc': (_d, o) => withOpt(o, 'out', '/proc/gradleak-fuzz.safetensors'),
      'existing-directory': (d, o) => { fs.mkdirSync(path.join(d, 'adir')); return withOpt(o, 'out', path.join(d, 'adir')); },
      'under-a-file': (d, o) => withOpt(o, 'out', path.join(existingFile(d), 'g.safetensors')),
      'save-weights-/proc': (_d, o) => withOpt(o, 'save-weights', '/proc/gradleak-fuzz-w.safetensors'),
      'save-weights-same-as-out': (d, o) => withOpt(o, 'save-weights', path.join(d, 'g.safetensors')),
    };
    for (const [v, f] of Object.entries(cases)) coverage.push(mutation(command, 'unwritable-out', v, false, (_r, dir, ctx) => {
      const opts = f(dir, base(command, dir, ctx));
      return { argv: toArgv(command, opts), detail: opts.filter(([k]) => k === 'out' || k === 'save-weights').map(([k, x]) => `--${k} ${x}`).join(' ') };
    }));
  }

  // inputs that do not exist
  const missing: Record<string, string> = { model: 'missing.json', weights: 'missing.safetensors', gradients: 'missing.safetensors', image: 'missing.png', target: 'missing.png', images: 'missing-folder' };
  for (const o of declared.filter((x) => x in missing)) {
    coverage.push(mutation(command, 'nonexistent-input', `--${o}`, false, (_r, dir, ctx) => {
      let opts = base(command, dir, ctx);
      if (o === 'gradients') opts = without(opts, 'image', 'label');
      return { argv: toArgv(command, withOpt(opts, o, path.join(dir, missing[o]))), detail: `--${o} ${missing[o]}` };
    }));
  }

  // required options missing, or exclusive ones together
  const req: Partial<Record<Command, Record<string, (o: Opt[], ctx: Context) => Opt[]>>> = {
    audit: { 'no --model': (o) => without(o, 'model'), '--image with --gradients': (o, ctx) => [...o, ['gradients', ctx.fixture.gradients]] },
    attack: { 'no --out': (o) => without(o, 'out'), 'no --model': (o) => without(o, 'model'), 'neither --image nor --gradients': (o) => without(o, 'image'), '--image with --gradients': (o, ctx) => [...o, ['gradients', ctx.fixture.gradients]] },
    compare: { 'no --out': (o) => without(o, 'out'), 'no --model': (o) => without(o, 'model'), 'neither --image nor --gradients': (o) => without(o, 'image'), '--image with --gradients': (o, ctx) => [...o, ['gradients', ctx.fixture.gradients]] },
    simulate: { 'no --image': (o) => without(o, 'image'), 'no --out': (o) => without(o, 'out'), 'no --model': (o) => without(o, 'model') },
  };
  for (const [v, f] of Object.entries(req[command] ?? {})) coverage.push(mutation(command, 'required-or-exclusive', v, false, (_r, dir, ctx) => ({
    argv: toArgv(command, f(base(command, dir, ctx), ctx)), detail: v,
  })));

  // randomised, for filling: any numeric option with any malformed or out-of-range value
  const random: OptionMutation[] = coverage.filter((m) => m.param);
  if (numeric.length) {
    random.push(mutation(command, 'malformed-number', '--(random)', true, (r, dir, ctx) => {
      const o = pick(r, numeric), v = pick(r, BAD_NUMBERS);
      return { argv: toArgv(command, withOpt(base(command, dir, ctx), o, v)), detail: `--${o} ${JSON.stringify(v)}` };
    }));
    random.push(mutation(command, 'out-of-range', '--(random)', true, (r, dir, ctx) => {
      const o = pick(r, numeric.filter((x) => x === 'label' || OUT_OF_RANGE[x]));
      const v = o === 'label' ? String(r.uniform() < 0.5 ? int(r, 10, 2 ** 31) : -int(r, 1, 2 ** 31)) : pick(r, OUT_OF_RANGE[o]);
      return { argv: toArgv(command, withOpt(base(command, dir, ctx), o, v)), detail: `--${o} ${v}` };
    }));
  }
  return { coverage, random };
}

const COMMANDS_INDEX: Record<Command, number> = { audit: 0, attack: 1, compare: 2, simulate: 3, study: 4, demo: 5, models: 6 };
