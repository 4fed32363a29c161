/**
 * The Content-Type an edge server announces: the manifest's media type when the publisher
 * gave one, else a guess from the name's extension, so players recognise media by type.
 */
const BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  m4s: 'video/iso.segment',
  m4a: 'audio/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  ts: 'video/mp2t',
  m2ts: 'video/mp2t',
  mp3: 'audio/mpeg',
  m3u8: 'application/vnd.apple.mpegurl',
  iso: 'application/x-iso9660-image',
  img: 'application/octet-stream',
  qcow2: 'application/x-qemu-disk',
  tar: 'application/x-tar',
  gz: 'application/gzip',
  zst: 'application/zstd',
  zip: 'application/zip',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  safetensors: 'application/octet-stream',
};

export function mediaTypeOf(name: string, declared: string): string {
  if (declared !== 'application/octet-stream') return declared;
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || declared;
}
