/** One block as cut from the file: where it belongs, its bytes (a pooled buffer) and how to give the buffer back. */
export interface CutBlock {
  readonly track: number;
  readonly index: number;
  readonly offset: number;
  readonly data: Buffer;
  readonly release: () => void;
}
