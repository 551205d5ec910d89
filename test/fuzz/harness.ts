/**
 * Runs cases as separate processes under a virtual-memory cap and a timeout, checks the bad-input
 * contract, and summarises. Pure Node; no dependency on src/.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Case, Prepared } from './cases.js';
import { CLI, REFERENCE, ROOT, type Context } from './context.js';

export interface RunOptions {
  /** ulimit -v, in KiB. */
  memoryKb: number;
  timeoutMs: number;
  /** Processes at once for CPU-bound cases. */
  parallel: number;
  /** Keep the folders of failing cases (for reproduction). */
  keepFailures: boolean;
}

export interface Result {
  c: Case;
  prepared: Prepared | null;
  status: number | null;
  signal: string | null;
  timedOut: boolean;
  ms: number;
  stdout: string;
  stderr: string;
  /** Contract violations, most important first; empty when the case passed. */
  problems: string[];
  /** Short outcome for the tables: 'pass' (or 'exit 0 (complete)' / 'exit 2 (clean)' for random cases) or the first problem. */
  outcome: string;
}

const CAP = 1 << 16;
const STACK = /\bat .*\.js:\d+|node:internal/;
const ERROR_LINE = /^gradleak: error: /;

/** Every entry under dir (not following symlinks): path → type and, for small files, a hash. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    let names: string[];
    try { names = fs.readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = path.join(d, n);
      const rel = path.relative(dir, p);
      let s: fs.Stats;
      try { s = fs.lstatSync(p); } catch { continue; }
      if (s.isDirectory()) { out.set(rel, 'dir'); walk(p); }
      else if (s.isFile()) out.set(rel, s.size <= 1 << 22 ? `file ${s.size} ${crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex')}` : `file ${s.size}`);
      else out.set(rel, s.isSymbolicLink() ? 'link' : s.isFIFO() ? 'fifo' : 'other');
    }
  };
  walk(dir);
  return out;
}

function spawnCli(args: string[], cwd: string, opts: RunOptions): Promise<{ status: number | null; signal: string | null; timedOut: boolean; ms: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // set by node --test for its own children
    const t0 = performance.now();
    const child = spawn('/bin/sh', ['-c', 'ulimit -v "$1" || exit 97; shift; exec "$@"', 'sh', String(opts.memoryKb), process.execPath, CLI, ...args], {
      cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env,
    });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', (b: Buffer) => { if (stdout.length < CAP) stdout += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { if (stderr.length < CAP) stderr += b.toString('utf8'); });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, opts.timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, timedOut, ms: performance.now() - t0, stdout, stderr });
    });
  });
}

/** The bad-input contract: exit 2, one `gradleak: error:` line, no stack, nothing written. */
function cleanFailureProblems(stdout: string, stderr: string, before: Map<string, string>, after: Map<string, string>, checkLines = true): string[] {
  const p: string[] = [];
  if (STACK.test(stderr) || STACK.test(stdout)) p.push('stack trace');
  const lines = stderr.replace(/\n$/, '').split('\n');
  if (!checkLines) { /* the exit status is already wrong; the message format is secondary */ }
  else if (stderr.trim() === '') p.push('stderr empty');
  else if (lines.length !== 1) p.push(`stderr has ${lines.length} lines`);
  else if (!ERROR_LINE.test(lines[0])) p.push('stderr line lacks "gradleak: error: "');
  p.push(...writeProblems(before, after, true));
  return p;
}

function writeProblems(before: Map<string, string>, after: Map<string, string>, nothingNew: boolean): string[] {
  const p: string[] = [];
  const tmp = [...after.keys()].filter((k) => path.basename(k).includes('.tmp-'));
  if (tmp.length) p.push(`temporary file left (${tmp[0]})`);
  if (nothingNew) {
    const left = [...after].filter(([k, v]) => !before.has(k) && v !== 'dir' && !path.basename(k).includes('.tmp-')).map(([k]) => k);
    if (left.length) p.push(`output left (${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''})`);
  }
  const changed = [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
  if (changed.length) p.push(`existing file changed or removed (${changed[0]})`);
  return p;
}

function successProblems(prep: Prepared, dir: string, stdout: string, stderr: string, before: Map<string, string>, after: Map<string, string>): string[] {
  const p: string[] = [];
  if (STACK.test(stderr) || STACK.test(stdout)) p.push('stack trace');
  for (const f of prep.outputs) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file) || fs.statSync(file).size === 0) { p.push(`incomplete output (${f} missing)`); break; }
    if (f.endsWith('.json')) { try { JSON.parse(fs.readFileSync(file, 'utf8')); } catch { p.push(`incomplete output (${f} not JSON)`); break; } }
  }
  if (prep.stdout && stdout.trim() === '') p.push('no output on stdout');
  p.push(...writeProblems(before, after, false));
  return p;
}

export async function runCase(c: Case, ctx: Context, opts: RunOptions): Promise<Result> {
  const dir = path.join(ctx.root, 'cases', c.id);
  fs.mkdirSync(dir, { recursive: true });
  let prepared: Prepared | null = null;
  try {
    prepared = c.prepare(dir, ctx);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    const msg = `suite error preparing the case: ${(e as Error).message}`;
    return { c, prepared, status: null, signal: null, timedOut: false, ms: 0, stdout: '', stderr: '', problems: [msg], outcome: 'suite error' };
  }
  const before = snapshot(dir);
  const run = await spawnCli(prepared.args, dir, opts);
  const after = snapshot(dir);
  const problems: string[] = [];
  let outcome: string;
  if (run.timedOut) problems.push(`timeout (${opts.timeoutMs / 1000} s)`);
  else if (run.signal) problems.push(`killed by ${run.signal}`);
  else if (run.status === 97) problems.push('ulimit -v failed');
  if (problems.length === 0) {
    if (c.klass === 'invalid') {
      if (run.status !== 2) problems.push(`exit ${run.status}`);
      problems.push(...cleanFailureProblems(run.stdout, run.stderr, before, after, run.status === 2));
    } else if (c.klass === 'random' && run.status === 2) {
      problems.push(...cleanFailureProblems(run.stdout, run.stderr, before, after));
    } else if (run.status === 0) {
      problems.push(...successProblems(prepared, dir, run.stdout, run.stderr, before, after));
    } else problems.push(`exit ${run.status}`);
  }
  if (problems.length) outcome = problems[0].replace(/ \(.*\)$/, '');
  else outcome = c.klass === 'invalid' ? 'pass' : `exit ${run.status} (${run.status === 0 ? 'complete' : 'clean'})`;
  if (!(problems.length && opts.keepFailures)) fs.rmSync(dir, { recursive: true, force: true });
  return { c, prepared, ...run, problems, outcome };
}

/**
 * Runs every case: CPU-bound ones `parallel` at a time (heavy ones first, so none straggles at the
 * end), blocking ones (FIFOs: no CPU while they wait) all at once beside them.
 */
export async function runAll(cases: Case[], ctx: Context, opts: RunOptions, onResult?: (r: Result) => void): Promise<Result[]> {
  const results = new Map<Case, Result>();
  const run = async (c: Case) => { const r = await runCase(c, ctx, opts); results.set(c, r); onResult?.(r); };
  const blocking = Promise.all(cases.filter((c) => c.blocking).map(run));
  const queue = [...cases.filter((c) => !c.blocking && c.heavy), ...cases.filter((c) => !c.blocking && !c.heavy)];
  let next = 0;
  const worker = async () => { while (next < queue.length) await run(queue[next++]); };
  await Promise.all([blocking, ...Array.from({ length: Math.max(1, opts.parallel) }, worker)]);
  return cases.map((c) => results.get(c)!);
}

// ---------------------------------------------------------------------------------------------
// reporting

/** A command line for humans: temporary root as $T, the repository as ., the fixtures as $REF. */
export function shorten(s: string, r: Result, ctx: Context): string {
  return s.split(path.join(ctx.root, 'cases', r.c.id)).join('$CASE').split(ctx.root).join('$T').split(REFERENCE).join('$REF').split(ROOT + '/').join('');
}

export function commandLine(r: Result, ctx: Context): string {
  if (!r.prepared) return '(not prepared)';
  const short = (a: string) => {
    let s = shorten(a, r, ctx);
    if (s.length > 60) s = `${s.slice(0, 40)}…(${s.length} chars)`;
    return /^[\w./$=,:+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
  };
  return `gradleak ${r.prepared.args.map(short).join(' ')}`;
}

export const firstLine = (s: string): string => {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
};

/** Counts per kind × command × outcome, as aligned text lines. */
export function tally(results: Result[]): string[] {
  const rows = new Map<string, Map<string, number>>();
  for (const r of results) {
    const key = `${r.c.kind.padEnd(12)} ${r.c.command.padEnd(9)}`;
    const m = rows.get(key) ?? new Map<string, number>();
    m.set(r.outcome, (m.get(r.outcome) ?? 0) + 1);
    rows.set(key, m);
  }
  return [...rows.keys()].sort().map((k) => {
    const m = rows.get(k)!;
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    return `${k} ${String(total).padStart(4)}  ${[...m].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o}: ${n}`).join(', ')}`;
  });
}

export interface Group { key: string; count: number; where: Set<string>; ids: string[]; example: Result }

/**
 * Failures grouped by kind, mutation, slot (options: across options) and outcome; largest first.
 * `where` lists the commands (options: command and option or variant) the group covers.
 */
export function groupFailures(results: Result[]): Group[] {
  const groups = new Map<string, Group>();
  for (const r of results.filter((x) => x.problems.length)) {
    const options = r.c.kind === 'options';
    const key = `${r.c.kind}/${r.c.mutation}${options ? '' : ` ${r.c.slot}`} → ${r.outcome}`;
    const g = groups.get(key) ?? { key, count: 0, where: new Set<string>(), ids: [], example: r };
    g.count++;
    g.ids.push(r.c.id);
    g.where.add(options ? `${r.c.command} ${r.c.slot}` : r.c.command);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

export function describeGroups(groups: Group[], ctx: Context, limit = Infinity): string[] {
  const out: string[] = [];
  for (const g of groups.slice(0, limit)) {
    const r = g.example;
    const where = [...g.where];
    out.push(`[${g.count}] ${g.key}: ${where.slice(0, 12).join(', ')}${where.length > 12 ? `, … (${where.length})` : ''}`);
    out.push(`      e.g. ${r.c.id} (${shorten(r.prepared?.detail ?? '', r, ctx)}): ${commandLine(r, ctx)}`);
    if (g.ids.length > 1) out.push(`      cases: ${g.ids.slice(0, 16).join(',')}${g.ids.length > 16 ? ',…' : ''}`);
    out.push(`      → ${r.timedOut ? 'timeout' : r.signal ?? `exit ${r.status}`}, ${Math.round(r.ms)} ms; ${r.problems.join('; ')}; stderr: ${shorten(firstLine(r.stderr), r, ctx) || '(empty)'}`);
  }
  if (groups.length > limit) out.push(`… and ${groups.length - limit} more groups`);
  return out;
}
