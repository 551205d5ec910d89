import { fail } from '../core/errors.js';
import type { DefenceRecord } from '../threat/payload.js';
import { DEFENCES, getDefence } from './registry.js';
import type { Defence, DefenceOption, DefenceParams } from './types.js';

/**
 * Defences as written on the command line and as declared in an update. A spec is `name` or
 * `name:item,item,...`, an item `option=value` or a bare value; bare values at the start set the
 * defence's strength option (`prune:0.9`, `noise:1,clip=2`), and bare values after `option=value`
 * add values to that option (`fedavg:steps=1,5,20,lr=0.1`). Only the strength may have several values
 * — a sweep (parseDefenceSweep); a single defence (parseDefence) takes one.
 */

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Every record a spec names: one per value of the strength, in the order given. */
export function parseDefenceSweep(spec: string): DefenceRecord[] {
  const where = `defence ${JSON.stringify(spec.slice(0, 60))}`;
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const d = getDefence(name);
  const values = new Map<string, string[]>();
  let current = d.strength.option;
  if (colon >= 0) {
    for (const item of spec.slice(colon + 1).split(',')) {
      const eq = item.indexOf('=');
      if (eq >= 0) {
        current = item.slice(0, eq).trim();
        if (!d.options.some((o) => o.name === current)) fail(`${where}: ${name} has no option `
          + `"${current.slice(0, 30)}" (options: ${d.options.map((o) => o.name).join(', ')})`);
        if (values.has(current)) fail(`${where}: ${current} is given twice`);
      }
      const value = (eq >= 0 ? item.slice(eq + 1) : item).trim();
      if (value === '') fail(`${where}: an empty value${eq >= 0 ? ` for ${current}` : ''}`);
      values.set(current, [...(values.get(current) ?? []), value]);
    }
  }
  const listed = [...values].find(([k, v]) => v.length > 1 && k !== d.strength.option);
  if (listed) fail(`${where}: only the strength (${d.strength.option}) may list several values, `
    + `not ${listed[0]}`);
  const fixed = Object.fromEntries([...values].filter(([k]) => k !== d.strength.option)
    .map(([k, v]) => [k, v[0]]));
  const strengths = values.get(d.strength.option) ?? [undefined];
  return strengths.map((s) => ({
    name, params: checkParams(d, s === undefined ? fixed : { ...fixed, [d.strength.option]: s }, where),
  }));
}

/** One defence from its spec. */
export function parseDefence(spec: string): DefenceRecord {
  const records = parseDefenceSweep(spec);
  if (records.length !== 1) fail(`defence ${JSON.stringify(spec.slice(0, 60))}: one value of `
    + `${getDefence(records[0].name).strength.option} here (lists are for sweeps)`);
  return records[0];
}

/**
 * A defence's parameters checked against its options — text from a spec or values from a
 * declaration — with defaults filled in, in the order the defence declares its options.
 */
export function checkParams(
  d: Defence, given: Readonly<Record<string, string | number>>, where: string,
): DefenceParams {
  for (const k of Object.keys(given)) if (!d.options.some((o) => o.name === k)) fail(`${where}: `
    + `${d.name} has no option "${k.slice(0, 30)}" (options: ${d.options.map((o) => o.name).join(', ')})`);
  const out: Record<string, number | string> = {};
  for (const o of d.options) {
    const v = Object.hasOwn(given, o.name) ? given[o.name] : o.default;
    if (v === undefined) fail(`${where}: ${d.name} needs ${o.name} (${o.help})`);
    out[o.name] = checkValue(o, v, `${where}: ${o.name}`);
  }
  d.check?.(out);
  return out;
}

function checkValue(o: DefenceOption, v: string | number, what: string): number | string {
  const shown = JSON.stringify(typeof v === 'string' ? v.slice(0, 30) : v);
  if (o.kind === 'choice') {
    if (typeof v !== 'string' || !o.choices!.includes(v)) fail(
      `${what} must be one of ${o.choices!.join(', ')}, got ${shown}`);
    return v;
  }
  const isInt = o.kind === 'int';
  const x = typeof v === 'number' ? v : (isInt ? INT : DECIMAL).test(v) ? Number(v) : NaN;
  if (!Number.isFinite(x) || (isInt && !Number.isInteger(x))) fail(
    `${what} must be ${isInt ? 'a whole number' : 'a number'}, got ${shown}`);
  const lowOk = o.min === undefined || (o.aboveMin ? x > o.min : x >= o.min);
  const highOk = o.max === undefined || (o.belowMax ? x < o.max : x <= o.max);
  if (!lowOk || !highOk) fail(`${what} must be ${range(o)}, got ${x}`);
  return x;
}

function range(o: DefenceOption): string {
  const low = o.min === undefined ? '' : `${o.aboveMin ? 'above' : 'at least'} ${o.min}`;
  const high = o.max === undefined ? '' : `${o.belowMax ? 'below' : 'at most'} ${o.max}`;
  return [low, high].filter(Boolean).join(' and ');
}

/**
 * Checks a chain as declared in an update (or given on the command line): known defences, valid
 * parameters, exactly as checkParams would fill them, and a defence marked `once` at most once.
 */
export function checkDefences(records: readonly DefenceRecord[]): void {
  const seen = new Set<string>();
  for (const [i, r] of records.entries()) {
    const where = `declared defence ${i + 1} (${String(r.name).slice(0, 20)})`;
    if (typeof r.name !== 'string' || typeof r.params !== 'object' || r.params === null) fail(
      `${where}: must be {name, params}`);
    const d = getDefence(r.name);
    checkParams(d, r.params, where);
    const missing = d.options.find((o) => !Object.hasOwn(r.params, o.name));
    if (missing) fail(`${where}: ${missing.name} is not declared (a declaration states every parameter)`);
    if (d.once && seen.has(d.name)) fail(`${where}: ${d.name} may appear only once in a chain`);
    seen.add(d.name);
  }
}

/** `name:option=value,...`, every parameter: how results and messages name a defence. */
export function formatDefence(r: DefenceRecord): string {
  return `${r.name}:${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(',')}`;
}

/** The help text: every defence with its options. */
export function defenceHelp(): string {
  return DEFENCES.map((d) => `${d.name}: ${d.description}; `
    + d.options.map((o) => `${o.name}${o.name === d.strength.option ? ' (strength)' : ''}`
      + `${o.default !== undefined ? `=${o.default}` : ''}`).join(', ')).join('\n');
}
