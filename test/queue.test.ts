import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildIdentity, refusal, refusingBuild, TEST_BUILD_ENV } from '../src/cli/queue/build.js';
import { fromWire, toWire } from '../src/cli/queue/codec.js';
import { jobFeed } from '../src/cli/queue/coordinator.js';
import { jobId } from '../src/cli/queue/jobs.js';
import { assertCleanFailure, CLI, expectCleanFailure, runCli, skipOutsideCi, tmpDir } from './helpers.js';

const REDIS = '/usr/bin/redis-server';

/** A free loopback port (taken and given back: a race with other programs is possible, not likely). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

/**
 * Runs the CLI in the background (with `env` added to this process's), collecting its stderr;
 * `waitFor` resolves when a line matches.
 */
function background(args: string[], cwd?: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args],
    { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = { out: '', err: '' };
  child.stdout!.on('data', (b: Buffer) => { log.out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { log.err += b.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, seconds = 120) => new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (pattern.test(log.err)) { clearInterval(timer); clearTimeout(limit); resolve(); }
    }, 20);
    const limit = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`no ${pattern} in ${seconds} s; stderr: ${log.err}`));
    }, seconds * 1000);
    // a waiter that lost a race (Promise.any) keeps nothing alive
    timer.unref();
    limit.unref();
  });
  return { child, log, exited, waitFor };
}

/** The results without their times (seconds of the audit and of each method), which differ per run. */
function timeless(json: string): unknown {
  return JSON.parse(json, (k, v) => (k === 'seconds' || k === 'auditSeconds' ? undefined : v));
}

/** Every file of the two folders is the same, results.* and the journal compared without times. */
function assertSameOutputs(local: string, queued: string): void {
  const files = (d: string) => (fs.readdirSync(d, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
  assert.deepEqual(files(queued), files(local));
  for (const f of files(local)) {
    const [a, b] = [local, queued].map((d) => fs.readFileSync(path.join(d, f), 'utf8'));
    if (f === 'results.json') assert.deepEqual(timeless(b), timeless(a), f);
    else if (f === 'results.jsonl') {
      const rows = (t: string) => t.trim().split('\n').map((l) => timeless(l) as { key: string })
        .sort((x, y) => x.key.localeCompare(y.key));
      assert.deepEqual(rows(b), rows(a), f);
    } else if (f === 'results.csv') {
      // the study's CSV has a seconds column per method and auditSeconds: drop them
      const cut = (t: string) => {
        const lines = t.trim().split('\n').map((l) => l.split(','));
        const keep = lines[0].map((h, i) => (/seconds/i.test(h) ? -1 : i)).filter((i) => i >= 0);
        return lines.map((l) => keep.map((i) => l[i]).join(','));
      };
      assert.deepEqual(cut(b), cut(a), f);
    } else if (f !== 'timing.json') {
      assert.ok(fs.readFileSync(path.join(local, f)).equals(fs.readFileSync(path.join(queued, f))), f);
    }
  }
}

describe('queue: codec and feed', () => {
  it('carries float64 arrays bit for bit and maps, through JSON', () => {
    const x = new Float64Array([0, -0, 1 / 3, Number.MIN_VALUE, -1e308, NaN, Infinity]);
    const cell = { key: 'k', input: x.subarray(1), weights: new Map([['w', x]]), spec: { nodes: [{ out: 3 }] } };
    const back = fromWire(JSON.parse(JSON.stringify(toWire(cell)))) as typeof cell;
    assert.deepEqual(new Uint8Array(back.input.buffer), new Uint8Array(x.slice(1).buffer));
    assert.ok(back.weights instanceof Map);
    assert.deepEqual(new Uint8Array(back.weights.get('w')!.buffer), new Uint8Array(x.buffer));
    assert.deepEqual(back.spec, cell.spec);
    assert.throws(() => fromWire({ $f64: 'AAAA' }), /cut short/);
  });

  it('the feed keeps a bounded amount queued, skips collected cells and retries a failed add', async () => {
    // ten cells of equal size; room for 2.5 cells' bytes (so 3 are queued), at least 2 jobs
    const cells = Array.from({ length: 10 }, (_, i) => ({ key: `c${i}`, input: new Float64Array(100).fill(i) }));
    const owner = { task: 'study', scope: '/out', build: 'b' } as const;
    const pending = new Map(cells.map((c) => [jobId(owner, c.key), c.key]));
    pending.delete(jobId(owner, 'c3')); // journalled by an earlier coordinator
    const added: string[] = [];
    const fail = { next: false };
    const queue = {
      addBulk: async (jobs: { data: { key: string } }[]) => {
        if (fail.next) { fail.next = false; throw new Error('connection lost'); }
        added.push(...jobs.map((j) => j.data.key));
        return [];
      },
    } as unknown as Parameters<typeof jobFeed>[0];
    const size = JSON.stringify({ scope: '/out', key: 'c0', build: 'b', cell: toWire(cells[0]) }).length;
    const feed = jobFeed(queue, owner, cells, pending, { bytes: 2.5 * size, jobs: 2 });
    await feed.topUp();
    assert.deepEqual(added, ['c0', 'c1', 'c2']);
    feed.collected(jobId(owner, 'c0'));
    fail.next = true;
    await assert.rejects(feed.topUp(), /connection lost/);
    await feed.topUp();
    assert.deepEqual(added, ['c0', 'c1', 'c2', 'c4'], 'c3 is skipped; the failed add is made again');
    for (const k of ['c1', 'c2', 'c4']) feed.collected(jobId(owner, k));
    await feed.topUp();
    assert.deepEqual(added.slice(4), ['c5', 'c6', 'c7']);
  });
});

describe('queue: build identity', () => {
  it('hashes the built code\'s .js files with the version; declarations and other files do not count', () => {
    const pkg = tmpDir('queue-build-id');
    const root = path.join(pkg, 'dist/src');
    fs.mkdirSync(path.join(root, 'ops'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), '{"version":"9.8.7"}');
    fs.writeFileSync(path.join(root, 'index.js'), 'export const a = 1;\n');
    fs.writeFileSync(path.join(root, 'ops/conv.js'), 'export const b = 2;\n');
    fs.writeFileSync(path.join(root, 'index.d.ts'), 'export declare const a: 1;\n');
    const first = buildIdentity(root);
    assert.match(first, /^9\.8\.7\+[0-9a-f]{12}$/);
    assert.equal(buildIdentity(root), first, 'the same bytes, the same build');
    fs.writeFileSync(path.join(root, 'index.d.ts'), 'export declare const a: number;\n');
    fs.writeFileSync(path.join(root, 'notes.txt'), 'not code');
    assert.equal(buildIdentity(root), first, 'declarations and other files do not count');
    fs.writeFileSync(path.join(root, 'ops/conv.js'), 'export const b = 3;\n');
    const changed = buildIdentity(root);
    assert.notEqual(changed, first, 'one byte of one module changes the build');
    fs.renameSync(path.join(root, 'ops/conv.js'), path.join(root, 'ops/conv2.js'));
    assert.notEqual(buildIdentity(root), changed, 'so does a module\'s path');
    fs.rmSync(path.join(pkg, 'package.json'));
    assert.match(buildIdentity(root), /^unknown\+[0-9a-f]{12}$/);
    // this repository's own build, and the override that tests (only) use
    assert.match(buildIdentity(), /^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    process.env[TEST_BUILD_ENV] = 'test-build';
    try {
      assert.equal(buildIdentity(root), 'test-build');
    } finally {
      delete process.env[TEST_BUILD_ENV];
    }
  });

  it('a refusal names both builds, and the coordinator reads the worker\'s back', () => {
    const reason = refusal('0.1.0+aaaaaaaaaaaa', '0.1.0+bbbbbbbbbbbb');
    assert.match(reason, /0\.1\.0\+aaaaaaaaaaaa.*0\.1\.0\+bbbbbbbbbbbb/);
    assert.equal(refusingBuild(reason), '0.1.0+bbbbbbbbbbbb');
    assert.match(refusal(undefined, 'w'), /not stated/);
    assert.equal(refusingBuild(refusal(undefined, 'w')), 'w');
    assert.equal(refusingBuild('the audit needs 3 GiB, above the 2.0 MiB memory ceiling'), undefined);
    assert.equal(refusingBuild(undefined), undefined);
  });
});

describe('queue', () => {
  const redis: { process?: ChildProcess; url: string } = { url: '' };
  const absent = !fs.existsSync(REDIS);
  before(async () => {
    if (absent) return;
    const port = await freePort();
    redis.process = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    redis.url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); }).on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not listen on ${port}`);
  });
  after(() => { redis.process?.kill('SIGTERM'); });
  const needRedis = (t: TestContext) => {
    if (absent) skipOutsideCi(t, `no ${REDIS}: install Debian's redis-server (.ci/run does)`);
    return !absent;
  };
  // the smallest study with an audit and an attack per cell: ~1–2 s a cell
  const STUDY = ['study', '--models', 'cnn3_c1', '--methods', 'rgap', '--out', 'out'];
  /** The study of `count` cells in `dir` again, with one worker of this build: the rest of it runs. */
  const rerunWithWorker = (dir: string, count: number, done: number) => {
    const w = background(['worker', '--queue', redis.url, '--concurrency', '1']);
    try {
      const again = runCli([...STUDY, '--count', String(count), '--queue', redis.url], dir);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stderr, new RegExp(`${done} already done, ${count - done} to run`));
    } finally {
      w.child.kill('SIGKILL');
    }
  };

  it('bad --queue, --workers beside it, and an unreachable Redis: one line, exit 2, journal intact', async () => {
    const out = path.join(tmpDir('queue-bad'), 'o');
    expectCleanFailure(['study', '--models', 'cnn3_c1', '--queue', 'http://x:1'], /redis:\/\/ or rediss:\/\//, out);
    expectCleanFailure(['study', '--models', 'cnn3_c1', '--queue', 'redis://h:1/x'], /database "x" is not a number/, out);
    expectCleanFailure(['study', '--models', 'cnn3_c1', '--workers', '2', '--queue', 'redis://h:1'],
      /--workers counts this machine's threads/, out);
    assertCleanFailure(runCli(['worker']), /--queue redis:\/\/HOST:PORT is required/);
    // a study with one finished cell, resumed against a port nobody listens on
    const d = tmpDir('queue-down');
    const first = runCli([...STUDY, '--count', '1'], d);
    assert.equal(first.status, 0, first.stderr);
    const journal = fs.readFileSync(path.join(d, 'out/results.jsonl'));
    const results = fs.readFileSync(path.join(d, 'out/results.json'));
    const down = `redis://:secret@127.0.0.1:${await freePort()}`;
    const r = runCli([...STUDY, '--count', '2', '--queue', down], d);
    // the study's opening line, then the error
    assert.match(r.stderr.split('\n')[0], /1 already done, 1 to run on the queue at redis:\/\/:\*\*\*@/);
    assertCleanFailure({ ...r, stderr: r.stderr.split('\n').slice(1).join('\n') },
      /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    assert.doesNotMatch(r.stderr, /secret/);
    assert.ok(fs.readFileSync(path.join(d, 'out/results.jsonl')).equals(journal), 'the journal as it was');
    assert.ok(fs.readFileSync(path.join(d, 'out/results.json')).equals(results), 'no output rewritten');
    assertCleanFailure(runCli(['worker', '--queue', down, '--concurrency', '1']), /cannot reach Redis/);
    const resumed = runCli([...STUDY, '--count', '2'], d);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /1 already done, 1 to run/);
  });

  it('study: a worker killed mid-cell and the coordinator killed and restarted; outputs as a local run', async (t) => {
    if (!needRedis(t)) return;
    const [local, queued] = [tmpDir('queue-local'), tmpDir('queue-study')];
    const l = runCli([...STUDY, '--count', '3'], local);
    assert.equal(l.status, 0, l.stderr);
    const worker = () => background(['worker', '--queue', redis.url, '--concurrency', '1', '--stall-seconds', '2']);
    const a = worker();
    const coordinator = background([...STUDY, '--count', '3', '--queue', redis.url], queued);
    await a.waitFor(/worker: study cell /);
    a.child.kill('SIGKILL');
    assert.equal(await a.exited, null, 'killed');
    assert.doesNotMatch(a.log.err, /done/, 'killed mid-cell');
    const killedKey = /study cell (\S+)/.exec(a.log.err)![1];
    const others = [worker(), worker()];
    try {
      // the coordinator is killed once it has journalled a cell; the rest finish while it is away
      await coordinator.waitFor(/study: 1\/3 /);
      coordinator.child.kill('SIGKILL');
      await coordinator.exited;
      const again = runCli([...STUDY, '--count', '3', '--queue', redis.url], queued);
      assert.equal(again.status, 0, again.stderr);
      // one cell journalled (two, if the other workers finished together), the killed worker's still out
      const [, done, toRun] = /(\d) already done, (\d) to run on the queue at redis:\/\/127\.0\.0\.1:\d+/
        .exec(again.stderr)!.map(Number);
      assert.ok(done >= 1 && done + toRun === 3 && toRun >= 1, again.stderr);
      assert.match(again.stderr, /1 cell\(s\) ran more than once/);
      // the workers' lines arrive once runCli (synchronous) lets the event loop go
      const rerun = new RegExp(`study cell ${killedKey.replace(/[|.]/g, '\\$&')} \\(run 2\\)`);
      await Promise.any(others.map((w) => w.waitFor(rerun, 10)));
      assertSameOutputs(path.join(local, 'out'), path.join(queued, 'out'));
      const journal = fs.readFileSync(path.join(queued, 'out/results.jsonl'), 'utf8').trim().split('\n');
      assert.equal(journal.length, 3, 'each cell once');
    } finally {
      for (const w of others) w.child.kill('SIGKILL');
    }
  });

  it('a cell that fails on its input fails at once, is listed with its error, and a rerun retries it', async (t) => {
    if (!needRedis(t)) return;
    const d = tmpDir('queue-fail');
    // a worker whose memory ceiling no cell fits under: the audit refuses, on any worker alike
    const small = background(['worker', '--queue', redis.url, '--concurrency', '1', '--max-memory', '2M']);
    try {
      const r = runCli([...STUDY, '--count', '1', '--queue', redis.url], d);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /study: cell cnn3_c1\|blobs\.png\|\S+ failed: .*above the 2\.0 MiB memory ceiling/);
      await small.waitFor(/worker: cell \S+ failed/); // (its output arrives once runCli lets go)
      assert.equal((small.log.err.match(/study cell /g) ?? []).length, 1, 'no retry');
    } finally {
      small.child.kill('SIGKILL');
    }
    rerunWithWorker(d, 1, 0);
  });

  it('a worker of another build refuses the job at once; the coordinator stops with one line, journal intact',
    async (t) => {
      if (!needRedis(t)) return;
      const d = tmpDir('queue-build');
      const first = runCli([...STUDY, '--count', '1'], d);
      assert.equal(first.status, 0, first.stderr);
      const journal = fs.readFileSync(path.join(d, 'out/results.jsonl'));
      const results = fs.readFileSync(path.join(d, 'out/results.json'));
      const other = background(['worker', '--queue', redis.url, '--concurrency', '1'], undefined,
        { [TEST_BUILD_ENV]: 'test-other-build' });
      try {
        await other.waitFor(/worker: build test-other-build, taking cells/);
        const r = runCli([...STUDY, '--count', '2', '--queue', redis.url], d);
        assert.match(r.stderr.split('\n')[0], /1 already done, 1 to run on the queue/);
        assertCleanFailure({ ...r, stderr: r.stderr.split('\n').slice(1).join('\n') }, new RegExp(
          'a worker runs gradleak build test-other-build, '
          + 'not this coordinator\'s \\d+\\.\\d+\\.\\d+\\+[0-9a-f]{12}, '
          + 'and refused cell cnn3_c1\\|.*run one build everywhere'));
        assert.ok(fs.readFileSync(path.join(d, 'out/results.jsonl')).equals(journal), 'the journal as it was');
        assert.ok(fs.readFileSync(path.join(d, 'out/results.json')).equals(results), 'no output rewritten');
        await other.waitFor(new RegExp('worker: cell \\S+ failed: refused: another gradleak build: the job\'s '
          + '\\(its coordinator\'s\\) is \\d+\\.\\d+\\.\\d+\\+[0-9a-f]{12}, this worker\'s is test-other-build'));
        assert.equal((other.log.err.match(/ failed: /g) ?? []).length, 1, 'refused once, not retried');
        assert.doesNotMatch(other.log.err, /study cell /, 'nothing computed');
      } finally {
        other.child.kill('SIGKILL');
      }
      // with a worker of this build, the same command runs the refused cell
      rerunWithWorker(d, 2, 1);
    });

  it('defend: the same sweep on the queue writes what a local run writes; SIGTERM stops a worker cleanly',
    async (t) => {
      if (!needRedis(t)) return;
      const [local, queued] = [tmpDir('queue-defend-local'), tmpDir('queue-defend')];
      const args = ['defend', '--model', 'cnn3_c1', '--defence', 'prune:0.5', '--methods', 'rgap', '--count', '2',
        '--out', 'out'];
      const l = runCli(args, local);
      assert.equal(l.status, 0, l.stderr);
      const w = background(['worker', '--queue', redis.url, '--concurrency', '2']);
      try {
        const q = runCli([...args, '--queue', redis.url], queued);
        assert.equal(q.status, 0, q.stderr);
        assertSameOutputs(path.join(local, 'out'), path.join(queued, 'out'));
      } finally {
        w.child.kill('SIGTERM');
      }
      assert.equal(await w.exited, 0, w.log.err);
      assert.match(w.log.err, /worker: stopped by SIGTERM; finishing the 0 cell\(s\) in hand/);
    });
});
