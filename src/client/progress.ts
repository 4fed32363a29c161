/**
 * Progress bars for the terminal. On a TTY the block of bars is redrawn in place; when
 * output is a pipe or file, a plain line is printed per bar only when it moves by 10 % or
 * finishes, so logs stay readable.
 */
import { formatBytes } from '../core/sizes.js';

export interface Bar {
  label: string;
  done: number;
  total: number;
  note?: string;
}

const WIDTH = 30;

export function renderBar(bar: Bar): string {
  const frac = bar.total > 0 ? Math.min(1, bar.done / bar.total) : 1;
  const full = Math.round(frac * WIDTH);
  const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
  return `${bar.label.padEnd(22)} ${'█'.repeat(full)}${'░'.repeat(WIDTH - full)} ${pct} ${formatBytes(bar.done).padStart(10)} / ${formatBytes(bar.total)}${bar.note ? `  ${bar.note}` : ''}`;
}

export class ProgressView {
  private drawn = 0;
  private readonly lastPlain = new Map<string, number>();

  constructor(private readonly out: NodeJS.WriteStream | NodeJS.WritableStream = process.stdout) {}

  private get tty(): boolean {
    return (this.out as NodeJS.WriteStream).isTTY === true;
  }

  update(bars: Bar[]): void {
    if (this.tty) {
      const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
      this.out.write(`${up}${bars.map((b) => `\x1b[2K${renderBar(b)}`).join('\n')}\n`);
      this.drawn = bars.length;
      return;
    }
    for (const b of bars) {
      const step = b.total > 0 ? Math.floor((b.done / b.total) * 10) : 10;
      if (this.lastPlain.get(b.label) !== step) {
        this.lastPlain.set(b.label, step);
        this.out.write(`${renderBar(b)}\n`);
      }
    }
  }
}
