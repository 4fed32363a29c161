/**
 * Blocks on disk, content-addressed by SHA-256 and spread over volumes by rendezvous
 * hashing. A write is: verify hash, temp file, fsync, rename, fsync directory, then the
 * index row. A reader therefore sees a block whole or not at all, and a crash leaves at
 * worst a temp file (removed by the start-up scrub) or an unindexed block (re-indexed).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { isHashHex, sha256Hex, sha256HexOffThread } from '../core/hash.js';
import { IndexDb } from './index-db.js';
import { rankVolumes, type WeightedVolume } from './placement.js';

export interface VolumeConfig {
  readonly path: string;
  readonly weight?: number;
}

interface Volume extends WeightedVolume {
  readonly dir: string;
}

export interface StoreStats {
  volumes: { id: string; path: string; bytes: number; blocks: number }[];
  bytes: number;
  blocks: number;
}

export class BlockStore {
  readonly index: IndexDb;
  private readonly volumes: Volume[];
  private readonly madeDirs = new Set<string>();

  constructor(dataDir: string, volumeConfigs: readonly VolumeConfig[]) {
    if (volumeConfigs.length === 0) throw new CanopyError('ERR_CONFIG_INVALID', 'volumes: at least one volume is needed');
    mkdirSync(dataDir, { recursive: true });
    this.volumes = volumeConfigs.map((v, i) => {
      const dir = path.resolve(v.path);
      mkdirSync(path.join(dir, 'blocks'), { recursive: true });
      mkdirSync(path.join(dir, 'tmp'), { recursive: true });
      return { id: `v${i}`, dir, weight: v.weight ?? 1 };
    });
    this.index = new IndexDb(path.join(dataDir, 'index.db'));
    this.scrub();
  }

  has(hash: string): boolean {
    return this.index.getBlock(hash) !== undefined;
  }

  /**
   * Stores a block under the SHA-256 of its bytes and returns that hash. With `expected`,
   * bytes that do not hash to it are refused before anything touches the disk. Storing a
   * block already held is a no-op.
   */
  async put(data: Buffer, expected?: string): Promise<string> {
    const hash = sha256Hex(data);
    if (expected !== undefined && hash !== expected) throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', `block bytes hash to ${hash.slice(0, 12)}, expected ${expected.slice(0, 12)}`);
    await this.store(hash, data);
    return hash;
  }

  private async store(hash: string, data: Buffer): Promise<void> {
    if (this.has(hash)) return;
    const volume = rankVolumes(hash, this.volumes)[0]!;
    const finalPath = this.blockPath(volume, hash);
    const tmpPath = path.join(volume.dir, 'tmp', `${hash}.${randomBytes(6).toString('hex')}`);
    try {
      const fh = await open(tmpPath, 'wx');
      try {
        await fh.writeFile(data);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      const dir = path.dirname(finalPath);
      this.ensureDir(dir);
      await rename(tmpPath, finalPath);
      await fsyncDir(dir);
    } catch (err) {
      await unlink(tmpPath).catch(() => undefined);
      throw new CanopyError('ERR_STORE_IO', `writing block ${hash.slice(0, 12)} to ${volume.dir} failed: ${(err as Error).message}`, { cause: err });
    }
    this.index.putBlock({ hash, volume: volume.id, length: data.length });
  }

  /**
   * `put` for a caller that has just computed `hash` from these very bytes in this process
   * (the ingest pipeline), so they are not hashed twice. `hint` (content and block index)
   * is for striping; this store places by hash alone.
   */
  async putHashed(hash: string, data: Buffer, _hint?: { stripe: string; index: number }): Promise<void> {
    await this.store(hash, data);
  }

  /** Reads a whole block and checks it against its hash, so a bit flip on disk is never served. */
  async get(hash: string): Promise<Buffer> {
    const row = this.index.getBlock(hash);
    if (!row) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `block ${hash.slice(0, 12)} is not held here`);
    const volume = this.volumes.find((v) => v.id === row.volume);
    if (!volume) throw new CanopyError('ERR_STORE_IO', `block ${hash.slice(0, 12)} is on unknown volume ${row.volume}`);
    let data: Buffer;
    try {
      data = await readFile(this.blockPath(volume, hash));
    } catch (err) {
      this.index.deleteBlock(hash);
      throw new CanopyError('ERR_BLOCK_NOT_FOUND', `block ${hash.slice(0, 12)} is missing from ${volume.dir}`, { cause: err });
    }
    if ((await sha256HexOffThread(data)) !== hash) {
      this.index.deleteBlock(hash);
      await unlink(this.blockPath(volume, hash)).catch(() => undefined);
      throw new CanopyError('ERR_BLOCK_NOT_FOUND', `block ${hash.slice(0, 12)} was corrupt on ${volume.dir} and has been dropped`);
    }
    return data;
  }

  /** Forgets a block: the index row goes first, so the block is never served while its file is removed. */
  async delete(hash: string): Promise<void> {
    const row = this.index.getBlock(hash);
    if (!row) return;
    this.index.deleteBlock(hash);
    const volume = this.volumes.find((v) => v.id === row.volume);
    if (volume) await unlink(this.blockPath(volume, hash)).catch(() => undefined);
  }

  stats(): StoreStats {
    const usage = new Map(this.index.volumeUsage().map((u) => [u.volume, u]));
    const volumes = this.volumes.map((v) => ({ id: v.id, path: v.dir, bytes: usage.get(v.id)?.bytes ?? 0, blocks: usage.get(v.id)?.blocks ?? 0 }));
    return { volumes, bytes: volumes.reduce((s, v) => s + v.bytes, 0), blocks: volumes.reduce((s, v) => s + v.blocks, 0) };
  }

  close(): void {
    this.index.close();
  }

  private blockPath(volume: Volume, hash: string): string {
    return path.join(volume.dir, 'blocks', hash.slice(0, 2), hash);
  }

  private ensureDir(dir: string): void {
    if (this.madeDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  /**
   * Start-up reconciliation after a crash: temp files are deleted, index rows whose file is
   * gone are dropped, and complete block files the index lost are indexed again (their
   * bytes are checked on every read, so a re-indexed block is never served unverified).
   */
  private scrub(): void {
    const indexed = new Map(this.index.allBlocks().map((b) => [b.hash, b]));
    for (const volume of this.volumes) {
      rmSync(path.join(volume.dir, 'tmp'), { recursive: true, force: true });
      mkdirSync(path.join(volume.dir, 'tmp'), { recursive: true });
      for (const shard of readdirSync(path.join(volume.dir, 'blocks'))) {
        for (const name of readdirSync(path.join(volume.dir, 'blocks', shard))) {
          const row = indexed.get(name);
          if (row && row.volume === volume.id) {
            indexed.delete(name);
          } else if (isHashHex(name) && !row) {
            this.index.putBlock({ hash: name, volume: volume.id, length: statSync(path.join(volume.dir, 'blocks', shard, name)).size });
          }
        }
      }
    }
    for (const missing of indexed.values()) this.index.deleteBlock(missing.hash);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
