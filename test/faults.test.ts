import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, ROOT, runCli, tmpDir } from './helpers.js';

const SAMPLE = path.join(ROOT, 'samples/hills.png');

/** The id of a process that has exited (a fresh one, so its id is not reused yet). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const leftovers = (dir: string): string[] =>
  (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.tmp-\d+$/.test(f));

/** Starts the CLI; resolves with its exit once `ready()` holds and `signal` was sent. */
function interrupt(args: string[], signal: NodeJS.Signals, ready: () => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const poll = setInterval(() => { if (ready()) { clearInterval(poll); child.kill(signal); } }, 50);
  return new Promise((resolve) => child.on('exit', (code, sig) => { clearInterval(poll); resolve({ code, signal: sig, stderr }); }));
}

describe('faults', () => {
  it('temporary files of dead processes are removed by the next run into the folder; live ones are kept', () => {
    const d = tmpDir('stale');
    const dead = path.join(d, `result.json.tmp-${deadPid()}`);
    const live = path.join(d, `result.json.tmp-${process.pid}`);
    fs.mkdirSync(path.join(d, 'reconstructions', 'cnn2_c1'), { recursive: true });
    const deep = path.join(d, 'reconstructions', 'cnn2_c1', `blobs.png.rgap.png.tmp-${deadPid()}`);
    for (const f of [dead, live, deep]) fs.writeFileSync(f, 'half-written');
    const r = runCli(['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', d]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(dead), 'the dead process\'s temporary is gone');
    assert.ok(fs.existsSync(live), 'a live process\'s temporary is kept');
    assert.ok(fs.existsSync(deep), 'attack cleans its own folder only');
    const s = runCli(['study', '--models', 'cnn2_c1', '--count', '1', '--methods', 'rgap', '--out', d]);
    assert.equal(s.status, 0, s.stderr);
    assert.ok(!fs.existsSync(deep), 'the study cleans its reconstructions too');
    assert.match(s.stderr, /removed .*blobs\.png\.rgap\.png\.tmp-\d+, left by an interrupted run/);
  });

  it('a torn journal line is set aside, its cell recomputed once, and later rows stay readable', () => {
    const d = tmpDir('torn');
    const args = ['study', '--models', 'cnn2_c1', '--count', '3', '--methods', 'rgap', '--workers', '1', '--out', d];
    assert.equal(runCli(args).status, 0);
    const journal = path.join(d, 'results.jsonl');
    const lines = fs.readFileSync(journal, 'utf8').split('\n');
    assert.equal(lines.length, 4); // three rows and the final newline
    const cut = lines[2].slice(0, 40); // a kill while the last row was being appended
    fs.writeFileSync(journal, `${lines[0]}\n${lines[1]}\n${cut}`);
    const r = runCli(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /set aside 1 unreadable journal line\(s\) in .*results\.torn\.jsonl; their cells run again/);
    assert.match(r.stderr, /2 already done, 1 to run/);
    assert.equal(fs.readFileSync(path.join(d, 'results.torn.jsonl'), 'utf8'), `${cut}\n`);
    const rows = fs.readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((x) => x.image), ['blobs.png', 'face.png', 'hills.png']);
    assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8')).length, 3);
    const again = runCli(args);
    assert.match(again.stderr, /3 already done, 0 to run/);
    assert.doesNotMatch(again.stderr, /set aside/);
  });

  it('SIGTERM stops a study with its finished cells kept; the next run resumes', async () => {
    const d = tmpDir('sigterm');
    const journal = path.join(d, 'results.jsonl');
    const args = ['study', '--models', 'cnn3_c1', '--count', '3', '--methods', 'rgap,ig', '--iterations', '1200', '--workers', '1', '--out', d];
    const r = await interrupt(args, 'SIGTERM', () => fs.existsSync(journal) && fs.readFileSync(journal, 'utf8').length > 0);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /study: stopped by SIGTERM; \d finished cells are kept in .*results\.jsonl: run the same command to resume/);
    const kept = fs.readFileSync(journal, 'utf8');
    assert.ok(kept.endsWith('\n'));
    const n = kept.trim().split('\n').map((l) => JSON.parse(l)).length;
    assert.ok(n >= 1 && n < 3, `${n} cells kept`);
    assert.deepEqual(leftovers(d), []);
    assert.ok(!fs.existsSync(path.join(d, 'results.json')), 'no summary of an interrupted study');
    const resumed = runCli(args);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`${n} already done, ${3 - n} to run`));
  });

  it('SIGINT during an attack leaves nothing in --out', async () => {
    const d = path.join(tmpDir('sigint'), 'out');
    const t0 = performance.now();
    const r = await interrupt(['attack', '--method', 'ig', '--model', 'cnn3_c1', '--image', SAMPLE, '--iterations', '1000000', '--out', d], 'SIGINT', () => performance.now() - t0 > 1500);
    assert.ok(r.signal === 'SIGINT' || r.code === 130, `exit ${r.code} ${r.signal}`);
    assert.ok(!fs.existsSync(d) || fs.readdirSync(d).length === 0);
  });
});
