/**
 * Watching manifest paths: any change under a watched directory (or to a watched file, which is
 * watched through its directory so that editors' rename-into-place is seen) fires `onChange`
 * once, `debounceMs` after the last event. A watched path that disappears is polled until it
 * comes back, then watched again.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ManifestWatcher {
  close(): void;
}

interface Target {
  dir: string;
  /** Only this file of `dir` matters; undefined: every file. */
  file: string | undefined;
}

function targetOf(p: string): Target {
  try {
    if (fs.statSync(p).isDirectory()) return { dir: p, file: undefined };
  } catch {
    // missing now: treat as a file in its parent (it may be created later)
  }
  return { dir: path.dirname(p), file: path.basename(p) };
}

export function watchManifests(paths: readonly string[], debounceMs: number, onChange: (reason: string) => void): ManifestWatcher {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const watchers = new Map<string, fs.FSWatcher>();
  const polls = new Set<NodeJS.Timeout>();

  const fire = (reason: string) => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) onChange(reason);
    }, debounceMs);
  };

  const arm = (p: string) => {
    if (closed) return;
    const t = targetOf(p);
    try {
      const w = fs.watch(t.dir, { persistent: true }, (_event, name) => {
        const n = name?.toString();
        if (t.file === undefined || n === undefined || n === t.file) fire(`${path.join(t.dir, n ?? '')} changed`);
      });
      w.on('error', () => {
        w.close();
        watchers.delete(p);
        poll(p);
      });
      watchers.set(p, w);
    } catch {
      poll(p);
    }
  };

  const poll = (p: string) => {
    if (closed) return;
    const timerId = setInterval(() => {
      if (fs.existsSync(targetOf(p).dir)) {
        clearInterval(timerId);
        polls.delete(timerId);
        arm(p);
        fire(`${p} reappeared`);
      }
    }, 1000);
    polls.add(timerId);
  };

  for (const p of paths) arm(p);
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      for (const t of polls) clearInterval(t);
      watchers.clear();
      polls.clear();
    },
  };
}
