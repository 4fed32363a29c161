/**
 * Redraws a block of lines in place on a terminal (cursor up, clear line); on a pipe each
 * frame is printed only when it differs from the last, so logs stay short.
 */
export class Screen {
  private drawn = 0;
  private lastFrame = '';

  constructor(private readonly out: NodeJS.WriteStream | NodeJS.WritableStream = process.stdout) {}

  get tty(): boolean {
    return (this.out as NodeJS.WriteStream).isTTY === true;
  }

  /** `key` decides, on a pipe, whether a frame is new enough to print (defaults to its text). */
  draw(lines: string[], key?: string): void {
    const frame = key ?? lines.join('\n');
    if (this.tty) {
      const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
      const clearBelow = '\x1b[J';
      this.out.write(`${up}${clearBelow}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      this.drawn = lines.length;
    } else if (frame !== this.lastFrame) {
      this.out.write(`${lines.join('\n')}\n\n`);
    }
    this.lastFrame = frame;
  }
}
