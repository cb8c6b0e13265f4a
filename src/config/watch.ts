/**
 * Hot reload: watches the config file's directory (editors save by writing a
 * temporary file and renaming it over the old one, which a watch on the file
 * itself would lose), and the directories of the files the config names
 * (the `tls:` certificates and keys), waits for the burst of events to
 * settle, re-reads, and hands over either the new frozen Config or the
 * problems, exactly once per real change of content of any of them.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { realClock, type Clock, type Timer } from '../shared/clock.js';
import { digest, parseFromDisk, type ReadFiles } from './load.js';
import type { Config, ConfigProblem } from './types.js';

export interface ConfigHandlers {
  /** `warnings`: accepted but worth logging (a certificate close to expiry, an ignored Knative field). */
  onConfig(config: Config, warnings: readonly ConfigProblem[]): void;
  onProblems(problems: ConfigProblem[]): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before re-reading (default 100 ms). */
  debounceMs?: number;
  /** Schedules the re-reads and dates the certificate warnings. */
  clock?: Clock;
  /**
   * The exact text the running config was parsed from (loadConfigFile's
   * `text`; null: the file could not be read). The watcher starts from it and
   * checks the file once at start, so an edit saved between the load and the
   * watch is applied. Without it, whatever the file holds when the watch
   * starts is taken as what runs.
   */
  loadedText?: string | null;
  /**
   * loadConfigFile's `files`: what the running config read of its TLS files.
   * Without it they are taken as they are when the watch starts.
   */
  loadedFiles?: ReadFiles;
}

function readNow(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function digestNow(file: string): string {
  try {
    return digest(readFileSync(file));
  } catch {
    return digest(null);
  }
}

interface DirWatch {
  readonly watcher: FSWatcher;
  names: Set<string>;
}

export function watchConfig(file: string, handlers: ConfigHandlers, opts: WatchOptions = {}): { close(): void } {
  const clock = opts.clock ?? realClock;
  const debounceMs = opts.debounceMs ?? 100;
  const absolute = path.resolve(file);
  // The content the caller already runs with: rewriting it unchanged is not a change.
  const known = opts.loadedText !== undefined;
  const startText = known ? (opts.loadedText ?? null) : readNow(absolute);
  let lastHash = digest(startText);
  // The other files the last parse read, with what it read of them.
  let files: ReadFiles = opts.loadedFiles ?? (startText === null ? new Map() : filesOf(startText));
  let timer: Timer | null = null;
  let reading = false;
  let again = false;
  let closed = false;
  const dirs = new Map<string, DirWatch>();

  function filesOf(text: string): ReadFiles {
    return new Map([...parseFromDisk(text, file, absolute, clock.now()).files.keys()].map((f) => [f, digestNow(f)]));
  }

  const unchanged = (h: string): boolean => h === lastHash && [...files].every(([f, d]) => digestNow(f) === d);

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
    const h = digest(text);
    if (unchanged(h)) return;
    lastHash = h;
    if (text === null) {
      handlers.onProblems([{ file, line: 1, col: 1, message: 'cannot read the config file: it was removed or is unreadable; the running config stays' }]);
      return;
    }
    const parsed = parseFromDisk(text, file, absolute, clock.now());
    // Compared next time: exactly what this parse read, so a change after the read is a change.
    files = parsed.files;
    rewatch();
    if (parsed.result.ok) handlers.onConfig(parsed.result.config, parsed.result.warnings);
    else handlers.onProblems(parsed.result.problems);
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

  /** One directory watch per directory that holds the config or one of its files. */
  function rewatch(): void {
    const wanted = new Map<string, Set<string>>();
    for (const f of [absolute, ...files.keys()]) {
      const dir = path.dirname(f);
      const names = wanted.get(dir) ?? new Set<string>();
      names.add(path.basename(f));
      wanted.set(dir, names);
    }
    for (const [dir, w] of dirs) {
      if (wanted.has(dir)) continue;
      w.watcher.close();
      dirs.delete(dir);
    }
    for (const [dir, names] of wanted) {
      const existing = dirs.get(dir);
      if (existing) {
        existing.names = names;
        continue;
      }
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, (_event, name) => {
          // Some platforms omit the name; then any event in the directory may be ours.
          // Kubernetes mounts a ConfigMap or Secret as FILE -> ..data/FILE and updates it by
          // swapping the ..data symlink, so FILE itself never shows up in an event.
          if (name === null || name.startsWith('..') || dirs.get(dir)?.names.has(name)) schedule();
        });
      } catch {
        // A certificate's directory that does not exist: the next config change looks again.
        continue;
      }
      // A vanished directory must not crash the server; the running config stays.
      watcher.on('error', () => undefined);
      dirs.set(dir, { watcher, names });
    }
  }

  rewatch();
  // The file may have changed since it was loaded, before the watch began: no event would say so.
  if (known) schedule();

  return {
    close(): void {
      closed = true;
      if (timer) clock.clearTimeout(timer);
      timer = null;
      for (const w of dirs.values()) w.watcher.close();
      dirs.clear();
    },
  };
}
