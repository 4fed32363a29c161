/**
 * A discrete-event queue: callbacks ordered by simulated time, ties in insertion order.
 * Each entry is a function and up to three arguments kept in parallel arrays, so scheduling a
 * message allocates no closure and no event object (the simulator schedules millions of them;
 * objects that wait in the queue survive young-generation collections, which is what costs).
 */
type Fn = (a: never, b: never, c: never) => void;

export class EventQueue {
  now = 0;
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly fns: Fn[] = [];
  private readonly as: unknown[] = [];
  private readonly bs: unknown[] = [];
  private readonly cs: unknown[] = [];
  private seq = 0;

  get size(): number {
    return this.fns.length;
  }

  at<A, B, C>(time: number, fn: (a: A, b: B, c: C) => void, a?: A, b?: B, c?: C): void {
    let i = this.fns.length;
    const t = Math.max(time, this.now);
    const s = this.seq++;
    this.times.push(t);
    this.seqs.push(s);
    this.fns.push(fn as Fn);
    this.as.push(a);
    this.bs.push(b);
    this.cs.push(c);
    // Sift up with a hole: move parents down until the new entry's place is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.times[p]!;
      if (pt < t || (pt === t && this.seqs[p]! < s)) break;
      this.move(p, i);
      i = p;
    }
    this.put(i, t, s, fn as Fn, a, b, c);
  }

  after<A, B, C>(delay: number, fn: (a: A, b: B, c: C) => void, a?: A, b?: B, c?: C): void {
    this.at(this.now + delay, fn, a, b, c);
  }

  /** Runs events until the queue is empty, `until` is reached, or `stop()` says so. */
  run(until: number, stop: () => boolean = () => false): void {
    while (this.fns.length > 0 && this.times[0]! <= until) {
      this.now = this.times[0]!;
      const fn = this.fns[0]!;
      const a = this.as[0];
      const b = this.bs[0];
      const c = this.cs[0];
      this.removeTop();
      (fn as (a: unknown, b: unknown, c: unknown) => void)(a, b, c);
      if (stop()) return;
    }
    this.now = Math.max(this.now, until);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.fns[to] = this.fns[from]!;
    this.as[to] = this.as[from];
    this.bs[to] = this.bs[from];
    this.cs[to] = this.cs[from];
  }

  private put(i: number, t: number, s: number, fn: Fn, a: unknown, b: unknown, c: unknown): void {
    this.times[i] = t;
    this.seqs[i] = s;
    this.fns[i] = fn;
    this.as[i] = a;
    this.bs[i] = b;
    this.cs[i] = c;
  }

  private removeTop(): void {
    const last = this.fns.length - 1;
    const t = this.times.pop()!;
    const s = this.seqs.pop()!;
    const fn = this.fns.pop()!;
    const a = this.as.pop();
    const b = this.bs.pop();
    const c = this.cs.pop();
    if (last === 0) return;
    // Sift the former last entry down from the root with a hole.
    let i = 0;
    const n = last;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (this.times[r]! < this.times[l]! || (this.times[r] === this.times[l] && this.seqs[r]! < this.seqs[l]!))) m = r;
      const mt = this.times[m]!;
      if (t < mt || (t === mt && s < this.seqs[m]!)) break;
      this.move(m, i);
      i = m;
    }
    this.put(i, t, s, fn, a, b, c);
  }
}
