import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseOptions, type OptionTable } from '../src/cli/options.js';
import { InputError } from '../src/core/errors.js';
import { formatBytes, parseSize } from '../src/core/limits.js';
import { assertCleanFailure, ROOT, runCli, tmpDir } from './helpers.js';

const SAMPLE = path.join(ROOT, 'samples/hills.png');

const TABLE: OptionTable = {
  count: { kind: 'int', arg: 'N', help: '', min: 1, max: 100 },
  rate: { kind: 'number', arg: 'R', help: '', min: 0, aboveMin: true, max: 10 },
  offset: { kind: 'number', arg: 'O', help: '', min: -5, max: 5 },
  name: { kind: 'string', arg: 'S', help: '' },
  flag: { kind: 'boolean', help: '' },
  items: { kind: 'list', arg: 'L', help: '' },
};

const refuses = (argv: string[], pattern: RegExp) =>
  assert.throws(() => parseOptions('cmd', argv, TABLE), (e: Error) => e instanceof InputError && pattern.test(e.message) && !e.message.includes('\n'), argv.join(' '));

describe('strict options: parsing', () => {
  it('reads declared options of every kind', () => {
    const a = parseOptions('cmd', ['--count', '7', '--rate=0.25', '--offset', '-0.5', '--name', 'x', '--flag', '--items', 'a, b'], TABLE);
    assert.deepEqual([a.int('count'), a.num('rate'), a.num('offset'), a.str('name'), a.flag('flag'), a.list('items', [])], [7, 0.25, -0.5, 'x', true, ['a', 'b']]);
    assert.equal(parseOptions('cmd', [], TABLE).int('count', 3), 3);
  });
  it('refuses numbers that are empty, blank, hexadecimal, not finite, partly text or out of range', () => {
    refuses(['--count', ''], /--count is empty/);
    refuses(['--count', '  '], /--count is empty/);
    refuses(['--count', '0x10'], /--count must be a whole number, got "0x10"/);
    refuses(['--count', '1.5'], /whole number/);
    refuses(['--count', '12abc'], /whole number/);
    refuses(['--count', '0'], /--count must be at least 1 \(and at most 100\), got 0/);
    refuses(['--count', '101'], /at most 100/);
    refuses(['--count', '99999999999999999999'], /out of range/);
    refuses(['--rate', '0'], /--rate must be greater than 0/);
    refuses(['--rate', 'NaN'], /decimal number/);
    refuses(['--rate', 'Infinity'], /decimal number/);
    refuses(['--rate', '1e400'], /out of range/);
    refuses(['--offset=-7'], /at least -5/);
  });
  it('refuses undeclared options, positionals, repeats, missing values and values on flags', () => {
    refuses(['--weights', 'w'], /^cmd does not take "--weights"/);
    refuses(['stray'], /^cmd takes no positional arguments, got "stray"/);
    refuses(['--count', '1', '--count', '2'], /--count is given more than once/);
    refuses(['--name'], /"--name" needs a value/);
    refuses(['--flag=yes'], /"--flag" takes no value/);
  });
  it('merges repeated list entries with a notice, and refuses empty ones', () => {
    refuses(['--items', 'a,,b'], /--items has an empty entry/);
    const a = parseOptions('cmd', ['--items', 'a,b,a'], TABLE);
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      assert.deepEqual(a.list('items', []), ['a', 'b']);
    } finally {
      console.error = original;
    }
    assert.deepEqual(errors, ['gradleak: note: --items lists a more than once; each is used once']);
  });
  it('sizes: binary units, strict', () => {
    assert.equal(parseSize('512M', 'x'), 512 * 2 ** 20);
    assert.equal(parseSize('1.5GiB', 'x'), 1.5 * 2 ** 30);
    assert.equal(parseSize('8G', 'x'), 8 * 2 ** 30);
    for (const bad of ['', 'abc', '0', '-1G', '0x10M', '1k']) assert.throws(() => parseSize(bad, 'x'), InputError, bad);
    assert.equal(formatBytes(1536 * 2 ** 20), '1.5 GiB');
  });
});

describe('strict options: each command takes only its own', () => {
  const out = path.join(tmpDir('opts'), 'out');
  const cases: [string[], RegExp][] = [
    [['demo', '--weights', '/nonexistent'], /^gradleak: error: demo does not take "--weights"/],
    [['study', '--model', 'x'], /study does not take "--model"/],
    [['study', '--lr', '0.1'], /study does not take "--lr"/],
    [['audit', '--out', out], /audit does not take "--out"/],
    [['models', '--seed', '1'], /models does not take "--seed"/],
    [['study', '--workers', '0'], /--workers must be at least 1/],
    [['study', '--iterations', '0'], /--iterations must be at least 1/],
    [['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', out, '--lr', '0'], /--lr must be greater than 0/],
    [['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', out, '--label', ''], /--label is empty/],
    [['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', out, '--tol', '0x10'], /--tol must be a decimal number, got "0x10"/],
    [['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', '/proc/x'], /--out \/proc\/x: \/proc is a system folder/],
    [['simulate', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', '/sys/g.safetensors'], /is a system folder/],
    [['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--out', SAMPLE], /exists and is not a folder/],
    [['audit', '--model', 'cnn2_c1', '--max-memory', ''], /--max-memory is empty/],
    [['audit', '--model', 'cnn2_c1', '--max-memory', 'lots'], /--max-memory must be a size/],
  ];
  for (const [args, pattern] of cases) {
    it(args.filter((x) => !x.startsWith('/') && x !== out).join(' '), () => {
      assertCleanFailure(runCli(args), pattern);
      assert.ok(!fs.existsSync(out), 'nothing written');
    });
  }
  it('a negative value may follow its option: --pixel-offset -0.5', () => {
    const d = tmpDir('neg');
    const r = runCli(['attack', '--model', 'cnn2_c1', '--image', SAMPLE, '--pixel-offset', '-0.5', '--out', d, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).psnr > 60);
  });
  it('--methods rgap,rgap runs rgap once, with a notice (it used to crash the study\'s output step)', () => {
    const d = tmpDir('dup');
    const r = runCli(['study', '--models', 'cnn2_c1', '--count', '1', '--methods', 'rgap,rgap', '--out', d]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /note: --methods lists rgap more than once; each is used once/);
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8'))[0].methods), ['rgap']);
  });
  it('help lists exactly the options a command takes', () => {
    const r = runCli(['demo', '--help']);
    assert.equal(r.status, 0);
    const listed = [...r.stdout.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(listed, ['debug', 'help', 'image', 'label', 'max-memory', 'model', 'out', 'seed']);
  });
});
