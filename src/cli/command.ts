import { optionHelp, type Args, type OptionTable } from './options.js';

/** A command of the CLI: its synopsis, the options it takes (and only those) and what it does. */
export interface Command {
  name: string;
  /** Synopsis and a few lines on what it does. */
  usage: string;
  options: OptionTable;
  run(a: Args): void | Promise<void>;
}

export function helpText(c: Command): string {
  return `${c.usage}\n\nOptions:\n${optionHelp(c.options)}`;
}
