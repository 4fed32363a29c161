/**
 * Where simulated nodes are and what attributes they have. Nodes sit in data centres,
 * data centres in metros, metros in regions, on a plane measured in milliseconds of
 * one-way latency; attributes follow the geography (as a real fleet's do: region=eu nodes
 * are near each other), plus a tier and a GPU flag drawn independently.
 *
 * With 10 regions, 100 metros and 1,000 data centres, `region=…` matches about 10 % of
 * nodes, `metro=…` about 1 % and `dc=…` about 0.1 %.
 */
import type { Attributes } from '../core/attributes.js';

export const REGIONS = 10;
export const METROS_PER_REGION = 10;
export const DCS_PER_METRO = 10;

export interface Place {
  x: number;
  y: number;
  attrs: Attributes;
}

/** Mulberry32: small, fast, seedable; the simulator must be reproducible from `--seed`. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(rand: () => number, sigma: number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) * sigma;
}

export class Geography {
  private readonly dcs: { x: number; y: number; region: number; metro: number; dc: number }[] = [];

  constructor(private readonly rand: () => number) {
    for (let r = 0; r < REGIONS; r++) {
      const rx = rand() * 150;
      const ry = rand() * 150;
      for (let m = 0; m < METROS_PER_REGION; m++) {
        const mx = rx + gauss(rand, 12);
        const my = ry + gauss(rand, 12);
        for (let d = 0; d < DCS_PER_METRO; d++) {
          const metro = r * METROS_PER_REGION + m;
          this.dcs.push({ x: mx + gauss(rand, 2), y: my + gauss(rand, 2), region: r, metro, dc: metro * DCS_PER_METRO + d });
        }
      }
    }
  }

  place(): Place {
    const d = this.dcs[Math.floor(this.rand() * this.dcs.length)]!;
    const attrs: Record<string, string> = { region: `r${d.region}`, metro: `m${d.metro}`, dc: `d${d.dc}`, tier: this.rand() < 0.7 ? 'edge' : 'hub' };
    if (this.rand() < 0.05) attrs.gpu = '';
    return { x: d.x + gauss(this.rand, 0.3), y: d.y + gauss(this.rand, 0.3), attrs };
  }
}

/** One-way latency in ms between two places: 0.5 ms inside a data centre, plus distance. */
export function latency(a: { x: number; y: number }, b: { x: number; y: number }): number {
  return 0.5 + Math.hypot(a.x - b.x, a.y - b.y);
}
