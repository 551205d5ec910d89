#!/usr/bin/env node
import { InputError } from '../core/errors.js';
import { parameterCount } from '../model/graph.js';
import { presetGraph, presetNames } from '../model/presets.js';
import { helpText, type Command } from './command.js';
import { attackCommand } from './commands/attack.js';
import { auditCommand } from './commands/audit.js';
import { compareCommand } from './commands/compare.js';
import { defendCommand } from './commands/defend.js';
import { demoCommand } from './commands/demo.js';
import { simulateCommand } from './commands/simulate.js';
import { studyCommand } from './commands/study.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';
import { textTable } from '../app/tables.js';
import { parseOptions } from './options.js';

const modelsCommand: Command = {
  name: 'models',
  usage: 'gradleak models\n'
    + '  Lists the preset models with their parameter counts: the literature\'s graphs, the 34 chain\n'
    + '  architectures of the study and its one-factor sweep models.',
  options: {},
  run: () => {
    const rows = presetNames().map(({ name, kind }) => {
      const g = presetGraph(name)!;
      const ops = [...new Set(g.nodes.map((n) => n.op.name))].filter((o) => o !== 'flatten');
      const { trainable } = parameterCount(g);
      return [name, kind, g.input.join('×'), String(trainable), String(g.nodes.length), ops.join(', ')];
    });
    const head = ['model', 'kind', 'input', 'parameters', 'nodes', 'ops'];
    // the counts read right-aligned
    for (const line of textTable(head, rows, (c) => c !== 3 && c !== 4)) console.log(line);
  },
};

const COMMANDS: readonly Command[] = [
  auditCommand, attackCommand, compareCommand, simulateCommand, studyCommand, defendCommand, workerCommand,
  trainCommand, demoCommand,
  modelsCommand,
];

const USAGE = `gradleak: how much do an image classifier's shared gradients leak the image?

${COMMANDS.map((c) => c.usage).join('\n\n')}

'gradleak <command> --help' lists a command's options. Every command that computes takes --max-memory SIZE
(the memory ceiling; default half of the machine's memory); every command takes --debug (stack traces).
Bad input exits with status 2 and one line on stderr.`;

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) {
      throw new InputError(`unknown command ${JSON.stringify(name.slice(0, 40))} `
        + `(commands: ${COMMANDS.map((c) => c.name).join(', ')}; see gradleak --help)`);
    }
    const args = parseOptions(command.name, rest, command.options);
    if (args.flag('help')) {
      console.log(helpText(command));
      return 0;
    }
    await command.run(args);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (debug) console.error(e);
    else if (e instanceof InputError) console.error(`gradleak: error: ${e.message}`);
    else console.error(`gradleak: internal error: ${oneLine(e)} (run with --debug for the stack trace)`);
    return e instanceof InputError ? 2 : 1;
  }
}

/** A thrown value as one line, whatever it is (a RangeError from a full stack, a string...). */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
