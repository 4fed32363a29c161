/**
 * A real upstream for registry tests: Debian's Distribution registry (`docker-registry`)
 * started on loopback with its own config (plain HTTP, or TLS with a self-signed
 * certificate and htpasswd basic auth), and test images built here as OCI layouts (real
 * gzip'd tar layers, image manifests, a multi-platform index) and pushed with `skopeo`.
 * The registry logs one JSON line per request, which tests count (`requests`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { runCommand } from './cli.js';
import { waitFor } from './wait.js';

export interface RegistryOptions {
  /** TLS with a self-signed certificate for 127.0.0.1 (written to `certFile`, alone in its directory). */
  tls?: boolean;
  /** htpasswd basic auth with this user and password. */
  auth?: { user: string; password: string };
  /** Address and port to listen on (127.0.0.1 and a free port by default). */
  ip?: string;
  port?: number;
  /** Starts the process (e.g. inside a network namespace); a plain spawn by default. */
  spawn?: (argv: string[]) => ChildProcess;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  certFile?: string;
  pid: number;
  /** Requests the registry logged (with the body bytes it wrote), optionally only those matching method and path. */
  requests(filter?: { method?: string; path?: RegExp }): { method: string; uri: string; status: number; written: number }[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(dir: string, options: RegistryOptions = {}): Promise<RunningRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const host = `${options.ip ?? '127.0.0.1'}:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: json',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    'http:',
    `  addr: ${host}`,
  ];
  let certFile: string | undefined;
  if (options.tls) {
    // skopeo and containerd read CA files named *.crt from a directory.
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    certFile = path.join(dir, 'certs', 'ca.crt');
    const keyFile = path.join(dir, 'key.pem');
    const r = await runCommand('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile]);
    if (r.code !== 0) throw new Error(`openssl: ${r.stderr}`);
    lines.push('  tls:', `    certificate: ${certFile}`, `    key: ${keyFile}`);
  }
  if (options.auth) {
    const htpasswd = path.join(dir, 'htpasswd');
    const r = await runCommand('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', options.auth.password]);
    if (r.code !== 0) throw new Error(`bcrypt: ${r.stderr}`);
    writeFileSync(htpasswd, `${options.auth.user}:${r.stdout.trim()}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: canopy-test', `    path: ${htpasswd}`);
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const argv = ['docker-registry', 'serve', config];
  const child: ChildProcess = options.spawn ? options.spawn(argv) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    log.push(...parts);
  });
  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Its own log says when it listens (the test process may be outside its network namespace).
  await waitFor('the registry to listen', async () => {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log.slice(-3).join('\n')}`);
    return log.some((l) => l.includes('"listening on'));
  }, 20_000);
  return {
    host,
    url,
    certFile,
    pid: child.pid!,
    requests(filter = {}) {
      const out: { method: string; uri: string; status: number; written: number }[] = [];
      for (const line of log) {
        if (!line.startsWith('{')) continue;
        let e: Record<string, unknown>;
        try {
          e = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (e.msg !== 'response completed' && e.msg !== 'response completed with error') continue;
        const method = String(e['http.request.method']);
        const uri = String(e['http.request.uri']);
        if (filter.method && filter.method !== method) continue;
        if (filter.path && !filter.path.test(uri)) continue;
        out.push({ method, uri, status: Number(e['http.response.status']), written: Number(e['http.response.written'] ?? 0) });
      }
      return out;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface TestImage {
  /** The OCI layout directory, for `skopeo copy oci:DIR:TAG`. */
  layout: string;
  tag: string;
  /** The digest of what the tag names (an index when several platforms are built). */
  digest: string;
  /** Per platform (`os/arch`): the image manifest's digest and its layers. */
  platforms: Record<string, { manifest: string; config: string; layers: Descriptor[] }>;
  /** Every blob in the layout (manifests, configs, layers) by digest, with its size. */
  blobs: Map<string, number>;
}

export interface ImageSpec {
  tag?: string;
  /** Platforms to build, e.g. ['linux/amd64', 'linux/arm64']; one platform gives a plain image manifest. */
  platforms?: string[];
  /** Layer sizes in bytes (random, incompressible data in one file per layer); shared by all platforms except the last layer. */
  layerSizes?: number[];
}

/** Writes an OCI image layout with real gzip'd tar layers, one image per platform. */
export async function buildImage(dir: string, spec: ImageSpec = {}): Promise<TestImage> {
  const tag = spec.tag ?? 'v1';
  const platforms = spec.platforms ?? ['linux/amd64'];
  const sizes = spec.layerSizes ?? [64 * 1024, 200 * 1024, 10 * 1024];
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  const blobs = new Map<string, number>();
  const put = (data: Buffer, mediaType: string): Descriptor => {
    const hex = createHash('sha256').update(data).digest('hex');
    writeFileSync(path.join(blobsDir, hex), data);
    blobs.set(`sha256:${hex}`, data.length);
    return { mediaType, digest: `sha256:${hex}`, size: data.length };
  };
  const layer = async (name: string, size: number): Promise<{ desc: Descriptor; diffId: string }> => {
    const src = path.join(dir, 'src', name);
    mkdirSync(src, { recursive: true });
    await pipeline(randomStream(size), createWriteStream(path.join(src, `${name}.bin`)));
    const tarFile = path.join(dir, 'src', `${name}.tar`);
    const r = await runCommand('tar', ['--mtime=@0', '--owner=0', '--group=0', '-C', src, '-cf', tarFile, '.'], { timeoutMs: 1_800_000 });
    if (r.code !== 0) throw new Error(`tar: ${r.stderr}`);
    // Streamed, never whole in memory (a bench layer is hundreds of MiB). Level 0: the layers
    // are random bytes, which no level shrinks; stored deflate blocks are a real gzip stream made at disk speed.
    const tarHash = createHash('sha256');
    const gzHash = createHash('sha256');
    const gzFile = `${tarFile}.gz`;
    await pipeline(createReadStream(tarFile), hashing(tarHash), createGzip({ level: 0 }), hashing(gzHash), createWriteStream(gzFile));
    const hex = gzHash.digest('hex');
    renameSync(gzFile, path.join(blobsDir, hex));
    blobs.set(`sha256:${hex}`, statSync(path.join(blobsDir, hex)).size);
    return { desc: { mediaType: OCI_LAYER_GZIP, digest: `sha256:${hex}`, size: blobs.get(`sha256:${hex}`)! }, diffId: `sha256:${tarHash.digest('hex')}` };
  };
  const shared = [];
  for (const [i, size] of sizes.slice(0, -1).entries()) shared.push(await layer(`shared${i}`, size));
  const result: TestImage = { layout: dir, tag, digest: '', platforms: {}, blobs };
  const manifests: Descriptor[] = [];
  for (const platform of platforms) {
    const [os, architecture] = platform.split('/') as [string, string];
    const own = await layer(`own-${os}-${architecture}`, sizes[sizes.length - 1]!);
    const layers = [...shared, own];
    const config = put(Buffer.from(JSON.stringify({ architecture, os, config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } })), OCI_CONFIG);
    const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: layers.map((l) => l.desc) })), OCI_MANIFEST);
    manifests.push({ ...manifest, platform: { architecture, os } });
    result.platforms[platform] = { manifest: manifest.digest, config: config.digest, layers: layers.map((l) => l.desc) };
  }
  const top = manifests.length === 1 ? { ...manifests[0]!, platform: undefined } : put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })), OCI_INDEX);
  result.digest = top.digest;
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const ref = { mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'org.opencontainers.image.ref.name': tag } };
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [ref] }));
  return result;
}

/** Pushes an OCI layout's tag to `registry/repository:tag` with skopeo (every platform). */
export async function pushImage(image: TestImage, registry: RunningRegistry, repository: string, auth?: { user: string; password: string }, wrap: (argv: string[]) => string[] = (a) => a, timeoutMs = 120_000): Promise<void> {
  const args = ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', ...(auth ? ['--dest-creds', `${auth.user}:${auth.password}`] : []), `oci:${image.layout}:${image.tag}`, `docker://${registry.host}/${repository}:${image.tag}`];
  const [command, ...rest] = wrap(['skopeo', ...args]);
  const r = await runCommand(command!, rest, { timeoutMs });
  if (r.code !== 0) throw new Error(`skopeo copy to the registry failed: ${r.stderr}`);
}

/** SHA-256 digest of a file (or of `length` bytes from `offset`), `sha256:hex`, read in chunks. */
export function fileDigest(file: string, offset = 0, length = statSync(file).size - offset): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(4 * 2 ** 20);
  const fd = openSync(file, 'r');
  try {
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
      if (n === 0) throw new Error(`${file}: shorter than ${offset + length} bytes`);
      hash.update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** `size` random bytes as a stream, 1 MiB at a time. */
function randomStream(size: number): Readable {
  let left = size;
  return new Readable({
    read() {
      const n = Math.min(left, 2 ** 20);
      left -= n;
      this.push(n > 0 ? randomBytes(n) : null);
    },
  });
}

/** A pass-through stream that feeds every chunk to `hash`. */
function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

/**
 * A registry that misbehaves on purpose, in front of a real one: by repository name it
 * flips a byte of every blob (`wrong/...`), sends a manifest over 4 MiB (`huge/...`),
 * answers 401, 429 or 500 (`status401/...`, `status429/...`, `status500/...`) or never
 * answers (`silent/...`); `bearer/...` wants the bearer-token flow of Docker Hub-style
 * registries (a token from `/token`, which needs basic `puller:pull-pw`); anything else is
 * passed through unchanged to `upstream`.
 */
export async function startHostileRegistry(upstream: RunningRegistry): Promise<{ host: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/token?')) {
      const ok = req.headers.authorization === `Basic ${Buffer.from('puller:pull-pw').toString('base64')}` && new URL(url, 'http://x').searchParams.get('scope') === 'repository:bearer/test/app:pull';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(ok ? { token: 'good-token' } : { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    }
    const m = /^\/v2\/(wrong|huge|status401|status429|status500|silent|bearer)\/(.*)$/.exec(url);
    const mode = m?.[1];
    if (mode === 'bearer' && req.headers.authorization !== 'Bearer good-token') {
      const realm = `http://${req.headers.host}/token`;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${realm}",service="hostile",scope="repository:bearer/test/app:pull"` });
      return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token required' }] }));
    }
    if (mode === 'silent') return;
    if (mode?.startsWith('status')) {
      const status = Number(mode.slice(6));
      const code = status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN';
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '30' } : {}), ...(status === 401 ? { 'www-authenticate': 'Basic realm="hostile"' } : {}) });
      return void res.end(JSON.stringify({ errors: [{ code, message: `hostile ${status}` }] }));
    }
    if (mode === 'huge' && url.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      return void res.end(Buffer.alloc(5 * 2 ** 20, 0x20));
    }
    const target = mode ? `/v2/${m[2]}` : url;
    fetch(`${upstream.url}${target}`, { method: req.method, headers: { accept: String(req.headers.accept ?? '*/*') } })
      .then(async (up) => {
        let body = Buffer.from(await up.arrayBuffer());
        if (mode === 'wrong' && target.includes('/blobs/') && body.length > 0) {
          body = Buffer.from(body);
          body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
        }
        const headers: Record<string, string> = {};
        for (const k of ['content-type', 'docker-content-digest']) if (up.headers.get(k)) headers[k] = up.headers.get(k)!;
        res.writeHead(up.status, { ...headers, 'content-length': body.length });
        res.end(body);
      })
      .catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
