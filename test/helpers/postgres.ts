/**
 * A throw-away PostgreSQL server for a test: `initdb` into a temp directory and `postgres`
 * on a free loopback port (Debian's binaries from the `postgresql` package), owned by the
 * `postgres` user when the tests run as root (PostgreSQL refuses to run as root). Nothing
 * global is touched: not the `15 main` cluster, not its port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => path.join(base, v, 'bin')).find((d) => existsSync(path.join(d, 'initdb')));
  if (!found) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;
/** Runs a PostgreSQL binary as the `postgres` user when we are root (setpriv execs it, so signals reach it directly). */
const pgCommand = (bin: string, args: string[]): [string, string[]] => (asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', bin, ...args]] : [bin, args]);

/**
 * Where the server runs: on loopback here (the default), or on a network namespace's
 * address with every command run through `prefix` (`ip netns exec NS`, test/netns/), where
 * only the namespaces reach it; it is then checked and set up with pg_isready and psql run
 * through the same prefix.
 */
export interface PgPlace {
  host: string;
  prefix: string[];
}

const LOCAL: PgPlace = { host: '127.0.0.1', prefix: [] };

export class TestPostgres {
  private child: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly place: PgPlace = LOCAL,
  ) {}

  /** Creates and starts a cluster, with database `canopy` (trust authentication on loopback only, or from the namespaces). */
  static async start(place: PgPlace = LOCAL): Promise<TestPostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), 'canopy-pg-'));
    if (asRoot) {
      const uid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres']).stdout.toString().trim());
      chownSync(dir, uid, gid);
    }
    const [cmd, args] = pgCommand(path.join(binDir(), 'initdb'), ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const init = spawnSync(cmd, args, { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const db = new TestPostgres(dir, place === LOCAL ? await freePort() : 5432, place);
    if (place !== LOCAL) {
      // Reached from the other namespaces' addresses (all on 10.77.0.0/16), trusted like loopback.
      const hba = `host all all 10.77.0.0/16 trust\n`;
      spawnSync('sh', ['-c', `cat >> '${path.join(dir, 'data', 'pg_hba.conf')}'`], { input: hba });
      await db.run();
      db.psql('postgres', 'CREATE DATABASE canopy');
      return db;
    }
    await db.run();
    const client = new pg.Client({ connectionString: db.url('postgres') });
    await client.connect();
    await client.query('CREATE DATABASE canopy');
    await client.end();
    return db;
  }

  /** Starts (or restarts) the server process and waits until it accepts connections. */
  async run(): Promise<void> {
    const [bin, binArgs] = pgCommand(path.join(binDir(), 'postgres'), ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-h', this.place.host, '-k', this.dir, '-c', 'fsync=off']);
    const [cmd, ...args] = [...this.place.prefix, bin, ...binArgs];
    const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    this.child = child;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`postgres exited: ${log}`);
      if (this.place !== LOCAL) {
        const [c0, ...cargs] = [...this.place.prefix, 'pg_isready', '-q', '-h', this.place.host, '-p', String(this.port)];
        if (spawnSync(c0!, cargs).status === 0) return;
        await sleep(100);
        continue;
      }
      const c = new pg.Client({ connectionString: this.url('postgres') });
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`postgres did not start: ${log}`);
  }

  url(db = 'canopy'): string {
    return `postgres://postgres@${this.place.host}:${this.port}/${db}`;
  }

  /** Runs SQL with psql where the server runs (through the place's prefix); returns psql's unaligned output. */
  psql(db: string, sql: string): string {
    const [cmd, ...args] = [...this.place.prefix, 'psql', '-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-h', this.place.host, '-p', String(this.port), '-U', 'postgres', '-d', db, '-c', sql];
    const r = spawnSync(cmd!, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: this.url() });
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /** Fast shutdown (SIGINT), waiting for the process to exit. */
  async halt(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }

  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
