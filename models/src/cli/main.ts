#!/usr/bin/env node
/** The glmedsa command line. */
import { UsageError } from './args.js';
import { checkFixtureCommand, checkFixtureHelp } from './check-fixture-command.js';
import { CLI_EXIT } from './contract.js';
import { exportCommand, exportHelp } from './export-command.js';
import { evalCommand, evalHelp } from './eval-command.js';
import { predictCommand, predictHelp } from './predict-command.js';
import { propagateCommand, propagateHelp } from './propagate-command.js';
import { synthCommand, synthHelp } from './synth-command.js';
import { trainCommand, trainHelp } from './train-command.js';

interface Command {
  help: string;
  run(argv: string[]): Promise<number | void>;
}

const COMMANDS: Record<string, Command> = {
  export: { help: exportHelp, run: exportCommand },
  predict: { help: predictHelp, run: predictCommand },
  propagate: { help: propagateHelp, run: propagateCommand },
  'check-fixture': { help: checkFixtureHelp, run: checkFixtureCommand },
  synth: { help: synthHelp, run: synthCommand },
  train: { help: trainHelp, run: trainCommand },
  eval: { help: evalHelp, run: evalCommand },
};

function usage(): string {
  return `usage: glmedsa <command> [options]   (glmedsa <command> --help for details)\n\n${Object.values(COMMANDS)
    .map((c) => c.help.split('\n')[0])
    .join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? CLI_EXIT.ok : CLI_EXIT.usage;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`glmedsa: unknown command '${name}'\n${usage()}`);
    return CLI_EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.help}\n`);
    return CLI_EXIT.ok;
  }
  const code = await cmd.run(rest);
  return typeof code === 'number' ? code : CLI_EXIT.ok;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usageError = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`glmedsa: ${message}\n`);
    if (process.env['GLMEDSA_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = usageError ? CLI_EXIT.usage : CLI_EXIT.failed;
  },
);
