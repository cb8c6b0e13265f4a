/**
 * Hot reload: watches the config file's directory (editors save by writing a
 * temporary file and renaming it over the old one, which a watch on the file
 * itself would lose), waits for the burst of events to settle, re-reads, and
 * hands over either the new frozen Config or the problems, exactly once per
 * real change of content.
 */
import { createHash } from 'node:crypto';
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { realClock, type Clock, type Timer } from '../shared/clock.js';
import { parseConfig } from './parse.js';
import type { Config, ConfigProblem } from './types.js';

export interface ConfigHandlers {
  onConfig(config: Config): void;
  onProblems(problems: ConfigProblem[]): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before re-reading (default 100 ms). */
  debounceMs?: number;
  clock?: Clock;
  /**
   * The exact text the running config was parsed from (loadConfigFile's
   * `text`; null: the file could not be read). The watcher starts from it and
   * checks the file once at start, so an edit saved between the load and the
   * watch is applied. Without it, whatever the file holds when the watch
   * starts is taken as what runs.
   */
  loadedText?: string | null;
}

function hash(text: string | null): string {
  return text === null ? 'missing' : createHash('sha256').update(text).digest('hex');
}

function readNow(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export function watchConfig(file: string, handlers: ConfigHandlers, opts: WatchOptions = {}): { close(): void } {
  const clock = opts.clock ?? realClock;
  const debounceMs = opts.debounceMs ?? 100;
  const absolute = path.resolve(file);
  const base = path.basename(absolute);
  // The content the caller already runs with: rewriting it unchanged is not a change.
  const known = opts.loadedText !== undefined;
  let lastHash = hash(known ? (opts.loadedText ?? null) : readNow(absolute));
  let timer: Timer | null = null;
  let reading = false;
  let again = false;
  let closed = false;

  const check = async (): Promise<void> => {
    reading = true;
    let text: string | null;
    try {
      text = await readFile(absolute, 'utf8');
    } catch {
      text = null;
    }
    reading = false;
    if (closed) return;
    if (again) {
      // More events arrived while reading: this read may be stale.
      again = false;
      schedule();
      return;
    }
    const h = hash(text);
    if (h === lastHash) return;
    lastHash = h;
    if (text === null) {
      handlers.onProblems([{ file, line: 1, col: 1, message: 'cannot read the config file: it was removed or is unreadable; the running config stays' }]);
      return;
    }
    const result = parseConfig(text, file, absolute);
    if (result.ok) handlers.onConfig(result.config);
    else handlers.onProblems(result.problems);
  };

  function schedule(): void {
    if (closed) return;
    if (reading) {
      again = true;
      return;
    }
    if (timer) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = null;
      check().catch((err: unknown) => {
        reading = false;
        handlers.onProblems([{ file, line: 1, col: 1, message: `reload failed: ${err instanceof Error ? err.message : String(err)}; the running config stays` }]);
      });
    }, debounceMs);
  }

  const watcher: FSWatcher = watch(path.dirname(absolute), (_event, name) => {
    // Some platforms omit the name; then any event in the directory may be ours.
    // Kubernetes mounts a ConfigMap as FILE -> ..data/FILE and updates it by
    // swapping the ..data symlink, so FILE itself never shows up in an event.
    if (name === null || name === base || name.startsWith('..')) schedule();
  });
  // A vanished directory must not crash the server; the running config stays.
  watcher.on('error', () => undefined);
  // The file may have changed since it was loaded, before the watch began: no event would say so.
  if (known) schedule();

  return {
    close(): void {
      closed = true;
      if (timer) clock.clearTimeout(timer);
      timer = null;
      watcher.close();
    },
  };
}
