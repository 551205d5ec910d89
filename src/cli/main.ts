#!/usr/bin/env node
import { InputError } from '../core/errors.js';
import { PRESETS } from '../core/presets.js';
import { ATTACK_HELP, runAttack } from './commands/attack.js';
import { AUDIT_HELP, runAudit } from './commands/audit.js';
import { COMPARE_HELP, runCompare } from './commands/compare.js';
import { DEMO_HELP, runDemo } from './commands/demo.js';
import { SIMULATE_HELP, runSimulate } from './commands/simulate.js';
import { STUDY_HELP, runStudy } from './commands/study.js';

const USAGE = `gradleak: how much do an image classifier's shared gradients leak the image?

${AUDIT_HELP}

${ATTACK_HELP}

${COMPARE_HELP}

${SIMULATE_HELP}

${STUDY_HELP}

${DEMO_HELP}

gradleak models
  Lists the preset architectures.

Every command: --help; --debug shows a stack trace on errors. Bad input exits with status 2.`;

const COMMANDS: Record<string, (argv: string[]) => void | Promise<void>> = {
  audit: runAudit,
  attack: runAttack,
  compare: runCompare,
  simulate: runSimulate,
  demo: runDemo,
  study: runStudy,
  models: () => {
    for (const [name, spec] of Object.entries(PRESETS)) {
      console.log(`${name.padEnd(10)} input ${spec.input.join('×')}  ${spec.layers.map((l) => (l.type === 'conv' ? `conv${l.out}k${l.kernel}s${l.stride}p${l.padding}` : `fc${l.out}`) + ':' + l.activation).join(' → ')}`);
    }
  },
};

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return 0;
  }
  const run = COMMANDS[cmd];
  try {
    if (!run) throw new InputError(`unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(', ')}; see gradleak --help)`);
    await run(rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (debug) console.error(e);
    else if (e instanceof InputError) console.error(`gradleak: error: ${e.message}`);
    else console.error(`gradleak: internal error: ${(e as Error).message} (run with --debug for the stack trace)`);
    return e instanceof InputError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
