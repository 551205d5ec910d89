import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, runCli, skipOutsideCi, tmpDir } from './helpers.js';

const SAMPLE = path.join(ROOT, 'samples/hills.png');

function sources(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

describe('structure', () => {
  it('no module-level mutable state in src/: caches are objects their owners pass', () => {
    // top-level `let`, or a top-level binding to a new, empty or growable container
    const mutable = /^(export )?(let |var |const \w+(: [^=]+)? = (new (Map|Set|WeakMap|WeakSet|Array)\b|\[\]|\{\}))/;
    const found = sources('src').flatMap((f) => fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n')
      .map((line, i) => ({ f, i: i + 1, line })).filter(({ line }) => mutable.test(line)));
    assert.deepEqual(found.map(({ f, i, line }) => `${f}:${i}: ${line}`), []);
  });

  // a committed link (a worktree's node_modules once) replaces the ignored directory on merge
  it('no tracked path is a symbolic link', (t) => {
    if (!fs.existsSync(path.join(ROOT, '.git'))) {
      t.skip('not a git checkout (an exported tree has no tracked paths to check)');
      return;
    }
    const r = spawnSync('git', ['ls-files', '-s'], { cwd: ROOT, encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      skipOutsideCi(t, `git ls-files did not run here (${r.error?.message ?? r.stderr.trim()})`);
      return;
    }
    const entries = r.stdout.split('\n').filter(Boolean);
    assert.ok(entries.length > 100, `${entries.length} tracked files`);
    const links = entries.filter((l) => l.startsWith('120000 ')).map((l) => l.split('\t')[1]);
    assert.deepEqual(links, []);
  });

  it('the scan would see such state (it is not vacuous)', () => {
    const mutable = /^(export )?(let |var |const \w+(: [^=]+)? = (new (Map|Set|WeakMap|WeakSet|Array)\b|\[\]|\{\}))/;
    for (const line of ['const cache: Entry[] = [];', 'let calls = 0;', 'const spanCache = new WeakMap<A, B>();', 'export const memo = {};']) assert.ok(mutable.test(line), line);
  });

  it("the library: import { audit } from 'gradleak', typed", () => {
    const d = tmpDir('consumer');
    fs.mkdirSync(path.join(d, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(d, 'node_modules', 'gradleak'), 'dir');
    fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.writeFileSync(path.join(d, 'use.ts'), [
      "import { audit, initParams, presetGraph, REFERENCE_NORMALISATION, type AuditResult, type ServerPayload } from 'gradleak';",
      "const model = presetGraph('cnn2_c2')!;",
      "const payload: ServerPayload = { model, params: initParams(model, 0), normalisation: REFERENCE_NORMALISATION, bnMode: 'train' };",
      "const image = { shape: [1, 3, 32, 32], data: new Float64Array(3 * 32 * 32).map((_, i) => Math.sin(i) / 4) };",
      "const result: AuditResult = audit(payload, { kind: 'image', image, label: 1 });",
      "console.log(result.copaIndex);",
    ].join('\n'));
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'use.ts'], { cwd: d, encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    const run = spawnSync(process.execPath, ['use.js'], { cwd: d, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '-1470');
  });

  it('every method: same inputs and seed, same result.json and PNG bytes', () => {
    for (const method of ['rgap', 'hybrid', 'copa', 'ig', 'ig-whole', 'dlg']) {
      const outs = [tmpDir(`det-${method}-a`), tmpDir(`det-${method}-b`)];
      for (const d of outs) {
        const r = runCli(['attack', '--method', method, '--model', 'cnn3_c1', '--image', SAMPLE, '--iterations', '40', '--seed', '5', '--out', d]);
        assert.equal(r.status, 0, r.stderr);
      }
      for (const f of ['result.json', 'reconstruction.png']) {
        assert.ok(fs.readFileSync(path.join(outs[0], f)).equals(fs.readFileSync(path.join(outs[1], f))), `${method} ${f}`);
      }
    }
  });
});
