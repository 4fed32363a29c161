#!/usr/bin/env node
/** The `canopy` command: one file per subcommand under ./commands, assembled in ./program.ts. */
// First, before the rest of the program is even loaded (loading it allocates enough to grow
// the young generation): it keeps V8's young generation small (young-generation.ts).
import './young-generation.js';

const { CommanderError } = await import('commander');
const { isCanopyError } = await import('../core/errors.js');
const { reportError } = await import('./output.js');
const { buildProgram, commandOf } = await import('./program.js').catch(failedToLoad);
const { tuneForCommand } = await import('./compiler-tiers.js');
const command = commandOf(process.argv.slice(2));
tuneForCommand(command);
const program = await buildProgram(command).catch(failedToLoad);
const { keysAsOperands, valueOptions } = await import('./dash-operands.js');
const takesValue = valueOptions(program);
try {
  await program.parseAsync([...process.argv.slice(0, 2), ...keysAsOperands(process.argv.slice(2), (w) => takesValue.has(w))]);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else throw err;
}

/**
 * Settings read while the program loads (a size in CANOPY_BLOCK_POOL, read when the block pool
 * is made) fail before any command runs: reported as a command's error is, not as a stack
 * trace. Anything else is a bug and stays loud.
 */
function failedToLoad(err: unknown): never {
  if (!isCanopyError(err)) throw err;
  process.exit(reportError(err, process.argv.includes('--json')));
}
