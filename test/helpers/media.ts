/** Real media files for edge tests, made with ffmpeg: an H.264 MP4 with its moov at the end, the same as MPEG-TS and as fragmented MP4. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCommand } from './cli.js';

export interface MediaFiles {
  mp4: string;
  ts: string;
  fmp4: string;
}

export async function makeMedia(dir: string, seconds = 20): Promise<MediaFiles> {
  const mp4 = path.join(dir, 'clip.mp4');
  const ts = path.join(dir, 'clip.ts');
  const fmp4 = path.join(dir, 'frag.mp4');
  const ff = async (args: string[]) => {
    const r = await runCommand('ffmpeg', ['-v', 'error', '-y', ...args]);
    assert.equal(r.code, 0, r.stderr);
  };
  await ff(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', mp4]);
  await ff(['-i', mp4, '-c', 'copy', ts]);
  await ff(['-i', mp4, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', fmp4]);
  return { mp4, ts, fmp4 };
}

/** Frames ffmpeg decodes from a file or URL, and its error output (empty when the read was clean). */
export async function decode(input: string): Promise<{ code: number | null; frames: number; errors: string }> {
  const r = await runCommand('ffmpeg', ['-v', 'error', '-nostdin', '-i', input, '-map', '0:v:0', '-f', 'null', '-progress', 'pipe:1', '-'], { timeoutMs: 300_000 });
  const frames = [...r.stdout.matchAll(/^frame=(\d+)/gm)].map((m) => Number(m[1]));
  return { code: r.code, frames: frames.length ? frames[frames.length - 1]! : 0, errors: r.stderr.trim() };
}
