/**
 * docs/DEPLOY.md run as written, on hosts made of network namespaces: the commands are taken
 * from the document at run time (each block is tagged with its host, ```sh root), so the doc
 * cannot drift from what works.
 *
 * Hosts: `root` 10.0.0.1, `edge1` 10.0.0.11, `edge3` 10.0.0.13 and `workstation` 10.0.0.50,
 * each a namespace holding the doc's own address (no address is rewritten). Each host has one
 * long-lived bash fed the blocks in document order, one line at a time (exports carry over as
 * in an operator's shell; every line must exit 0). `all` blocks run on root, edge1 and edge3;
 * section 2's ("Hosts without the package") also on the workstation. `edge3` runs section 6's
 * `edge1` blocks with its own name, address and token, as section 6 tells the reader to.
 *
 * What differs from a real host, and why:
 * - Paths: the namespaces share one file system, so these prefixes, and only these, are
 *   rewritten to a per-host directory, in the blocks and in the units' ExecStart lines:
 *   /etc/canopy, /etc/systemd/system, /var/lib/canopy, /srv, /usr/local/bin; /opt/canopy (where
 *   "Hosts without the package" copies the built tree) is this checkout, run from dist/.
 * - systemd: `systemctl` and `journalctl` are shims (deploy-doc-shims/) that run the unit's
 *   ExecStart as its User (root only if that user cannot read the checkout) and wait for the
 *   node's ready line.
 * - Skipped: section 1 (`build`: npm ci and npm run package take minutes; CI builds the
 *   package in test/package), the `npm-host` block (test/package/npm-install.test.ts runs
 *   it), every `apt ...` line (the .deb is installed and purged by test/package/deb.test.ts;
 *   here the hosts are installed as "Hosts without the package").
 * - The reader's own inputs: `film.mp4` (4 MiB of random bytes made here) and the copy of the
 *   root's CA to `canopy-ca.crt` that section 8 asks for. Placeholders (PASTE-THE-…) are
 *   filled with the first line the command the doc names printed (`canopy token create`,
 *   `canopy keys show`, `canopy api-token create`, `canopy publish`).
 * - The `canopy` user is made by the doc's own `useradd` line when missing, and deleted at the
 *   end if this test made it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
// Sets the tests' own publisher key (CANOPY_KEY) on import: the user's is never touched.
import '../helpers/cli.js';
import { keptOnFailure } from '../helpers/temp-dirs.js';
import { docBlocks } from '../helpers/doc-blocks.js';
import { waitFor } from '../helpers/wait.js';
import { NetnsHarness, type Host } from './harness.js';
import { HostShell } from './host-shell.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const SHIMS = path.join(here, 'deploy-doc-shims');
const DOC = readFileSync(path.join(repo, 'docs', 'DEPLOY.md'), 'utf8');
const HOSTS: Record<string, string> = { root: '10.0.0.1', edge1: '10.0.0.11', edge3: '10.0.0.13', workstation: '10.0.0.50' };
const CANOPY_HOSTS = ['root', 'edge1', 'edge3'];
const PER_HOST = ['/etc/canopy', '/etc/systemd/system', '/var/lib/canopy', '/srv', '/usr/local/bin'];
/** A prefix is rewritten only where a path starts (not inside an already rewritten one). */
const BEFORE_PATH = '(^|[^A-Za-z0-9_./])';

interface Block { lang: string; host: string; section: string; text: string }

/** The fenced blocks in order, each with its host tag and the number of the section it is in. */
function parseBlocks(doc: string): Block[] {
  return docBlocks(doc, /^## (\d+)\./).filter((b) => b.tag !== '').map((b) => ({ lang: b.lang, host: b.tag, section: b.section, text: b.text }));
}

/** The prefixes a host's paths move to: [from, to]. */
function rewrites(hostDir: string): [string, string][] {
  return [...PER_HOST.map((p): [string, string] => [p, `${hostDir}${p}`]), ['/opt/canopy', repo]];
}

function rewrite(text: string, hostDir: string): string {
  let out = text;
  for (const [from, to] of rewrites(hostDir)) out = out.replace(new RegExp(`${BEFORE_PATH}${from}`, 'gm'), (_m, pre: string) => `${pre}${to}`);
  return out;
}

/** An operator's shell on a DEPLOY.md host: its own PATH (the shims), HOME and rewrite rules. */
function deployShell(harness: NetnsHarness, host: Host, dir: string): HostShell {
  const env = { PATH: `${dir}/usr/local/bin:${SHIMS}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: `${dir}/home`, LANG: 'C.UTF-8', DEPLOY_HOST_DIR: dir, DEPLOY_REWRITE: `${dir}/rewrite.sed`, DEPLOY_READ_PROBE: path.join(repo, 'dist', 'cli', 'main.js') };
  return new HostShell(harness, host, dir, { cwd: `${dir}/home`, env });
}

describe('docs/DEPLOY.md in network namespaces', () => {
  const dir = keptOnFailure('canopy-deploy-doc-');
  const hostDir = (name: string) => path.join(dir.path, 'hosts', name);
  const shells = new Map<string, HostShell>();
  const userExisted = (() => {
    try {
      execFileSync('id', ['-u', 'canopy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  let harness: NetnsHarness;
  /** Every line run so far, with its host and output: where placeholders are filled from. */
  const ran: { host: string; line: string; out: string }[] = [];

  before(() => {
    assert.ok(existsSync(path.join(repo, 'dist', 'cli', 'main.js')), 'needs the build (npm run build): "Hosts without the package" runs dist/');
    // The units run as the `canopy` user: it must reach the hosts' directories.
    chmodSync(dir.path, 0o755);
    harness = NetnsHarness.create(Object.keys(HOSTS).map((name) => ({ name })));
    for (const [name, ip] of Object.entries(HOSTS)) {
      const h = hostDir(name);
      for (const d of ['etc/systemd/system', 'usr/local/bin', 'home', 'run']) mkdirSync(path.join(h, d), { recursive: true });
      writeFileSync(path.join(h, 'rewrite.sed'), rewrites(h).map(([from, to]) => `s#${BEFORE_PATH}${from}#\\1${to}#g\n`).join(''));
      harness.exec(harness.host(name).ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      shells.set(name, deployShell(harness, harness.host(name), h));
    }
    writeFileSync(path.join(hostDir('workstation'), 'home', 'film.mp4'), randomBytes(4 * 2 ** 20));
  });

  after(async () => {
    for (const shell of shells.values()) shell.close();
    // The units' processes are the shells' children, not the harness's: stop them by their pid files.
    for (const name of Object.keys(HOSTS)) {
      const run = path.join(hostDir(name), 'run');
      for (const f of existsSync(run) ? readdirSync(run).filter((x) => x.endsWith('.pid')) : []) {
        try {
          process.kill(Number(readFileSync(path.join(run, f), 'utf8')), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    await harness?.stop();
    if (!userExisted) execFileSync('sh', ['-c', 'id -u canopy >/dev/null 2>&1 && userdel canopy || true']);
    dir.removeIfPassed();
  });

  /** The first line a command (named by the start of its line) printed on a host. */
  function printed(host: string, command: string, nth = 0): string {
    const hit = ran.filter((r) => r.host === host && r.line.startsWith(command))[nth];
    assert.ok(hit, `the doc runs "${command}" on ${host} before it asks for its output`);
    return hit.out.trim().split('\n')[0]!.trim();
  }

  /** The doc's placeholders, filled as the doc tells the reader to. */
  function fill(line: string, host: string): string {
    const out = line
      .replace('cj1.PASTE-THE-TOKEN', () => printed('root', 'canopy token create', ['edge1', 'edge2', 'edge3'].indexOf(host)))
      .replace('PASTE-THE-KEY-FROM-keys-show', () => printed('workstation', 'canopy keys show'))
      .replace('cat1.PASTE-THE-PUBLISH-TOKEN', () => printed('root', 'canopy api-token create'))
      .replace('PASTE-THE-CONTENT-ID', () => printed('workstation', 'canopy publish'));
    assert.doesNotMatch(out, /PASTE-THE/, `a placeholder the test does not know: ${line}`);
    return out;
  }

  async function runBlock(block: Block, host: string): Promise<void> {
    const shell = shells.get(host)!;
    const text = host === block.host || block.host === 'all' ? block.text : block.text.replaceAll(block.host, host).replaceAll(HOSTS[block.host]!, HOSTS[host]!);
    if (block.lang === 'yaml') {
      // "in /etc/canopy/root.yaml", then "add to /etc/canopy/root.yaml": each host's blocks go to its file, in order.
      const file = path.join(shell.dir, 'etc', 'canopy', `${host}.yaml`);
      writeFileSync(file, (existsSync(file) ? readFileSync(file, 'utf8') : '') + rewrite(text, shell.dir));
      return;
    }
    if (host === 'workstation' && text.includes('canopy-ca.crt') && !existsSync(path.join(shell.dir, 'home', 'canopy-ca.crt'))) {
      copyFileSync(path.join(hostDir('root'), 'var', 'lib', 'canopy', 'root', 'security', 'ca.crt'), path.join(shell.dir, 'home', 'canopy-ca.crt'));
    }
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || /^apt /.test(line)) continue;
      const { rc, out } = await shell.run(rewrite(fill(line, host), shell.dir));
      ran.push({ host, line, out });
      // DEPLOY_DOC_TRACE=1 shows the session as an operator would see it.
      if (process.env.DEPLOY_DOC_TRACE) console.log(`${host}# ${line}\n${out.trimEnd()}`);
      assert.equal(rc, 0, `on ${host}: ${line}\n${out}`);
    }
  }

  it('runs every block on its host, in document order', async () => {
    const t0 = Date.now();
    const blocks = parseBlocks(DOC);
    assert.ok(blocks.length >= 20, `found ${blocks.length} blocks`);
    for (const block of blocks) {
      // The build machine's blocks, and the npm install that test/package/npm-install.test.ts runs.
      if (block.host === 'build' || block.host === 'npm-host') continue;
      const hosts = block.host === 'all' ? [...CANOPY_HOSTS, ...(block.section === '2' ? ['workstation'] : [])] : [block.host];
      // Section 6: "then edge2, edge3 with their own address, token and disks".
      if (block.section === '6' && block.host === 'edge1') hosts.push('edge3');
      for (const host of hosts) await runBlock(block, host);
    }
    const out = (host: string, command: string) => ran.filter((r) => r.host === host && r.line.startsWith(command)).map((r) => r.out).join('\n');
    assert.match(out('root', 'systemctl status canopy-root'), /active \(running\)/);
    assert.match(out('root', 'curl -s http://127.0.0.1:7401/readyz'), /"ready":true/);
    // Section 6 lists the members (section 7's list, seconds after a restart, may say they are rejoining).
    assert.match(out('root', 'canopy nodes list'), /edge1/);
    // Section 9: the root sees each member up, with its volumes, through no token of theirs.
    for (const edge of ['edge1', 'edge3']) assert.match(out('root', 'canopy top --once'), new RegExp(`^${edge} .* up +\\S+ \\S+ +\\S+ \\S+`, 'm'));
    await waitFor('edge1 to log its reload', async () => readFileSync(path.join(hostDir('edge1'), 'run', 'canopy-node@edge1.log'), 'utf8').includes('settings reloaded'));
    assert.match(out('root', 'curl --cacert'), /"ready":true/);
    // Section 4: "/var/lib/canopy/root/api-token (mode 0600, user canopy)", the unit's User.
    const token = statSync(path.join(hostDir('root'), 'var', 'lib', 'canopy', 'root', 'api-token'));
    assert.equal(token.mode & 0o777, 0o600);
    if (!readFileSync(path.join(hostDir('root'), 'run', 'canopy-root.log'), 'utf8').includes('running as root')) {
      assert.equal(token.uid, Number(execFileSync('id', ['-u', 'canopy'], { encoding: 'utf8' })));
    }
    // Section 11: edge3 is no longer listed, stopped and its data gone; edge1 still serves.
    const listed = ran.filter((r) => r.host === 'root' && r.line === 'canopy nodes list');
    assert.doesNotMatch(listed.at(-1)!.out, /edge3/);
    assert.ok(!existsSync(path.join(hostDir('edge3'), 'var', 'lib', 'canopy')));
    assert.match(execFileSync('ip', ['netns', 'exec', harness.host('edge1').ns, 'curl', '-s', 'http://127.0.0.1:7401/readyz'], { encoding: 'utf8' }), /ready/);
    console.log(`DEPLOY.md ran in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${ran.length} lines`);
  });
});
