import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fail } from '../core/errors.js';
import { formatBytes, parseSize } from '../core/limits.js';

/**
 * Each command declares its options here, typed and bounded; parsing refuses anything else: options
 * the command does not take, positional arguments, an option given twice, and numbers that are
 * empty, blank, hexadecimal, not finite or out of range. Help text is generated from the same
 * table, so what a command documents is what it accepts. (Choice of parser: docs/DESIGN.md.)
 */
export interface OptionSpec {
  kind: 'string' | 'boolean' | 'int' | 'ints' | 'number' | 'list' | 'size';
  /** Placeholder in the help, e.g. N or DIR. */
  arg?: string;
  help: string;
  /** Inclusive bounds for int and number. */
  min?: number;
  max?: number;
  /** For number: the value must be strictly above `min` (rates, budgets). */
  aboveMin?: boolean;
  /** A string option that may be given several times (--image a.png --image b.png: a batch, in order). */
  repeatable?: boolean;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The options every command takes. */
export const GLOBAL_OPTIONS: OptionTable = {
  debug: { kind: 'boolean', help: 'show the stack trace of an error' },
  help: { kind: 'boolean', help: 'show this help' },
};

/** The memory ceiling, for every command that computes. */
export const MEMORY_OPTION: OptionTable = {
  'max-memory': {
    kind: 'size', arg: 'SIZE', help: 'memory ceiling, e.g. 8G (default: half of this machine\'s memory)',
  },
};

/**
 * The default memory ceiling: half of the machine's memory, or of the container's limit or the
 * address-space limit (ulimit -v) if lower. Past the address-space limit an allocation fails outright,
 * so work the estimate lets through under the machine's memory would end in a crash instead of a refusal.
 */
export function defaultMemoryCeiling(): number {
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const total = Math.min(os.totalmem(), constrained > 0 ? constrained : Infinity, addressSpaceLimit());
  return Math.floor(total / 2);
}

/** The soft RLIMIT_AS in bytes (Linux's /proc/self/limits), or Infinity when unlimited or unknown. */
function addressSpaceLimit(): number {
  let text: string;
  try { text = fs.readFileSync('/proc/self/limits', 'utf8'); } catch { return Infinity; }
  const m = /^Max address space\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : Infinity;
}

/** Parsed, validated options of one command. */
export class Args {
  constructor(
    private readonly values: Readonly<Record<string, string | boolean | string[]>>,
    private readonly table: OptionTable,
    /** The arguments as given (the study's report quotes its command). */
    readonly argv: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.values[this.known(name)] !== undefined;
  }

  flag(name: string): boolean {
    return this.values[this.known(name)] === true;
  }

  str(name: string): string | undefined {
    const v = this.values[this.known(name)];
    if (Array.isArray(v)) return v[v.length - 1];
    return typeof v === 'string' ? v : undefined;
  }

  /** Every value of a repeatable option, in order. */
  strs(name: string): string[] {
    const v = this.values[this.known(name)];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  /** A comma-separated list of whole numbers, each checked against the option's bounds. */
  ints(name: string): number[] | undefined {
    const s = this.str(name);
    return s === undefined
      ? undefined
      : listItems(s, name).map((x) => parseNumeric(x, name, this.table[name], true));
  }

  int(name: string): number | undefined;
  int(name: string, fallback: number): number;
  int(name: string, fallback?: number): number | undefined {
    const s = this.str(name);
    return s === undefined ? fallback : parseNumeric(s, name, this.table[name], true);
  }

  num(name: string): number | undefined;
  num(name: string, fallback: number): number;
  num(name: string, fallback?: number): number | undefined {
    const s = this.str(name);
    return s === undefined ? fallback : parseNumeric(s, name, this.table[name], false);
  }

  /**
   * A comma-separated list; entries are trimmed, empty ones refused, and repeats merged with a
   * notice on stderr (running the same method twice would only repeat the same work).
   */
  list(name: string, fallback: string[]): string[] {
    const s = this.str(name);
    if (s === undefined) return fallback;
    const items = listItems(s, name);
    const unique = [...new Set(items)];
    if (unique.length < items.length) {
      const twice = items.filter((x, i) => items.indexOf(x) !== i);
      console.error(`gradleak: note: --${name} lists ${[...new Set(twice)].join(', ')} `
        + `more than once; each is used once`);
    }
    return unique;
  }

  /** The memory ceiling in bytes: --max-memory, or the default. */
  maxMemory(): number {
    const s = this.str('max-memory');
    return s === undefined ? defaultMemoryCeiling() : parseSize(s, '--max-memory');
  }

  /** Whether the command takes this option at all (shared setup code serves several commands). */
  declares(name: string): boolean {
    return Object.hasOwn(this.table, name);
  }

  private known(name: string): string {
    if (!Object.hasOwn(this.table, name)) throw new Error(
      `option --${name} is not declared for this command`);
    return name;
  }
}

function listItems(s: string, name: string): string[] {
  const items = s.split(',').map((x) => x.trim());
  if (items.some((x) => x === '')) {
    fail(`--${name} has an empty entry in ${JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s)}`);
  }
  return items;
}

/** A whole or decimal number, strictly: its grammar first, then representable, then in range. */
function parseNumeric(s: string, name: string, spec: OptionSpec, whole: boolean): number {
  if (!(whole ? INT : DECIMAL).test(s)) {
    fail(`--${name} must be a ${whole ? 'whole' : 'decimal'} number, got ${JSON.stringify(s)}`);
  }
  const n = Number(s);
  if (!(whole ? Number.isSafeInteger(n) : Number.isFinite(n))) fail(`--${name} is out of range, got ${s}`);
  checkRange(n, name, spec);
  return n;
}

function checkRange(n: number, name: string, spec: OptionSpec): void {
  const { min, max, aboveMin } = spec;
  if (min !== undefined && (aboveMin ? !(n > min) : n < min)) {
    fail(`--${name} must be ${aboveMin ? 'greater than' : 'at least'} ${min}`
      + `${max !== undefined ? ` (and at most ${max})` : ''}, got ${n}`);
  }
  if (max !== undefined && n > max) fail(`--${name} must be at most ${max}, got ${n}`);
}

/**
 * `--pixel-offset -0.5`: parseArgs refuses a value that starts with a dash as ambiguous. A negative
 * number after an option that takes a value can only be that value, so it is attached to it.
 */
function attachNegativeNumbers(argv: readonly string[], all: OptionTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (Object.hasOwn(all, name) && all[name].kind !== 'boolean' && /^-\.?\d/.test(argv[i + 1] ?? '')) {
      out.push(`${argv[i]}=${argv[++i]}`);
    } else out.push(argv[i]);
  }
  return out;
}

/** Parses a command's arguments against its table (plus the global options); one line per problem. */
export function parseOptions(command: string, argv: string[], table: OptionTable): Args {
  const all: OptionTable = { ...table, ...GLOBAL_OPTIONS };
  const config = Object.fromEntries(Object.entries(all).map(([name, spec]) => [
    name, {
      type: spec.kind === 'boolean' ? 'boolean' as const : 'string' as const,
      ...(name === 'help' ? { short: 'h' } : {}),
      ...(spec.repeatable ? { multiple: true } : {}),
    },
  ]));
  let parsed;
  try {
    parsed = parseArgs({
      args: attachNegativeNumbers(argv, all), options: config,
      allowPositionals: false, strict: true, tokens: true,
    });
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    const option = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
    const shown = JSON.stringify(option.length > 40 ? `${option.slice(0, 37)}...` : option);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      fail(`${command} does not take ${shown} (see gradleak ${command} --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      fail(`${command} takes no positional arguments, `
        + `got ${JSON.stringify(/'([^']*)'/.exec(message)?.[1] ?? '')}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      fail(`${shown} ${/argument missing/.test(message) ? 'needs a value' : 'takes no value'}`
        + `${/ambiguous/.test(message)
          ? `; to give a value that starts with a dash write ${option}=VALUE` : ''}`);
    }
    fail(`${message.split('\n')[0]} (see gradleak ${command} --help)`);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name) && !all[t.name]?.repeatable) fail(`--${t.name} is given more than once`);
    seen.add(t.name);
  }
  const values = parsed.values as Record<string, string | boolean | string[]>;
  const args = new Args(values, all, argv);
  // every typed value is checked now, before any work, whether or not the command reads it later
  for (const [name, spec] of Object.entries(all)) {
    const given = values[name];
    const texts = Array.isArray(given) ? given : typeof given === 'string' ? [given] : [];
    if (texts.some((t) => t.trim() === '')) fail(`--${name} is empty`);
    const v = texts[texts.length - 1];
    if (v === undefined) continue;
    if (spec.kind === 'int') args.int(name);
    else if (spec.kind === 'ints') args.ints(name);
    else if (spec.kind === 'number') args.num(name);
    else if (spec.kind === 'size') args.maxMemory();
    else if (spec.kind === 'list') listItems(v, name);
  }
  return args;
}

/** The option lines of a command's help, from its table. */
export function optionHelp(table: OptionTable): string {
  const rows = Object.entries({ ...table, ...GLOBAL_OPTIONS }).map(([name, spec]) => {
    const left = `  --${name}${spec.arg ? ` ${spec.arg}` : ''}${name === 'help' ? ', -h' : ''}`;
    const extra = name === 'max-memory' ? ` (${formatBytes(defaultMemoryCeiling())} here)` : '';
    return [left, spec.help + extra] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
}
