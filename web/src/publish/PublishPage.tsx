// The publishing page: pick or drop a file, choose who may hold it, and publish. The file is
// hashed here (in a worker), announced from its hashes, then uploaded with tus; a closed
// tab or a dropped network resumes where the node's copy ends.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Upload } from 'tus-js-client';
import { api, formatBytes } from '../api';
import { CriteriaEditor } from './CriteriaEditor';
import { hashInWorker } from './hash-file';
import { SpreadLine } from './SpreadLine';

type Phase = 'idle' | 'hashing' | 'announcing' | 'uploading' | 'paused' | 'done' | 'error';

interface DraftRecord {
  contentId: string;
}

/** Same file, same name, same criteria: the draft made before the tab closed is reused. */
function draftKey(file: File, name: string, criteria: string): string {
  return `canopy:draft:${name}:${file.size}:${file.lastModified}:${criteria}`;
}

function chunkSize(): number {
  const q = Number(new URLSearchParams(location.search).get('chunk'));
  return Number.isFinite(q) && q > 0 ? q : 16 * 2 ** 20;
}

async function serverOffset(url: string): Promise<number> {
  const res = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
  return res.ok ? Number(res.headers.get('Upload-Offset') ?? 0) : 0;
}

export function PublishPage() {
  const [file, setFile] = useState<File | undefined>();
  const [name, setName] = useState('');
  const [criteria, setCriteria] = useState('*');
  const [phase, setPhase] = useState<Phase>('idle');
  const [hashed, setHashed] = useState(0);
  const [uploaded, setUploaded] = useState(0);
  const [message, setMessage] = useState('');
  const [contentId, setContentId] = useState<string | undefined>();
  const [resumedFrom, setResumedFrom] = useState<number | undefined>();
  const [dragging, setDragging] = useState(false);
  const [analysis, setAnalysis] = useState<string | undefined>();
  const upload = useRef<Upload | undefined>();

  useEffect(() => () => void upload.current?.abort(), []);

  const choose = (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    setName(f.name);
    setPhase('idle');
    setHashed(0);
    setUploaded(0);
    setMessage('');
    setContentId(undefined);
    setResumedFrom(undefined);
    setAnalysis(undefined);
  };

  const publish = async () => {
    if (!file) return;
    try {
      const key = draftKey(file, name, criteria);
      const saved = localStorage.getItem(key);
      let id = saved ? (JSON.parse(saved) as DraftRecord).contentId : undefined;
      if (!id) {
        const { blockSize } = await api<{ blockSize: number }>('/api/publish/settings');
        setPhase('hashing');
        const h = await hashInWorker(file, blockSize, setHashed);
        setHashed(file.size);
        setMessage(`hashed ${formatBytes(file.size)} in ${h.seconds.toFixed(2)} s (${formatBytes(file.size / Math.max(h.seconds, 0.001))}/s), SHA-256 ${h.sha256.slice(0, 16)}…`);
        setAnalysis(`${h.analysis.kind} · ${h.analysis.mediaType} · ${h.analysis.linear ? 'linear' : 'not linear'}${h.analysis.notes.length ? ` · ${h.analysis.notes.join('; ')}` : ''}`);
        setPhase('announcing');
        const draft = await api<{ contentId: string }>('/api/publish/drafts', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, criteria, size: file.size, blockSize, mediaType: h.analysis.mediaType, blocks: h.blocks, sha256: h.sha256 }),
        });
        id = draft.contentId;
        localStorage.setItem(key, JSON.stringify({ contentId: id } satisfies DraftRecord));
      } else {
        setHashed(file.size);
        setMessage('this file was hashed and announced in an earlier tab; resuming its upload');
      }
      setContentId(id);
      await startUpload(file, id, key);
    } catch (err) {
      setPhase('error');
      setMessage((err as Error).message);
    }
  };

  const startUpload = async (f: File, id: string, key: string) => {
    const u = new Upload(f, {
      endpoint: '/api/uploads',
      chunkSize: chunkSize(),
      retryDelays: [0, 500, 1000, 2000, 3000, 5000, 10000],
      metadata: { contentId: id, filename: f.name },
      // One upload per announced content: the fingerprint is the content id, not the file.
      fingerprint: async () => `canopy-tus:${id}`,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (done) => setUploaded(done),
      onSuccess: () => {
        localStorage.removeItem(key);
        setUploaded(f.size);
        setPhase('done');
      },
      onError: (err) => {
        setPhase('error');
        setMessage(err.message.split('\n')[0] ?? String(err));
      },
    });
    upload.current = u;
    const previous = await u.findPreviousUploads();
    if (previous[0]) {
      u.resumeFromPreviousUpload(previous[0]);
      if (previous[0].uploadUrl) {
        const offset = await serverOffset(previous[0].uploadUrl);
        setResumedFrom(offset);
        setUploaded(offset);
      }
    }
    setPhase('uploading');
    u.start();
  };

  const pause = () => {
    void upload.current?.abort();
    setPhase('paused');
  };
  const resume = () => {
    upload.current?.start();
    setPhase('uploading');
  };

  const busy = phase === 'hashing' || phase === 'announcing' || phase === 'uploading' || phase === 'paused';
  return (
    <div class="publish">
      <section
        class={`panel dropzone ${dragging ? 'dragging' : ''}`}
        onDragOver={(e) => (e.preventDefault(), setDragging(true))}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          choose(e.dataTransfer?.files[0]);
        }}
      >
        <h2>1. Pick or drop a file</h2>
        <input type="file" data-testid="file-input" disabled={busy} onChange={(e) => choose((e.target as HTMLInputElement).files?.[0])} />
        {file && (
          <p>
            {file.name} · {formatBytes(file.size)}
          </p>
        )}
        <label>
          Name
          <input data-testid="name" value={name} disabled={busy} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
      </section>
      <section class="panel">
        <h2>2. Choose who may hold it</h2>
        <CriteriaEditor value={criteria} onChange={setCriteria} />
      </section>
      <section class="panel">
        <h2>3. Publish</h2>
        <div class="buttons">
          <button data-testid="publish" disabled={!file || busy || phase === 'done'} onClick={() => void publish()}>
            Publish
          </button>
          <button data-testid="pause" disabled={phase !== 'uploading'} onClick={pause}>
            Pause
          </button>
          <button data-testid="resume" disabled={phase !== 'paused'} onClick={resume}>
            Resume
          </button>
        </div>
        <Progress label="hashed here" done={hashed} total={file?.size ?? 0} />
        {analysis && (
          <p class="muted" data-testid="analysis">
            analysed here: {analysis}
          </p>
        )}
        <Progress label="uploaded" done={uploaded} total={file?.size ?? 0} />
        <p data-testid="phase" data-phase={phase} class={phase === 'error' ? 'error' : ''}>
          {phase}
          {resumedFrom !== undefined && <span data-testid="resumed"> · resumed at {formatBytes(resumedFrom)}</span>}
          {message && ` · ${message}`}
        </p>
        {contentId && (
          <p class="muted" data-testid="content-id" data-content-id={contentId}>
            content {contentId} · <a href="/">watch it spread</a>
          </p>
        )}
        {contentId && <SpreadLine contentId={contentId} />}
      </section>
    </div>
  );
}

function Progress({ label, done, total }: { label: string; done: number; total: number }) {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  return (
    <div class="progress">
      <span class="plabel">{label}</span>
      <span class="bar">
        <span style={{ width: `${frac * 100}%` }} />
      </span>
      <span>
        {(frac * 100).toFixed(0)}% · {formatBytes(done)}
      </span>
    </div>
  );
}
