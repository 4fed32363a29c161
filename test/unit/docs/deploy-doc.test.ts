/**
 * docs/DEPLOY.md against the code, without hosts: every shell block is valid shell, every
 * `canopy` command names real subcommands and options (checked against the CLI's own command
 * tree) with their required arguments, and every YAML block is a node configuration the
 * node accepts. It does not run the commands (test/netns/deploy-doc.test.ts does, on hosts
 * made of network namespaces); it names the flag, key or subcommand that does not exist in
 * two seconds, without a build.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';
import { nodeConfigFrom, parseConfigText } from '../../../src/node/config-file.js';
import { docBlocks } from '../../helpers/doc-blocks.js';

const DOC = readFileSync(new URL('../../../docs/DEPLOY.md', import.meta.url), 'utf8');

/** Every fenced block: its language, the host it is tagged with (```sh root), its text. */
const FENCED = docBlocks(DOC).map((b) => ({ lang: b.lang, host: b.tag, text: b.text }));
/** The hosts a block may run on: the build machine, every host, the doc's hosts, a workstation, a host installed with npm. */
const HOSTS = ['build', 'all', 'root', 'edge1', 'edge2', 'edge3', 'workstation', 'npm-host'];

/** The fenced blocks of a language, in order. */
function blocks(lang: string): string[] {
  return FENCED.filter((b) => b.lang === lang).map((b) => b.text);
}

/** Splits a command line as sh would for plain words and '…'/"…" quoting (all DEPLOY.md uses). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** Problems with one `canopy ...` command line, as a user would meet them; empty when it parses. */
function check(program: Command, argv: string[]): string[] {
  let cmd = program;
  const known = new Map(program.options.map((o) => [o.long!, o]));
  let i = 0;
  for (; i < argv.length && !argv[i]!.startsWith('-'); i++) {
    const sub = cmd.commands.find((c) => c.name() === argv[i] || c.aliases().includes(argv[i]!));
    if (!sub) break;
    cmd = sub;
    for (const o of cmd.options) known.set(o.long!, o);
  }
  // `canopy --version` alone is a command too; any other first word must be a subcommand.
  if (cmd === program && argv.length === 1 && program.options.some((o) => o.long === argv[0] && !o.required && !o.optional)) return [];
  if (cmd === program) return [`"${argv[0]}" is not a canopy command`];
  if (cmd.commands.length > 0) return [`"${cmd.name()}" needs a subcommand (${cmd.commands.map((c) => c.name()).join(', ')})`];
  const problems: string[] = [];
  let operands = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      operands++;
      continue;
    }
    const [flag] = arg.split('=');
    const option = known.get(flag!) ?? (flag!.startsWith('--no-') ? undefined : known.get(`--no-${flag!.slice(2)}`));
    if (!option) problems.push(`${cmd.name()}: unknown option ${flag}`);
    else if ((option.required || option.optional) && !arg.includes('=')) {
      if (option.required && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) problems.push(`${cmd.name()}: ${flag} needs a value`);
      i++;
    }
  }
  const required = cmd.registeredArguments.filter((a) => a.required).length;
  if (operands < required) problems.push(`${cmd.name()}: needs ${required} argument(s), got ${operands}`);
  if (operands > cmd.registeredArguments.length && !cmd.registeredArguments.at(-1)?.variadic) problems.push(`${cmd.name()}: too many arguments (${operands})`);
  return problems;
}

describe('docs/DEPLOY.md', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'canopy-deploy-doc-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('tags every block with the host it runs on', () => {
    assert.deepEqual(FENCED.filter((b) => !HOSTS.includes(b.host)).map((b) => `${b.lang} ${b.host}: ${b.text.split('\n')[0]}`), []);
    assert.deepEqual([...new Set(FENCED.map((b) => b.lang))].sort(), ['sh', 'yaml']);
  });

  it('has only valid shell in its sh blocks', () => {
    const sh = blocks('sh');
    assert.ok(sh.length >= 10, `found ${sh.length} sh blocks`);
    for (const block of sh) {
      const r = spawnSync('bash', ['-n'], { input: block, encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stderr}\n${block}`);
    }
  });

  it('names only real canopy subcommands and options, with their arguments', async () => {
    const program = await buildProgram();
    const lines = blocks('sh').flatMap((b) => b.split('\n')).map((l) => l.trim().replace(/\s*&$/, '')).filter((l) => l.startsWith('canopy '));
    assert.ok(lines.length >= 10, `found ${lines.length} canopy commands`);
    const problems = lines.flatMap((l) => check(program, words(l).slice(1)).map((p) => `${l}\n  -> ${p}`));
    assert.deepEqual(problems, []);
    // The checker itself finds what it must.
    assert.match(check(program, ['nodes', 'lst'])[0]!, /"nodes" needs a subcommand \(list/);
    assert.match(check(program, ['publish', 'f', '--critera', 'x'])[0]!, /unknown option --critera/);
    assert.match(check(program, ['token', 'create', '--attrs'])[0]!, /--attrs needs a value/);
    assert.match(check(program, ['publishers', 'remove'])[0]!, /needs 1 argument/);
    assert.deepEqual(check(program, ['status', '--ca', 'x.crt', '--to', 'https://h:1', '--watch']), []);
  });

  it('shows only YAML the node accepts', () => {
    const users = path.join(tmp, 'ftp-users');
    writeFileSync(users, 'viewer:a-long-password\n');
    const yaml = blocks('yaml');
    assert.ok(yaml.length >= 4, `found ${yaml.length} yaml blocks`);
    for (const text of yaml) {
      const file = parseConfigText(text.replace(/usersFile: \S+/, `usersFile: ${users}`), 'DEPLOY.md');
      // The units give the root --root; a node's file has join.
      const config = nodeConfigFrom({ ...file, ...(file.join ? {} : { isRoot: true }), dataDir: path.join(tmp, 'data') }, tmp);
      assert.ok(config.apiPort > 0, text);
    }
  });
});
