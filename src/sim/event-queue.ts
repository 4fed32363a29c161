/** A discrete-event queue: callbacks ordered by simulated time, ties in insertion order. */
export class EventQueue {
  now = 0;
  private times: number[] = [];
  private seqs: number[] = [];
  private fns: (() => void)[] = [];
  private seq = 0;

  get size(): number {
    return this.fns.length;
  }

  at(time: number, fn: () => void): void {
    this.times.push(Math.max(time, this.now));
    this.seqs.push(this.seq++);
    this.fns.push(fn);
    this.up(this.fns.length - 1);
  }

  after(delay: number, fn: () => void): void {
    this.at(this.now + delay, fn);
  }

  /** Runs events until the queue is empty, `until` is reached, or `stop()` says so. */
  run(until: number, stop: () => boolean = () => false): void {
    while (this.fns.length > 0 && this.times[0]! <= until) {
      this.now = this.times[0]!;
      const fn = this.pop();
      fn();
      if (stop()) return;
    }
    this.now = Math.max(this.now, until);
  }

  private less(i: number, j: number): boolean {
    return this.times[i]! < this.times[j]! || (this.times[i] === this.times[j] && this.seqs[i]! < this.seqs[j]!);
  }

  private swap(i: number, j: number): void {
    const t = this.times[i]!;
    this.times[i] = this.times[j]!;
    this.times[j] = t;
    const s = this.seqs[i]!;
    this.seqs[i] = this.seqs[j]!;
    this.seqs[j] = s;
    const f = this.fns[i]!;
    this.fns[i] = this.fns[j]!;
    this.fns[j] = f;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): () => void {
    const top = this.fns[0]!;
    const last = this.fns.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    this.fns.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.fns.length && this.less(l, m)) m = l;
      if (r < this.fns.length && this.less(r, m)) m = r;
      if (m === i) return top;
      this.swap(i, m);
      i = m;
    }
  }
}
