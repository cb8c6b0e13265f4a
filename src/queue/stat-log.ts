import type { PodStat } from '../store/store.js';

/** One period's stat with its place in the sidecar's sequence (1, 2, 3, …). */
export interface NumberedStat extends PodStat {
  readonly seq: number;
}

/** What GET /stats answers: the periods after the one asked for, and the newest number. */
export interface StatsDoc {
  readonly seq: number;
  readonly stats: readonly NumberedStat[];
}

/**
 * The sidecar's last few per-period stats, numbered, for a scraper that
 * has no store in common with it (Knative's autoscaler scrapes each
 * queue-proxy the same way). A scraper asks for the periods after the last
 * one it took, so each period reaches the store once however the scrape
 * and the period ticks line up; a scraper more than `keep` periods behind
 * loses the oldest.
 */
export class StatLog {
  private readonly ring: (NumberedStat | undefined)[];
  private last = 0;

  constructor(private readonly keep = 10) {
    this.ring = new Array<NumberedStat | undefined>(keep);
  }

  push(stat: PodStat): void {
    const seq = ++this.last;
    this.ring[seq % this.keep] = { ...stat, seq };
  }

  /** Periods numbered above `after`, oldest first. */
  since(after: number): StatsDoc {
    const stats: NumberedStat[] = [];
    for (let seq = Math.max(after + 1, this.last - this.keep + 1, 1); seq <= this.last; seq++) {
      const s = this.ring[seq % this.keep];
      if (s !== undefined && s.seq === seq) stats.push(s);
    }
    return { seq: this.last, stats };
  }
}
