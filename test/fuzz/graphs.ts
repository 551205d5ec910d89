/**
 * Mutations of graph specs (`"nodes"`, --model), the format beside the chain specs of inputs.ts.
 * Every mutation breaks the small valid graph below — conv → batch norm → ReLU, a residual add around
 * a second conv, max pool, flatten, linear — in one way: exit 2 is the only right answer. `graph-weights`
 * keeps the graph valid and passes --weights that do not fit it. Values JSON cannot say (1e999, which
 * parses to Infinity; -0; 1e-400, which parses to 0) are written as raw number tokens.
 */
import type { Rng } from '../../src/core/rng.js';
import { int, pick, type Command } from './context.js';
import type { InputMutation, Made, Target } from './inputs.js';
import { jsonText, Raw, writeTensors, type Tensor } from './safetensors.js';

type Node = Record<string, unknown> & { name: string; op: string; inputs: string[] };
type Graph = Record<string, unknown> & { nodes: Node[] };

/** audit, attack (ig: it runs on any graph, where rgap needs a chain) and simulate. */
export const GRAPH_TARGETS: Target[] = (['audit', 'attack', 'simulate'] as Command[])
  .map((command) => ({ command, slot: 'model' }));

/** The valid base: every node names its inputs, so that rewiring one is a one-field change. */
export function baseGraph(): Graph {
  return {
    name: 'fuzz_graph', input: [3, 32, 32], classes: 10,
    nodes: [
      { name: 'conv1', op: 'conv2d', inputs: ['input'], out: 4, kernel: 3, stride: 2, padding: 1 },
      { name: 'bn1', op: 'batch_norm2d', inputs: ['conv1'] },
      { name: 'act', op: 'relu', inputs: ['bn1'] },
      { name: 'conv2', op: 'conv2d', inputs: ['act'], out: 4, kernel: 3, padding: 1, bias: false },
      { name: 'res', op: 'add', inputs: ['act', 'conv2'] },
      { name: 'pool', op: 'max_pool2d', inputs: ['res'], kernel: 2 },
      { name: 'flat', op: 'flatten', inputs: ['pool'] },
      { name: 'fc', op: 'linear', inputs: ['flat'], out: 10 },
    ],
  };
}

/** Every tensor of the base graph, PyTorch's state_dict names and shapes (conv1 gives 4×16×16). */
const GRAPH_PARAMS: [string, number[]][] = [
  ['conv1.weight', [4, 3, 3, 3]], ['conv1.bias', [4]],
  ['bn1.weight', [4]], ['bn1.bias', [4]], ['bn1.running_mean', [4]], ['bn1.running_var', [4]],
  ['conv2.weight', [4, 4, 3, 3]], ['fc.weight', [10, 256]], ['fc.bias', [10]],
];

/** F32 tensors: small seeded values, a positive running variance. */
export function graphTensors(r: Rng, params = GRAPH_PARAMS): Tensor[] {
  return params.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const variance = name.endsWith('running_var');
    const v = new Float32Array(n).map(() => (variance ? 1 + r.uniform() : 0.2 * r.uniform() - 0.1));
    return { name, dtype: 'F32', shape, bytes: new Uint8Array(v.buffer) };
  });
}

const node = (g: Graph, name: string): Node => g.nodes.find((n) => n.name === name)!;
type NewNode = { name: string; op: string; [attr: string]: unknown };
/** Inserts a node after `after`, moving the consumers of `after` onto it. */
function insertAfter(g: Graph, after: string, n: NewNode): void {
  for (const m of g.nodes) m.inputs = m.inputs.map((x) => (x === after ? n.name : x));
  g.nodes.splice(g.nodes.findIndex((m) => m.name === after) + 1, 0, { ...n, inputs: [after] } as Node);
}
/** Renames a node and every reference to it. */
function rename(g: Graph, from: string, to: string): void {
  for (const m of g.nodes) {
    if (m.name === from) m.name = to;
    m.inputs = m.inputs.map((x) => (x === from ? to : x));
  }
}
const made = (detail: string, g: unknown): Made => ({ detail, content: jsonText(g), ext: 'json' });
type Edit = (g: Graph, r: Rng) => void;
/** One of named variants, each editing a fresh base graph. */
function variants(name: string, vs: Record<string, Edit>, heavy = false): InputMutation {
  return {
    kind: 'graph', name, param: !heavy, heavy, make(r) {
      const v = pick(r, Object.keys(vs));
      const g = baseGraph();
      vs[v](g, r);
      return made(v, g);
    },
  };
}
/** Sets `field` of one of `nodes` to one of `values` (Raw: a token JSON.stringify cannot write). */
function field(name: string, nodes: string[], fields: string[], values: unknown[]): InputMutation {
  return {
    kind: 'graph', name, param: true, make(r) {
      const g = baseGraph();
      const n = pick(r, nodes), f = pick(r, fields), v = pick(r, values);
      node(g, n)[f] = v;
      return made(`${n}.${f} ${jsonText(v).slice(0, 40)}`, g);
    },
  };
}
const deep = (d: number, object: boolean) => new Raw(object ? `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`
  : '['.repeat(d) + ']'.repeat(d));
const INF = new Raw('1e999'), NEG_INF = new Raw('-1e999'), ZERO = new Raw('1e-400'), NEG_ZERO = new Raw('-0');

export const GRAPH: InputMutation[] = [
  variants('graph-cycle', {
    'reads itself': (g) => { node(g, 'act').inputs = ['act']; },
    'reads a later node': (g) => { node(g, 'conv1').inputs = ['fc']; },
    'two-node loop': (g) => { node(g, 'bn1').inputs = ['act']; },
    'add reads itself': (g) => { node(g, 'res').inputs = ['res', 'conv2']; },
  }),
  { kind: 'graph', name: 'graph-unknown-input', param: true, make(r) {
    const g = baseGraph();
    const n = pick(r, g.nodes);
    const ref = pick(r, ['nope', '', 'Input', 'act ', '__proto__', 'constructor', 'toString',
      'x'.repeat(int(r, 200, 1e5))]);
    n.inputs[int(r, 0, n.inputs.length - 1)] = ref;
    return made(`${n.name} reads ${JSON.stringify(ref.slice(0, 20))}`, g);
  } },
  { kind: 'graph', name: 'graph-duplicate-name', param: true, make(r) {
    const g = baseGraph();
    const k = int(r, 1, g.nodes.length - 1), j = int(r, 0, k - 1);
    const from = g.nodes[k].name, to = g.nodes[j].name;
    rename(g, from, to);
    return made(`${from} renamed ${to}`, g);
  } },
  { kind: 'graph', name: 'graph-node-named-input', param: true, make(r) {
    const g = baseGraph();
    const n = pick(r, g.nodes).name;
    rename(g, n, 'input');
    return made(`${n} renamed "input"`, g);
  } },
  variants('graph-missing-field', {
    'node without op': (g) => { delete (node(g, 'act') as Partial<Node>).op; },
    'node without name': (g, r) => { delete (pick(r, g.nodes) as Partial<Node>).name; },
    'conv without out': (g) => { delete node(g, 'conv1').out; },
    'conv without kernel': (g) => { delete node(g, 'conv2').kernel; },
    'pool without kernel': (g) => { delete node(g, 'pool').kernel; },
    'linear without out': (g) => { delete node(g, 'fc').out; },
    'add without inputs (reads the node before)': (g) => { delete (node(g, 'res') as Partial<Node>).inputs; },
    'no input': (g) => { delete g.input; },
    'no nodes': (g) => { delete (g as Partial<Graph>).nodes; },
  }),
  variants('graph-unknown-field', {
    kernal: (g) => { node(g, 'conv1').kernal = 3; },
    strides: (g) => { node(g, 'conv1').strides = 2; },
    dilation: (g) => { node(g, 'conv2').dilation = 1; },
    groups: (g) => { node(g, 'conv2').groups = 1; },
    'input on a node': (g) => { node(g, 'act').input = ['bn1']; },
    'slope on relu': (g) => { node(g, 'act').slope = 0.1; },
    'eps on relu': (g) => { node(g, 'act').eps = 1e-5; },
    momentum: (g) => { node(g, 'bn1').momentum = 0.1; },
    'bias on batch norm': (g) => { node(g, 'bn1').bias = true; },
    in_features: (g) => { node(g, 'fc').in_features = 256; },
    ceil_mode: (g) => { node(g, 'pool').ceil_mode = false; },
    start_dim: (g) => { node(g, 'flat').start_dim = 1; },
    // an own "__proto__" key, as JSON.parse makes it
    '__proto__ on a node': (g) => {
      Object.defineProperty(node(g, 'act'), '__proto__', { value: { slope: 5 }, enumerable: true });
    },
    'top-level node': (g) => { g.node = g.nodes; },
    'top-level layers': (g) => { g.layers = [{ type: 'linear', out: 10 }]; },
    'top-level outputs': (g) => { g.outputs = ['fc']; },
  }),
  { kind: 'graph', name: 'graph-wrong-type', param: true, make(r) {
    const g = baseGraph();
    const n = pick(r, g.nodes);
    const choices: Record<string, [(v: unknown) => void, unknown[]]> = {
      'node name': [(v) => { n.name = v as string; },
        [5, null, [n.name], {}, '', 'a b', 'é', 'x'.repeat(101), true]],
      op: [(v) => { n.op = v as string; },
        [5, null, [n.op], { op: n.op }, '', n.op.toUpperCase(), `${n.op} `, 'toString', '__proto__',
          'constructor']],
      inputs: [(v) => { n.inputs = v as string[]; },
        [n.inputs[0], [5], null, {}, [null], [n.inputs], 5, true]],
      name: [(v) => { g.name = v; }, [5, '', 'a b', 'x'.repeat(101), null, ['g']]],
      input: [(v) => { g.input = v; }, ['3,32,32', { c: 3 }, null, [3, 32], [3, 32, 32, 1], [3, '32', 32],
        [3, 32.5, 32], [0, 32, 32], [3, 32, -1], [[3, 32, 32]], [3, INF, 32]]],
      nodes: [(v) => { g.nodes = v as Node[]; }, [{}, 'conv', null, 5, [null], [5], [[]], ['conv2d'], []]],
    };
    const k = pick(r, Object.keys(choices));
    const [set, values] = choices[k];
    const v = pick(r, values);
    set(v);
    const which = k === 'node name' || k === 'op' || k === 'inputs' ? `${n.name} ` : '';
    return made(`${which}${k} ${jsonText(v).slice(0, 40)}`, g);
  } },
  // 0 is fine for padding, and -0 and 1e-400 are 0; so each field has its own invalid set
  { kind: 'graph', name: 'graph-bad-window', param: true, make(r) {
    const g = baseGraph();
    const n = pick(r, ['conv1', 'conv2', 'pool']), f = pick(r, ['kernel', 'stride', 'padding']);
    const common = [-1, 2.5, INF, NEG_INF, '3', true, [3], [3, 3, 3], [[3, 3]], [3, -1], [3, 2.5], [3, '3'],
      {}, 1025, [1025, 1], new Raw('9007199254740993')];
    const v = pick(r, f === 'padding' ? common : [...common, 0, [0, 3], ZERO, NEG_ZERO]);
    node(g, n)[f] = v;
    return made(`${n}.${f} ${jsonText(v)}`, g);
  } },
  field('graph-bad-out', ['conv1', 'conv2', 'fc'], ['out'],
    [0, -1, 2.5, INF, '4', true, [4], 2 ** 20 + 1, ZERO, NEG_ZERO]),
  field('graph-bad-bias', ['conv1', 'conv2', 'fc'], ['bias'], ['true', 'false', 1, 0, [], {}]),
  // a field set to null must not silently take its default
  variants('graph-null-field', {
    'conv bias': (g) => { node(g, 'conv1').bias = null; },
    'conv stride': (g) => { node(g, 'conv1').stride = null; },
    'conv padding': (g) => { node(g, 'conv2').padding = null; },
    'conv out': (g) => { node(g, 'conv2').out = null; },
    'linear bias': (g) => { node(g, 'fc').bias = null; },
    'batch norm eps': (g) => { node(g, 'bn1').eps = null; },
    'pool stride': (g) => { node(g, 'pool').stride = null; },
    'leaky_relu slope': (g) => { Object.assign(node(g, 'act'), { op: 'leaky_relu', slope: null }); },
    'dropout p': (g) => { insertAfter(g, 'flat', { name: 'drop', op: 'dropout', p: null }); },
    'classes': (g) => { g.classes = null; },
    'output': (g) => { g.output = null; },
  }),
  variants('graph-window-too-large', {
    'conv kernel [h > 34, 1]': (g, r) => { node(g, 'conv1').kernel = [int(r, 35, 64), 1]; },
    'conv kernel [1, w > 34]': (g, r) => { node(g, 'conv1').kernel = [1, int(r, 35, 1024)]; },
    'second conv kernel > its 16×16 input': (g, r) => { node(g, 'conv2').kernel = [int(r, 19, 40), 3]; },
    'stride collapses the image before the pool': (g, r) => { node(g, 'conv1').stride = int(r, 33, 1024); },
    'pool kernel > 16': (g, r) => { node(g, 'pool').kernel = int(r, 17, 1024); },
    'pool kernel [2, w > 16]': (g, r) => { node(g, 'pool').kernel = [2, int(r, 17, 64)]; },
    'avg pool kernel [h > 16, 1]': (g, r) => {
      Object.assign(node(g, 'pool'), { op: 'avg_pool2d', kernel: [int(r, 17, 64), 1] });
    },
    'pool padding over half the window': (g) => { node(g, 'pool').padding = 2; },
    'pool padding [1, 2] on a 3×3 window': (g) => {
      Object.assign(node(g, 'pool'), { kernel: 3, padding: [1, 2] });
    },
  }),
  variants('graph-add-mismatch', {
    channels: (g, r) => { node(g, 'conv2').out = int(r, 5, 64); },
    'spatial, stride': (g) => { node(g, 'conv2').stride = 2; },
    'spatial, padding': (g) => { node(g, 'conv2').padding = 0; },
    'one input': (g) => { node(g, 'res').inputs = ['conv2']; },
    'three inputs': (g) => { node(g, 'res').inputs = ['act', 'conv2', 'conv2']; },
    'no inputs': (g) => { node(g, 'res').inputs = []; },
    'vector and image': (g) => { g.nodes.push({ name: 'bad', op: 'add', inputs: ['fc', 'pool'] }); },
    'input and image': (g) => { node(g, 'res').inputs = ['input', 'conv2']; },
  }),
  variants('graph-rank-mismatch', {
    'linear without flatten': (g) => { g.nodes.splice(6, 1); node(g, 'fc').inputs = ['pool']; },
    'linear on the input': (g) => {
      g.nodes[0] = { name: 'conv1', op: 'linear', inputs: ['input'], out: 4 };
    },
    'batch norm on a vector': (g) => { insertAfter(g, 'flat', { name: 'bnv', op: 'batch_norm2d' }); },
    'conv on a vector': (g) => { insertAfter(g, 'flat', { name: 'cv', op: 'conv2d', out: 2, kernel: 1 }); },
    'max pool on a vector': (g) => { insertAfter(g, 'flat', { name: 'pv', op: 'max_pool2d', kernel: 1 }); },
    'avg pool on a vector': (g) => { insertAfter(g, 'flat', { name: 'pv', op: 'avg_pool2d', kernel: 1 }); },
    'global_avg_pool on a vector': (g) => { insertAfter(g, 'flat', { name: 'gv', op: 'global_avg_pool' }); },
    'global_avg_pool, then linear without flatten': (g) => { node(g, 'flat').op = 'global_avg_pool'; },
    'logits are an image': (g) => { g.nodes.splice(6, 2); },
  }),
  variants('graph-output', {
    'output "input"': (g) => { g.output = 'input'; },
    'output unknown': (g) => { g.output = 'nope'; },
    'output a number': (g) => { g.output = 7; },
    'output a list': (g) => { g.output = ['fc']; },
    'output empty': (g) => { g.output = ''; },
    'classes mismatch': (g, r) => { g.classes = pick(r, [1, 9, 11, 256]); },
    'classes bad': (g, r) => { g.classes = pick(r, [0, -10, '10', [10], 10.5, INF, true]); },
  }),
  // a node that does not lead to the output: its parameters would get no gradient
  variants('graph-unused-node', {
    'dead branch': (g) => {
      g.nodes.splice(3, 0, { name: 'dead', op: 'conv2d', inputs: ['act'], out: 2, kernel: 1 });
    },
    'dead linear': (g) => {
      g.nodes.push({ name: 'fc2', op: 'linear', inputs: ['flat'], out: 10 });
      g.output = 'fc';
    },
    'node after the output': (g) => {
      g.nodes.push({ name: 'after', op: 'relu', inputs: ['fc'] });
      g.output = 'fc';
    },
    'output before the classifier': (g) => { g.output = 'flat'; delete g.classes; },
  }),
  variants('graph-node-count', {
    'no nodes': (g) => { g.nodes = []; },
    'more than 4096 nodes': (g, r) => {
      const n = pick(r, [4097, int(r, 4098, 100000)]);
      g.nodes = Array.from({ length: n }, (_, i) => ({
        name: `n${i}`, op: 'identity', inputs: [i ? `n${i - 1}` : 'input'],
      }));
    },
  }, true),
  // each beyond any default ceiling under the suite's address-space cap, or beyond one array
  variants('graph-memory', {
    'conv out 16384 (weight beyond one array)': (g) => {
      node(g, 'conv1').out = 16384;
      node(g, 'conv2').out = 16384;
    },
    'input 2^20 channels': (g) => { g.input = [2 ** 20, 32, 32]; },
    'input 16384×16384': (g) => { g.input = [3, 16384, 16384]; },
    'padding 1024 on both convs': (g) => {
      Object.assign(node(g, 'conv1'), { kernel: 1, stride: 1, padding: 1024 });
      Object.assign(node(g, 'conv2'), { kernel: 1, padding: 1024 });
      node(g, 'res').inputs = ['conv2', 'conv2'];
    },
    'padding 1024, sixteen times': (g) => {
      g.nodes = Array.from({ length: 16 }, (_, i) => ({
        name: `c${i}`, op: 'conv2d', inputs: [i ? `c${i - 1}` : 'input'], out: 3, kernel: 1, padding: 1024,
      }));
      g.nodes.push({ name: 'f', op: 'flatten', inputs: ['c15'] },
        { name: 'fc', op: 'linear', inputs: ['f'], out: 10 });
    },
  }, true),
  field('graph-bad-eps', ['bn1'], ['eps'], [0, -1, 1.5, 2, '1e-5', true, [1e-5], INF, -1e-5, ZERO, NEG_ZERO]),
  { kind: 'graph', name: 'graph-bad-slope', param: true, make(r) {
    const g = baseGraph();
    const v = pick(r, [0, -0.01, 1.5, 1e-7, 5e-7, '0.1', [0.1], INF, true, NEG_ZERO, ZERO]);
    Object.assign(node(g, 'act'), { op: 'leaky_relu', slope: v });
    return made(`leaky_relu slope ${jsonText(v)}`, g);
  } },
  { kind: 'graph', name: 'graph-bad-dropout', param: true, make(r) {
    const g = baseGraph();
    const [k, v] = pick<[string, unknown]>(r, [['p', 1], ['p', -0.1], ['p', '0.5'], ['p', 2], ['p', [0.5]],
      ['p', true], ['p', INF], ['p', new Raw('1.0')], ['rate', 0.5], ['inplace', false],
      ['training', false]]);
    insertAfter(g, pick(r, ['act', 'flat']), { name: 'drop', op: 'dropout', [k]: v });
    return made(`dropout ${k} ${jsonText(v)}`, g);
  } },
  { kind: 'graph', name: 'graph-deep-nesting', param: true, make(r) {
    const g = baseGraph();
    const d = int(r, 100000, 120000), object = r.uniform() < 0.3;
    const where = pick(r, ['conv1.kernel', 'act.inputs', 'nodes', 'output', 'classes', 'bn1.eps', 'fc.name',
      'act.op', 'input', 'fc.extra']);
    const [n, f] = where.split('.');
    if (f === undefined) g[n] = deep(d, object);
    else node(g, n)[f] = deep(d, object);
    return made(`${where}: ${object ? 'objects' : 'arrays'} ${d} deep`, g);
  } },
  { kind: 'graph', name: 'graph-huge-string', param: true, make(r) {
    const g = baseGraph();
    // 1 to 12 MiB in the file, under the 16 MiB a spec may have ("é" is 2 bytes, "\u0000" 6 escaped)
    const [c, bytes] = pick<[string, number]>(r, [['n', 1], ['é', 2], ['\u0000', 6]]);
    const s = c.repeat(Math.floor(int(r, 1 << 20, 12 << 20) / bytes));
    const where = pick(r, ['node name', 'op', 'input reference', 'field name', 'graph name', 'output']);
    const act = node(g, 'act');
    if (where === 'node name') rename(g, 'act', s);
    else if (where === 'op') act.op = s;
    else if (where === 'input reference') act.inputs = [s];
    else if (where === 'field name') act[s] = 1;
    else if (where === 'graph name') g.name = s;
    else g.output = s;
    return made(`${where}: ${s.length} × ${JSON.stringify(s[0])}`, g);
  } },
  { kind: 'graph', name: 'graph-weights', param: true, make(r) {
    const ts = graphTensors(r);
    const at = (name: string) => ts.findIndex((t) => t.name === name);
    const v = pick(r, ['missing', 'extra', 'renamed', 'transposed', 'flattened', 'chain names',
      'another graph', 'no tensors']);
    if (v === 'missing') ts.splice(int(r, 0, ts.length - 1), 1);
    else if (v === 'extra') {
      const extra: [string, number[]][] = [['conv2.bias', [4]], ['fc2.weight', [10, 256]],
        ['input.weight', [1]]];
      ts.push(...graphTensors(r, [pick(r, extra)]));
    } else if (v === 'renamed') {
      ts[at('conv1.weight')].name = pick(r, ['conv1.kernel', 'Conv1.weight', 'conv1.weight ', 'conv1']);
    } else if (v === 'transposed') {
      const t = ts[at(pick(r, ['conv1.weight', 'fc.weight']))];
      t.shape = [t.shape[1], t.shape[0], ...t.shape.slice(2)];
    } else if (v === 'flattened') ts[at('conv2.weight')].shape = [4, 36];
    else if (v === 'chain names') {
      for (const t of ts) t.name = t.name.replace('conv1', 'layers.0').replace('fc', 'layers.1');
    } else if (v === 'another graph') {
      // consistent tensors, but the classifier of a 255-feature graph
      const other = graphTensors(r, GRAPH_PARAMS.map(([n, s]) => [n, n === 'fc.weight' ? [10, 255] : s]));
      ts.splice(0, ts.length, ...other);
    } else ts.length = 0;
    return { ...made(v, baseGraph()), weights: writeTensors(ts) };
  } },
];

/** Genuinely random: one printable character of the base graph replaced (may stay valid). */
export const GRAPH_RANDOM: InputMutation[] = [
  { kind: 'graph', name: 'graph-random-char', param: true, make(r) {
    const t = jsonText(baseGraph());
    const i = int(r, 0, t.length - 1);
    const c = String.fromCharCode(int(r, 32, 126));
    const detail = `char ${i} ${JSON.stringify(t[i])} → ${JSON.stringify(c)}`;
    return { detail, content: t.slice(0, i) + c + t.slice(i + 1), ext: 'json' };
  } },
];
