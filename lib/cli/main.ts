/**
 * `ddtb`: one entry point with subcommands. Each subcommand lives in its own file and is listed in
 * `commands` below. A UserError prints one line (`ddtb: ...`) and exits non-zero without a stack
 * trace; set DDTB_DEBUG=1 to see stacks.
 */
import { Command, helpText, parseCommandArgs, splitDotted } from './command';
import { UserError } from '../errors';
import { doctorCommand } from './doctor';
import { fetchCommand } from './fetch';
import { bicubicCommand } from './bicubic';
import { evalCommand } from './eval';
import { srCommand } from './sr';
import { exportCommand } from './export';
import { infoCommand } from './info';
import { trainCommand } from './train';
import { experimentCommand } from './experiment';
import { pretrainCommand } from './pretrain';
import { demoCommand } from './demo';
import { benchCommand } from './bench';

const commands: readonly Command[] = [doctorCommand, bicubicCommand, evalCommand, trainCommand, experimentCommand, pretrainCommand, demoCommand, srCommand, exportCommand, infoCommand, benchCommand, fetchCommand];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return ['usage: ddtb <command> [options]', '', 'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '', "Run 'ddtb <command> --help' for a command's options."].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) throw new UserError(`unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')})`);
  const { rest: plain, dotted } = cmd.dotted ? splitDotted(rest) : { rest, dotted: [] };
  const { options, positionals, help } = parseCommandArgs(cmd, plain);
  if (help) {
    console.log(helpText(cmd));
    return 0;
  }
  return (await cmd.run(options, positionals, dotted)) ?? 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      if (e instanceof UserError) {
        console.error(`ddtb: ${e.message}`);
        if (process.env.DDTB_DEBUG === '1') console.error(e.stack);
        process.exitCode = e.exitCode;
      } else {
        const err = e as Error;
        console.error(`ddtb: internal error: ${err?.message ?? String(e)}`);
        console.error(process.env.DDTB_DEBUG === '1' ? err?.stack : '(set DDTB_DEBUG=1 for the stack trace)');
        process.exitCode = 1;
      }
    },
  );
}
