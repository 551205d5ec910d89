// Wall time of one study run locally and on the queue with 1, 2 and 4 worker processes (each taking one
// cell at a time), on a Redis started here on a free loopback port; every run into a fresh folder.
// Needs redis-server and /usr/bin/time (Debian's time).
//   npm run build && node scripts/queue-timing.mjs [--models cnn2_c2,cnn3_c1,cnn4_c1] [--count 4]
//     [--methods rgap,hybrid] [--iterations 500] [--workers 1,2,4]
// Each configuration runs twice, in turns, and the faster is kept (the machine may be shared; each run's
// load average is printed). Prints a Markdown table: seconds, cells per second, the speed-up against the
// local one-thread run, the time each cell costs more on one queue worker than on one local thread, and
// the queue's own round trip per job (no computation).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const study = ['study', '--models', arg('models', 'cnn2_c2,cnn3_c1,cnn4_c1'), '--count', arg('count', '4'),
  '--methods', arg('methods', 'rgap,hybrid'), '--iterations', arg('iterations', '500'), '--out', 'out'];
const workerCounts = arg('workers', '1,2,4').split(',').map(Number);

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 500));

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
/** CPU seconds (user + system, all threads) a running process has used, from /proc. */
const cpuOf = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
};

/** Wall and CPU seconds of one coordinator (or local) run (under /usr/bin/time); the cell count. */
function timed(extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-queue-timing-'));
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', 'cpu.txt', process.execPath, CLI, ...study, ...extra],
    { cwd: dir, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${extra.join(' ')}: ${r.stderr}`);
  const cells = Number(/(\d+) cells in out/.exec(r.stdout)[1]);
  const [user, system] = fs.readFileSync(path.join(dir, 'cpu.txt'), 'utf8').trim().split(' ').map(Number);
  fs.rmSync(dir, { recursive: true, force: true });
  return { seconds, cells, cpu: user + system };
}

/** `n` worker processes, started and ready (their startup is not timed: workers wait for studies). */
async function workers(n) {
  const procs = Array.from({ length: n }, () => spawn(process.execPath,
    [CLI, 'worker', '--queue', url, '--concurrency', '1'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  await Promise.all(procs.map((p) => new Promise((resolve) => {
    let text = '';
    p.stderr.on('data', (b) => { text += b; if (/taking cells/.test(text)) resolve(); });
  })));
  return procs;
}

/** The queue alone: `n` jobs with a cnn3_c1 cell's payload, answered at once by one worker. */
async function roundTrips(n) {
  const { Queue, Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const { toWire, fromWire } = await import('../dist/src/cli/queue/codec.js');
  const connections = [0, 1].map(() => new Redis(url, { maxRetriesPerRequest: null }));
  const queue = new Queue('gradleak-timing', { connection: connections[0] });
  const cell = { key: 'k', model: 'cnn3_c1', input: new Float64Array(3 * 32 * 32).fill(0.25), seed: 0 };
  const worker = new Worker('gradleak-timing', async (job) => ({ result: toWire(fromWire(job.data)) }),
    { connection: connections[1] });
  const t0 = performance.now();
  await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'study', data: toWire({ ...cell, key: `k${i}` }) })));
  let collected = 0;
  while (collected < n) {
    for (const job of await queue.getJobs(['completed'])) {
      fromWire(job.returnvalue.result);
      await job.remove();
      collected++;
    }
  }
  const ms = (performance.now() - t0) / n;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  for (const c of connections) c.disconnect();
  return ms;
}

// each configuration twice, in turns, and the faster kept: other work on the machine only slows a run
const configs = [['local study, 1 thread', ['--workers', '1'], 0],
  [`local study, ${os.availableParallelism()} threads (default)`, [], 0],
  ...workerCounts.map((n) => [`--queue, ${n} worker process(es)`, ['--queue', url], n])];
const best = new Map();
for (const round of [1, 2]) {
  for (const [name, extra, n] of configs) {
    const procs = n ? await workers(n) : [];
    const idle = procs.map((p) => cpuOf(p.pid));
    const before = load();
    const r = timed(extra);
    // the workers' CPU while the study ran counts with the coordinator's
    r.cpu += procs.reduce((sum, p, i) => sum + cpuOf(p.pid) - idle[i], 0);
    console.error(`round ${round}: ${name}: ${r.seconds.toFixed(1)} s, ${r.cpu.toFixed(1)} CPU s `
      + `(load average ${before})`);
    if (!best.has(name) || best.get(name).seconds > r.seconds) best.set(name, r);
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((resolve) => p.on('exit', resolve))));
  }
}
const trip = await roundTrips(500);
redis.kill('SIGTERM');
const rows = [...best];

const base = rows[0][1];
console.log(`${study.join(' ')} (${base.cells} cells), ${os.cpus().length} cores\n`);
console.log('| run | wall s | CPU s (all processes) | cells/s | speed-up vs local 1 thread |');
console.log('|---|---|---|---|---|');
for (const [name, r] of rows) {
  console.log(`| ${name} | ${r.seconds.toFixed(1)} | ${r.cpu.toFixed(1)} | ${(r.cells / r.seconds).toFixed(2)} | `
    + `${(base.seconds / r.seconds).toFixed(2)}× |`);
}
const one = rows.find(([name]) => name.startsWith('--queue, 1 '));
if (one) {
  const per = (x) => ((x / base.cells) * 1000).toFixed(0);
  console.log(`\nper-job overhead (queue with 1 worker − local with 1 thread, per cell): `
    + `wall ${per(one[1].seconds - base.seconds)} ms, CPU ${per(one[1].cpu - base.cpu)} ms`);
}
console.log(`the queue alone: ${trip.toFixed(1)} ms a job (add, take, answer, collect, remove; 500 jobs `
  + 'with a cnn3_c1 cell\'s payload, one worker)');
