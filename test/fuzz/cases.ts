/**
 * The case list: one case per (mutation, target) first (coverage), then randomised mutations until
 * the requested count; a small separate class of genuinely random mutations; and controls (the valid
 * base invocations, with inputs written by this suite's own writers), which must succeed for the
 * invalid cases to mean anything.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { BASE_MODEL, COMMANDS, LABEL, SAMPLE, pick, type Command, type Context } from './context.js';
import { INPUT_MUTATIONS, RANDOM_MUTATIONS, TARGETS, type InputKind, type InputMutation, type Made, type Target } from './inputs.js';
import { baseGraph, graphTensors } from './graphs.js';
import { optionBase, optionMutations, outputsOf, toArgv, type Opt, type OptionMutation } from './options.js';
import * as img from './png.js';
import * as st from './safetensors.js';

export type Kind = InputKind | 'options';
/** invalid: exit 2 is the only right answer; random: exit 2 or a complete success; control: must succeed. */
export type Klass = 'invalid' | 'random' | 'control';

export interface Prepared {
  args: string[];
  detail: string;
  /** Files a successful run must leave (random and control classes), relative to the case folder. */
  outputs: string[];
  /** A successful run must print something (audit, models). */
  stdout: boolean;
}

export interface Case {
  id: string;
  klass: Klass;
  kind: Kind;
  command: Command;
  slot: string;
  mutation: string;
  seed: number;
  heavy: boolean;
  blocking: boolean;
  /** Writes the case's inputs into dir (its own folder, also its cwd) and returns the command line. */
  prepare(dir: string, ctx: Context): Prepared;
}

/** Base invocation of an input-kind target with the (mutated) input at `input`. */
function inputBase(
  kind: InputKind, t: Target, input: string, dir: string, ctx: Context, bigImage = false, weights?: string,
): Opt[] {
  const out = path.join(dir, 'out');
  const outOpt: Opt[] = t.command === 'simulate' ? [['out', path.join(dir, 'g.safetensors')]] : t.command === 'audit' ? [] : [['out', out]];
  const method: Opt[] = t.command === 'attack' ? [['method', 'rgap']] : t.command === 'compare' ? [['methods', 'rgap']] : [];
  const f = ctx.fixture;
  if (kind === 'safetensors') {
    if (t.slot === 'weights') return [...method, ['model', f.model], ['weights', input], ['image', f.target], ['label', LABEL], ...outOpt];
    return [...method, ['model', f.model], ['weights', f.weights], ['gradients', input], ...outOpt];
  }
  if (kind === 'spec') return [...method, ['model', input], ['image', bigImage ? ctx.bigImage() : SAMPLE], ['label', LABEL], ...outOpt];
  if (kind === 'graph') {
    // rgap refuses any graph that is not a chain (the base has a residual add); ig runs on all
    const ig: Opt[] = t.command === 'attack' ? [['method', 'ig'], ['iterations', '2']] : [];
    const w: Opt[] = weights ? [['weights', weights]] : [];
    return [...ig, ['model', input], ...w, ['image', SAMPLE], ['label', LABEL], ...outOpt];
  }
  if (t.slot === 'images') return [['models', BASE_MODEL], ['count', '1'], ['methods', 'rgap'], ['workers', '1'], ['images', input], ['out', out]];
  if (t.slot === 'target') return [...method, ['model', BASE_MODEL], ['image', SAMPLE], ['label', LABEL], ['target', input], ...outOpt];
  return [...method, ['model', BASE_MODEL], ['image', input], ['label', LABEL], ...outOpt];
}

/** Creates the mutated input in dir; returns the path to pass on the command line. */
function placeInput(made: Made, t: Target, dir: string): string {
  const write = (file: string) => {
    const c = made.content;
    if (typeof c === 'string' || c instanceof Uint8Array) fs.writeFileSync(file, c);
    else if (c.special === 'dir') fs.mkdirSync(file);
    else if (c.special === 'devzero') fs.symlinkSync('/dev/zero', file);
    else if (c.special === 'fifo') execFileSync('mkfifo', [file]);
    else if (c.special === 'spaces') {
      const fd = fs.openSync(file, 'w');
      fs.writeSync(fd, c.prefix);
      const block = Buffer.alloc(1 << 20, 0x20);
      for (let left = c.size; left > 0; left -= block.length) fs.writeSync(fd, block, 0, Math.min(left, block.length));
      fs.closeSync(fd);
    }
  };
  if (t.slot === 'images') {
    const folder = path.join(dir, 'images');
    fs.mkdirSync(folder);
    const c = made.content;
    if (typeof c === 'object' && !(c instanceof Uint8Array) && c.special === 'folder') {
      for (const [name, data] of Object.entries(c.files)) fs.writeFileSync(path.join(folder, name), data);
    } else write(path.join(folder, `a.${made.ext ?? 'png'}`));
    return folder;
  }
  const c = made.content;
  if (typeof c === 'object' && !(c instanceof Uint8Array) && c.special === 'devzero') return '/dev/zero';
  const file = path.join(dir, `input.${made.ext ?? 'safetensors'}`);
  write(file);
  return file;
}

function inputCase(id: string, klass: Klass, m: InputMutation, t: Target, seed: number): Case {
  return {
    id, klass, kind: m.kind, command: t.command, slot: `--${t.slot}`, mutation: m.name, seed,
    heavy: !!m.heavy, blocking: !!m.blocking,
    prepare(dir, ctx) {
      const made = m.make(new Rng(seed), ctx, t);
      const input = placeInput(made, t, dir);
      const weights = made.weights && path.join(dir, 'weights.safetensors');
      if (weights) fs.writeFileSync(weights, made.weights!);
      const args = toArgv(t.command, inputBase(m.kind, t, input, dir, ctx, made.bigImage, weights));
      return { args, detail: made.detail, outputs: outputsOf(t.command), stdout: t.command === 'audit' };
    },
  };
}

function optionCase(id: string, m: OptionMutation, seed: number): Case {
  return {
    id, klass: 'invalid', kind: 'options', command: m.command, slot: m.slot, mutation: m.name, seed, heavy: false, blocking: false,
    prepare(dir, ctx) {
      const { argv, detail } = m.apply(new Rng(seed), dir, ctx);
      return { args: argv, detail, outputs: [], stdout: false };
    },
  };
}

/** The valid base invocations, each with inputs made by this suite's writers: they must succeed. */
export function controlCases(): Case[] {
  const out: Case[] = [];
  const add = (kind: Kind, command: Command, slot: string, mutation: string, prepare: Case['prepare']) =>
    out.push({ id: `control-${out.length}`, klass: 'control', kind, command, slot, mutation, seed: 0, heavy: false, blocking: false, prepare });
  const input = (kind: InputKind, name: string, ext: string, content: (ctx: Context) => Uint8Array | string, targets = TARGETS[kind]) => {
    for (const t of targets) add(kind, t.command, `--${t.slot}`, name, (dir, ctx) => {
      const where = placeInput({ detail: name, content: content(ctx), ext }, t, dir);
      return { args: toArgv(t.command, inputBase(kind, t, where, dir, ctx)), detail: name, outputs: outputsOf(t.command), stdout: t.command === 'audit' };
    });
  };
  input('safetensors', 'rewritten fixture', 'safetensors', (ctx) => st.writeTensors(ctx.weights), TARGETS.safetensors.filter((t) => t.slot === 'weights'));
  input('safetensors', 'rewritten fixture', 'safetensors', (ctx) => st.writeTensors(ctx.gradients), TARGETS.safetensors.filter((t) => t.slot === 'gradients'));
  input('spec', 'fixture spec as compact JSON', 'json', (ctx) => JSON.stringify(ctx.spec));
  input('graph', 'base graph spec', 'json', () => st.jsonText(baseGraph()));
  // the graph-weights mutations start from these tensors: they must fit the base graph
  for (const t of TARGETS.graph) {
    add('graph', t.command, `--${t.slot}`, 'base graph spec with weights', (dir, ctx) => {
      const spec = { detail: 'base graph', content: st.jsonText(baseGraph()), ext: 'json' };
      const weights = path.join(dir, 'weights.safetensors');
      fs.writeFileSync(weights, st.writeTensors(graphTensors(new Rng(1))));
      const where = placeInput(spec, t, dir);
      const args = toArgv(t.command, inputBase('graph', t, where, dir, ctx, false, weights));
      return { args, detail: spec.detail, outputs: outputsOf(t.command), stdout: t.command === 'audit' };
    });
  }
  input('image', 'own PNG encoder, 32×32 RGB', 'png', () => img.encodePng(32, 32, 2));
  input('image', 'own PNG encoder, 32×32 grey', 'png', () => img.encodePng(32, 32, 0), [{ command: 'attack', slot: 'image' }, { command: 'study', slot: 'images' }]);
  input('image', 'jpeg-js, 32×32', 'jpg', (ctx) => ctx.jpeg, [{ command: 'attack', slot: 'image' }, { command: 'study', slot: 'images' }]);
  input('image', 'bomb construction without the bomb', 'png', () => img.bombPng(0), [{ command: 'attack', slot: 'image' }]);
  input('image', 'own PNG encoder, 31×32 (study resamples)', 'png', () => img.encodePng(31, 32, 2), [{ command: 'study', slot: 'images' }]);
  for (const command of COMMANDS) add('options', command, '-', 'base invocation', (dir, ctx) => {
    const b = optionBase(command, dir, ctx);
    return { args: toArgv(command, b.opts), detail: 'base', outputs: b.outputs, stdout: b.stdout };
  });
  return out;
}

export interface CaseSets { invalid: Case[]; random: Case[]; controls: Case[]; coverage: number }

/** Kind weights for filling beyond the coverage set. */
const FILL_WEIGHTS: [Kind, number][] = [
  ['safetensors', 0.3], ['spec', 0.2], ['graph', 0.1], ['image', 0.25], ['options', 0.15],
];

/**
 * Same seed, same list (and, through each case's seed, same bytes). `count` invalid cases: the
 * coverage set (every mutation on every target it applies to, every option mutation) first, then
 * randomised mutations; below the coverage size, a seeded sample of it.
 */
export function buildCases(seed: number, count: number, randomCount: number): CaseSets {
  const r = new Rng(seed);
  const pad = (n: number) => String(n).padStart(4, '0');
  type Pending = { m: InputMutation; t: Target } | { o: OptionMutation };
  const coverage: Pending[] = [];
  for (const m of INPUT_MUTATIONS) for (const t of TARGETS[m.kind]) if (!m.applies || m.applies(t)) coverage.push({ m, t });
  const optionRandom: OptionMutation[] = [];
  for (const c of COMMANDS) {
    const { coverage: cov, random } = optionMutations(c);
    for (const o of cov) coverage.push({ o });
    optionRandom.push(...random);
  }
  let chosen: Pending[] = coverage;
  if (count < coverage.length) {
    const idx = coverage.map((_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); [idx[i], idx[j]] = [idx[j], idx[i]]; }
    chosen = idx.slice(0, count).sort((a, b) => a - b).map((i) => coverage[i]);
  } else {
    const pool: Record<Kind, Pending[]> = {
      safetensors: [], spec: [], graph: [], image: [], options: optionRandom.map((o) => ({ o })),
    };
    for (const m of INPUT_MUTATIONS) if (m.param) for (const t of TARGETS[m.kind]) if (!m.applies || m.applies(t)) pool[m.kind].push({ m, t });
    chosen = [...coverage];
    while (chosen.length < count) {
      let u = r.uniform(), kind: Kind = 'options';
      for (const [k, w] of FILL_WEIGHTS) { if (u < w) { kind = k; break; } u -= w; }
      chosen.push(pick(r, pool[kind]));
    }
  }
  const invalid = chosen.map((p, i) => ('o' in p ? optionCase(`c${pad(i)}`, p.o, r.nextU32()) : inputCase(`c${pad(i)}`, 'invalid', p.m, p.t, r.nextU32())));
  const randomPool: { m: InputMutation; t: Target }[] = [];
  for (const m of RANDOM_MUTATIONS) for (const t of TARGETS[m.kind]) randomPool.push({ m, t });
  const random = Array.from({ length: randomCount }, (_, i) => {
    const { m, t } = pick(r, randomPool);
    return inputCase(`r${pad(i)}`, 'random', m, t, r.nextU32());
  });
  return { invalid, random, controls: controlCases(), coverage: coverage.length };
}
