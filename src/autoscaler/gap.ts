/**
 * Missing stats, and the hold that follows them (docs/autoscaler.md, "After
 * an outage"). Every ready pod is reported every second, idle or not, so a
 * revision with ready pods and no fresh stat row is missing data, not idle.
 * A window with a hole in it under-reads: its missing seconds count as
 * zeros once newer seconds arrive, and a window rebuilt from a store that
 * lost its history (or from the first seconds after it) sees only part of
 * the load. So from the moment stats go missing until one stable window
 * after they are fresh again, the revision is *held*: it may scale up, but
 * not down. When the hold ends, every second in the stable window was
 * measured after the gap.
 *
 * Pure: the runner feeds it what it saw at each tick.
 */
import { BUCKET_MS } from './window.js';

/** Whole seconds with no stat row, while pods are ready, after which stats are missing (three missed 1 s reports). */
export const STALE_SECONDS = 4;

export interface GapState {
  /** Since when stats have been missing (null: they are fresh). */
  readonly missingSince: number | null;
  /** Epoch ms until which the revision stays held after its stats came back (0: no hold). */
  readonly holdUntil: number;
}

export const NO_GAP: GapState = { missingSince: null, holdUntil: 0 };

/** The store could not be read, or the history was lost (a new leader, a store that came back empty). */
export function statsLost(s: GapState, now: number): GapState {
  return s.missingSince !== null ? s : { missingSince: now, holdUntil: s.holdUntil };
}

export interface StatsSeen {
  readonly now: number;
  /** Epoch ms of the newest second with any stat row (null: none in the window). */
  readonly newest: number | null;
  readonly readyPods: number;
  readonly stableWindowMs: number;
}

/** After a tick that read the stats: are they missing, or fresh again (which starts the hold)? */
export function statsSeen(s: GapState, seen: StatsSeen): GapState {
  const { now, newest } = seen;
  const fresh = newest !== null && Math.floor(now / BUCKET_MS) - Math.floor(newest / BUCKET_MS) < STALE_SECONDS;
  if (!fresh) {
    // No row at all in the window is only a gap if one was already open (or rows are expected and
    // were there before): a revision that never had stats has nothing to miss.
    if (newest === null || seen.readyPods === 0) return s;
    return statsLost(s, now);
  }
  if (s.missingSince === null) return s;
  return { missingSince: null, holdUntil: Math.max(s.holdUntil, now + seen.stableWindowMs) };
}

/** Whether the revision must not scale down now. */
export function holding(s: GapState, now: number): boolean {
  return s.missingSince !== null || now < s.holdUntil;
}
