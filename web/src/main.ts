import './style.css';
import type { AuditReport } from '../../src/app/audit.js';
import type { DefendRow } from '../../src/defend/cell.js';
import { decodeImage, type Bitmap } from '../../src/formats/image.js';
import { canvasBitmap, byId, drawBitmap, el, fillTable } from './dom.js';
import { CancelledRun, spawnAppWorker, WorkerHost } from './host.js';
import type { FileBytes, Inputs, JobResult, NamedFile, ProgressMessage } from './protocol.js';
import type { SweepRequest } from './sweep.js';
import { SAMPLE_NAMES, sampleBytes, sampleSet } from './samples.js';

/**
 * The page: the user's choices become a job for a long-lived worker (host.ts), which runs it through
 * the application layer the CLI uses; the page shows progress, the live reconstruction and the
 * results, and offers them as downloads. Files are read with the File API; nothing is fetched.
 */

/** What the page holds between runs (one object, made in start()). */
interface PageState {
  host: WorkerHost;
  /** Extra workers for the defence sweep's cells. */
  sweepHosts: WorkerHost[];
  image: { source: string; bitmap: Bitmap } | null;
  files: { model?: FileBytes; weights?: FileBytes; gradients?: FileBytes };
  /** The result's files as object URLs: revoked when the next result's replace them. */
  downloads: { name: string; url: string }[];
  running: boolean;
  /** The presets and attacks, as the worker's core knows them (the page does not load the core). */
  presets: { name: string; kind: string }[];
  attacks: { name: string; description: string }[];
}

const DEFAULT_METHOD = 'rgap';
const DEFAULT_COMPARE = ['rgap', 'hybrid', 'ig'];
const BREAK_PSNR = 18;

async function start(): Promise<void> {
  const host = new WorkerHost(spawnAppWorker);
  const catalogue = await host.run({ kind: 'catalogue' });
  if (catalogue.kind !== 'catalogue') return;
  const state: PageState = {
    host, sweepHosts: [], image: null, files: {}, downloads: [], running: false,
    presets: catalogue.presets, attacks: catalogue.attacks,
  };
  setUpControls(state);
  // controls work from here on (a test or a script waits for this)
  document.body.dataset.ready = '';
  applyLink(state);
}

function setUpControls(state: PageState): void {
  const preset = byId<HTMLSelectElement>('preset');
  for (const { name, kind } of state.presets) {
    preset.appendChild(el('option', `${name} (${kind})`, { value: name }));
  }
  preset.value = 'cnn3_c1';
  const sample = byId<HTMLSelectElement>('sample');
  for (const n of SAMPLE_NAMES) sample.appendChild(el('option', n, { value: n }));
  const method = byId<HTMLSelectElement>('method');
  const compare = byId('compare-methods');
  for (const a of state.attacks) {
    method.appendChild(el('option', a.name, { value: a.name, title: a.description }));
    const box = el('input', undefined, { type: 'checkbox', value: a.name, name: 'compare' });
    box.checked = DEFAULT_COMPARE.includes(a.name);
    const label = el('label');
    label.append(box, ` ${a.name}`);
    compare.appendChild(label);
  }
  method.value = DEFAULT_METHOD;

  preset.onchange = () => {
    state.files.model = undefined;
    byId<HTMLInputElement>('model-file').value = '';
    noteModel(state);
  };
  sample.onchange = () => chooseSample(state, sample.value);
  fileInput('model-file', (f) => { state.files.model = f; noteModel(state); });
  fileInput('weights-file', (f) => { state.files.weights = f; noteModel(state); });
  fileInput('gradients-file', (f) => { state.files.gradients = f; noteModel(state); });
  fileInput('image-file', (f) => {
    try {
      setImage(state, f.name, decodeImage(f.bytes, `image ${f.name}`));
    } catch (e) {
      status((e as Error).message, true);
    }
  });
  setUpDrawing(state);
  byId('run-audit').onclick = () => void runJob(state, 'audit');
  byId('run-attack').onclick = () => void runJob(state, method.value);
  byId('run-compare').onclick = () => void runJob(state, 'compare');
  byId('run-defend').onclick = () => void runJob(state, 'defend');
  byId('cancel').onclick = () => cancel(state);
  chooseSample(state, SAMPLE_NAMES[0]);
}

function fileInput(id: string, use: (f: FileBytes) => void): void {
  const input = byId<HTMLInputElement>(id);
  input.onchange = async () => {
    const file = input.files?.[0];
    if (file) use({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  };
}

function noteModel(state: PageState): void {
  const f = state.files;
  const parts = [f.model ? `model ${f.model.name}` : `preset ${byId<HTMLSelectElement>('preset').value}`,
    f.weights ? `weights ${f.weights.name}` : 'seeded weights',
    f.gradients ? `attacking the update in ${f.gradients.name}` : 'gradleak plays the client on the image'];
  byId('model-note').textContent = parts.join(' · ');
}

function chooseSample(state: PageState, name: string): void {
  const bytes = sampleBytes(name);
  if (bytes) setImage(state, name, decodeImage(bytes, `sample ${name}`));
}

function setImage(state: PageState, source: string, bitmap: Bitmap): void {
  state.image = { source, bitmap };
  drawBitmap(byId<HTMLCanvasElement>('target'), bitmap);
  byId('target-caption').textContent =
    `${source}, ${bitmap.width}×${bitmap.height} (fitted to the model's input)`;
}

function setUpDrawing(state: PageState): void {
  const canvas = byId<HTMLCanvasElement>('draw');
  const ctx = canvas.getContext('2d')!;
  const clear = () => { ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  clear();
  const paint = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * canvas.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * canvas.height);
    ctx.fillStyle = byId<HTMLInputElement>('draw-colour').value;
    ctx.fillRect(x - 1, y - 1, 3, 3);
  };
  canvas.onpointerdown = (e) => { canvas.setPointerCapture(e.pointerId); paint(e); };
  canvas.onpointermove = (e) => { if (e.buttons) paint(e); };
  byId('draw-clear').onclick = clear;
  byId('draw-use').onclick = () => setImage(state, 'drawing', canvasBitmap(canvas));
}

/** Deep links: ?model=cnn3_c1&image=hills&run=audit (or rgap, …, compare, defend), and the run's options. */
function applyLink(state: PageState): void {
  const q = new URLSearchParams(location.search);
  const model = q.get('model'), image = q.get('image'), run = q.get('run');
  if (model && state.presets.some((p) => p.name === model)) byId<HTMLSelectElement>('preset').value = model;
  if (image && SAMPLE_NAMES.includes(image)) {
    byId<HTMLSelectElement>('sample').value = image;
    chooseSample(state, image);
  }
  for (const k of ['label', 'seed', 'iterations'] as const) {
    const v = q.get(k);
    if (v !== null && /^\d+$/.test(v)) byId<HTMLInputElement>(k).value = v;
  }
  const defences = q.get('defences');
  if (defences) byId<HTMLInputElement>('defences').value = defences;
  byId<HTMLInputElement>('adaptive').checked = q.get('adaptive') === '1';
  const methods = q.get('methods');
  if (methods) for (const b of document.querySelectorAll<HTMLInputElement>('input[name=compare]')) {
    b.checked = methods.split(',').includes(b.value);
  }
  noteModel(state);
  if (run && (['audit', 'compare', 'defend'].includes(run) || state.attacks.some((a) => a.name === run))) {
    if (state.attacks.some((a) => a.name === run)) byId<HTMLSelectElement>('method').value = run;
    void runJob(state, run);
  }
}

/** The link that reproduces a run on a preset and a bundled image (own files cannot be linked). */
function shareLink(run: string, inputs: Inputs): void {
  if (!('preset' in inputs.model) || !inputs.image || !SAMPLE_NAMES.includes(inputs.image.source)) return;
  const q = new URLSearchParams({ model: inputs.model.preset, image: inputs.image.source, run });
  if (inputs.label) q.set('label', String(inputs.label));
  if (inputs.seed) q.set('seed', String(inputs.seed));
  const it = byId<HTMLInputElement>('iterations').value;
  if (it) q.set('iterations', it);
  if (adaptive()) q.set('adaptive', '1');
  history.replaceState(null, '', `?${q}`);
}

function inputs(state: PageState): Inputs {
  const f = state.files;
  const num = (id: string) => Math.max(0, Math.floor(Number(byId<HTMLInputElement>(id).value) || 0));
  return {
    model: f.model ? { file: f.model } : { preset: byId<HTMLSelectElement>('preset').value },
    ...(f.weights ? { weights: f.weights } : {}), ...(f.gradients ? { gradients: f.gradients } : {}),
    ...(state.image ? { image: state.image } : {}), label: num('label'), seed: num('seed'),
  };
}

function iterations(): number | undefined {
  const v = Number(byId<HTMLInputElement>('iterations').value);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** The attacker knows the update's declared defences (attack/defend --adaptive). */
function adaptive(): boolean {
  return byId<HTMLInputElement>('adaptive').checked;
}

async function runJob(state: PageState, run: string): Promise<void> {
  if (state.running) return;
  const job = inputs(state);
  shareLink(run, job);
  setRunning(state, true);
  status(`${run}: starting…`);
  const t0 = performance.now();
  try {
    if (run === 'defend') await runSweep(state, job);
    else if (run === 'audit') showAudit(state, await state.host.run({ kind: 'audit', inputs: job }, progress));
    else if (run === 'compare') {
      const boxes = document.querySelectorAll<HTMLInputElement>('input[name=compare]:checked');
      const methods = [...boxes].map((b) => b.value);
      const compare = {
        kind: 'compare' as const, inputs: job, methods, iterations: iterations(), adaptive: adaptive(),
      };
      showCompare(state, await state.host.run(compare, progress));
    } else {
      prepareAttackView(state);
      const attack = {
        kind: 'attack' as const, inputs: job, method: run, iterations: iterations(), adaptive: adaptive(),
      };
      showAttack(state, await state.host.run(attack,
        (p) => { progress(p); livePreview(p); }));
    }
    setRunning(state, false);
    status(`${run}: done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    document.body.dataset.done = run;
  } catch (e) {
    setRunning(state, false);
    if (e instanceof CancelledRun) status(`${run}: cancelled`);
    else status(`${run}: ${e instanceof Error ? e.message : String(e)}`, true);
    // a test or a script waits for this: what the last run ended with
    document.body.dataset.done = e instanceof CancelledRun ? 'cancelled' : 'error';
  }
}

function setRunning(state: PageState, running: boolean): void {
  state.running = running;
  delete document.body.dataset.done;
  for (const id of ['run-audit', 'run-attack', 'run-compare', 'run-defend']) {
    byId<HTMLButtonElement>(id).disabled = running;
  }
  byId<HTMLButtonElement>('cancel').disabled = !running;
  if (running) byId<HTMLProgressElement>('progress').removeAttribute('value');
  else byId<HTMLProgressElement>('progress').value = 0;
}

function cancel(state: PageState): void {
  state.host.cancel();
  for (const h of state.sweepHosts) h.cancel();
}

function status(text: string, error = false): void {
  const s = byId('status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

function progress(p: ProgressMessage): void {
  const bar = byId<HTMLProgressElement>('progress');
  bar.max = Math.max(1, p.total);
  bar.value = p.step;
  status(`${p.step}/${p.total} ${p.message}${p.psnr !== undefined ? ` · PSNR ${p.psnr.toFixed(2)} dB` : ''}`);
}

function livePreview(p: ProgressMessage): void {
  if (p.preview) drawBitmap(byId<HTMLCanvasElement>('reconstruction'), p.preview);
  if (p.psnr !== undefined) byId('psnr').textContent = p.psnr.toFixed(2);
}

function showOnly(view: string): void {
  for (const v of ['audit-view', 'attack-view', 'compare-view', 'defend-view']) byId(v).hidden = v !== view;
  // the curve shows one of the downloads' URLs, revoked with them: a hidden view lets go of it
  if (view !== 'defend-view') byId<HTMLImageElement>('defend-curve').removeAttribute('src');
}

/** The result's files as links; the previous result's URLs are revoked (the page holds no other). */
function offerDownloads(state: PageState, files: NamedFile[]): void {
  for (const d of state.downloads) URL.revokeObjectURL(d.url);
  const box = byId('downloads');
  box.replaceChildren(el('span', 'Download: '));
  state.downloads = files.map((f) => {
    const type = f.name.endsWith('.png') ? 'image/png' : f.name.endsWith('.svg') ? 'image/svg+xml' : 'text/plain';
    const url = URL.createObjectURL(new Blob([f.data as BlobPart], { type }));
    box.appendChild(el('a', f.name, { href: url, download: f.name }));
    return { name: f.name, url };
  });
}

const INDEX_MEANING = 'The security index (Chen & Campbell) adds up each layer\'s rank deficiency (how many of '
  + 'its unknowns its equations leave undetermined), weighted more the nearer the layer is to the input. '
  + '0: every layer is determined and the layer-wise attack recovers the image exactly; the more negative, '
  + 'the more of the input these gradients leave open to an attacker '
  + '(the bars: each layer\'s undetermined share).';

function showAudit(state: PageState, r: JobResult): void {
  if (r.kind !== 'audit') return;
  const a = r.report;
  showOnly('audit-view');
  document.body.dataset.seconds = String(r.seconds);
  const index = byId('security-index');
  index.textContent = String(a.copaIndex);
  index.dataset.value = String(a.copaIndex);
  byId('index-meaning').textContent = `${INDEX_MEANING} Normalised index ${a.normalisedIndex.toFixed(4)}, `
    + `structural index ${a.structuralIndex}; label ${a.label}${a.labelInferred ? ' (inferred)' : ''}. `
    + `${a.warnings.join(' ')}`;
  fillTable(byId<HTMLTableElement>('audit-table'),
    ['layer', 'type', 'unknowns', 'weight', 'gradient', 'padding', 'rank', 'deficiency', 'structural',
      'condition'],
    a.layers.map((l) => [String(l.index), l.type, String(l.unknowns), String(l.weightConstraints),
      String(l.gradientConstraints), String(l.paddingConstraints), String(l.rank), String(l.rankDeficiency),
      String(l.structuralRank), Number.isFinite(l.condition) ? l.condition.toExponential(1) : 'inf']));
  byId('deficiency-chart').replaceChildren(deficiencyChart(a));
  offerDownloads(state, r.files);
}

/** Bars of each layer's undetermined fraction of its unknowns (−deficiency / unknowns). */
function deficiencyChart(a: AuditReport): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const barW = 36, gap = 10, h = 120, top = 18, width = a.layers.length * (barW + gap) + gap;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${h + top + 20}`);
  svg.setAttribute('width', String(width));
  const text = (x: number, y: number, s: string) => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(x)); t.setAttribute('y', String(y));
    t.setAttribute('font-size', '11'); t.setAttribute('text-anchor', 'middle');
    t.textContent = s;
    svg.appendChild(t);
  };
  a.layers.forEach((l, i) => {
    const f = l.unknowns ? -l.rankDeficiency / l.unknowns : 0;
    const x = gap + i * (barW + gap), bh = Math.max(1, f * h);
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', String(x)); rect.setAttribute('y', String(top + h - bh));
    rect.setAttribute('width', String(barW)); rect.setAttribute('height', String(bh));
    rect.setAttribute('fill', f > 0 ? '#c0392b' : '#2e8b57');
    svg.appendChild(rect);
    text(x + barW / 2, top + h - bh - 4, `${Math.round(100 * f)}%`);
    text(x + barW / 2, top + h + 14, `L${l.index}`);
  });
  return svg;
}

function prepareAttackView(state: PageState): void {
  showOnly('attack-view');
  const target = byId<HTMLCanvasElement>('attack-target');
  if (state.image && !state.files.gradients) drawBitmap(target, state.image.bitmap);
  const recon = byId<HTMLCanvasElement>('reconstruction');
  recon.getContext('2d')?.clearRect(0, 0, recon.width, recon.height);
  for (const id of ['psnr', 'ssim']) byId(id).textContent = '—';
  byId('attack-note').textContent = '';
  showCrowd([], null, null);
}

function showAttack(state: PageState, r: JobResult): void {
  if (r.kind !== 'attack') return;
  const a = r.attack, res = a.result as { psnr?: number; ssim?: number; method: string; label?: number;
    labelInferred?: boolean; labels?: number[]; labelsInferred?: boolean; iterations?: number;
    warnings: string[]; crowd?: number;
    pairs?: { reconstruction: number }[] };
  document.body.dataset.seconds = String(a.seconds);
  if (a.target) drawBitmap(byId<HTMLCanvasElement>('attack-target'), a.target);
  // of a batch or a crowd, the reconstruction matched to the target (the PSNR's), else the first
  const matched = res.pairs?.[0]?.reconstruction ?? null;
  drawBitmap(byId<HTMLCanvasElement>('reconstruction'), a.bitmaps[matched ?? 0]);
  showCrowd(a.bitmaps, res.crowd ?? null, matched);
  const psnr = byId('psnr');
  psnr.textContent = res.psnr !== undefined ? res.psnr.toFixed(2) : '—';
  if (res.psnr !== undefined) psnr.dataset.value = String(res.psnr);
  byId('ssim').textContent = res.ssim !== undefined ? res.ssim.toFixed(4) : '—';
  byId('recon-caption').textContent = `${res.method} reconstruction`
    + (a.bitmaps.length < 2 ? '' : matched === null ? ' 0' : ` ${matched} (the closest to the target)`);
  const labels = res.labels ? `labels ${res.labels.join(', ')}${res.labelsInferred ? ' (inferred)' : ''}`
    : `label ${res.label ?? '—'}${res.labelInferred ? ' (inferred)' : ''}`;
  byId('attack-note').textContent = labels
    + `${res.iterations !== undefined ? `, ${res.iterations} iterations` : ''}, ${a.seconds.toFixed(2)} s. `
    + res.warnings.join(' ');
  offerDownloads(state, a.files);
}

/**
 * Every reconstruction when there are several: the batch's images, or the whole crowd of a secure-
 * aggregation sum (`crowd` clients), which the adaptive attack reconstructs at once; `matched` is the
 * one the PSNR is of (null without a target).
 */
function showCrowd(bitmaps: Bitmap[], crowd: number | null, matched: number | null): void {
  const box = byId('crowd'), grid = byId('crowd-grid');
  box.hidden = bitmaps.length < 2;
  grid.replaceChildren();
  if (box.hidden) return;
  byId('crowd-note').textContent = crowd !== null
    ? `Secure aggregation: the update is the sum of ${crowd} clients' updates, and the adaptive attack `
      + `reconstructs all ${crowd} images${matched === null ? '.' : '; the PSNR is of the one closest to the '
      + 'client\'s image.'}`
    : `The batch's ${bitmaps.length} images, in the attack's order.`;
  bitmaps.forEach((b, i) => {
    const caption = `${i}${i === matched ? ' · closest' : ''}`;
    const fig = el('figure');
    const canvas = el('canvas', undefined, { class: 'pixels', 'aria-label': `reconstruction ${caption}` });
    drawBitmap(canvas, b);
    fig.append(canvas, el('figcaption', caption));
    grid.appendChild(fig);
  });
}

function showCompare(state: PageState, r: JobResult): void {
  if (r.kind !== 'compare') return;
  showOnly('compare-view');
  const grid = byId('compare-grid');
  grid.replaceChildren();
  const cell = (b: Bitmap, caption: string) => {
    const fig = el('figure'), canvas = el('canvas', undefined, { class: 'pixels big', 'aria-label': caption });
    drawBitmap(canvas, b);
    fig.append(canvas, el('figcaption', caption));
    grid.appendChild(fig);
  };
  if (r.target) cell(r.target, 'target');
  r.shown.forEach((s, i) => {
    const row = r.rows[i];
    cell(s.bitmap, `${s.method}${row.psnr !== undefined ? ` · ${row.psnr.toFixed(1)} dB` : ''}`);
  });
  const f = (x: number | undefined, d: number) => (x === undefined ? '—' : x.toFixed(d));
  fillTable(byId<HTMLTableElement>('compare-table'), ['method', 'PSNR dB', 'SSIM', 'seconds', 'iterations'],
    r.rows.map((x) => [
      x.method, f(x.psnr, 2), f(x.ssim, 3), x.seconds.toFixed(2), String(x.iterations ?? '—'),
    ]));
  offerDownloads(state, r.files);
}

/** The defence sweep: the plan's cells on the page's workers, then the summary and its curve. */
async function runSweep(state: PageState, job: Inputs): Promise<void> {
  const split = (id: string, by: string) =>
    byId<HTMLInputElement>(id).value.split(by).map((s) => s.trim()).filter(Boolean);
  const sweep: SweepRequest = {
    inputs: job, specs: split('defences', ';'), methods: split('defend-methods', ','), adaptive: adaptive(),
    population: sampleSet(), iterations: iterations(), threshold: BREAK_PSNR, maxBytes: 2 ** 31,
  };
  const plan = await state.host.run({ kind: 'sweep-plan', sweep });
  if (plan.kind !== 'sweep-plan') return;
  const workers = Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1));
  while (state.sweepHosts.length < workers - 1) state.sweepHosts.push(new WorkerHost(spawnAppWorker));
  const hosts = [state.host, ...state.sweepHosts.slice(0, workers - 1)];
  const done: { row: DefendRow; reconstruction: Float64Array }[] = [];
  const queue = [...plan.cells];
  const bar = byId<HTMLProgressElement>('progress');
  bar.max = plan.cells.length;
  await Promise.all(hosts.map(async (host) => {
    for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) {
      const r = await host.run({ kind: 'cell', cell });
      if (r.kind !== 'cell') continue;
      done.push(r.result);
      bar.value = done.length;
      const row = r.result.row;
      status(`${done.length}/${plan.cells.length} cells · ${row.defence} ${row.strength ?? ''} ${row.method}: `
        + `${row.psnr.toFixed(1)} dB`);
    }
  }));
  const report = await state.host.run({ kind: 'sweep-report', sweep, done });
  if (report.kind !== 'sweep-report') return;
  showOnly('defend-view');
  offerDownloads(state, report.files);
  const curve = state.downloads.find((d) => d.name === 'psnr-vs-strength.svg');
  if (curve) byId<HTMLImageElement>('defend-curve').src = curve.url;
  byId('defend-breaks').textContent = report.breakPoints;
}

void start();
