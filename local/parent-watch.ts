/**
 * Stops a long-running local command when whoever started it is gone.
 *
 * `npm start` runs `sh -c "node …"`: npm relays SIGTERM to that shell, which dies of it without passing it on, and a
 * SIGKILL of npm relays nothing at all. Either way node keeps serving with nobody left to stop it. So node watches
 * its parent and, when the parent is the shell npm runs scripts in, the shell's parent (npm) too, and calls `onGone`
 * once either disappears (or node is handed to another parent).
 */
import { readFileSync } from 'node:fs';

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash']);

/** `pid`'s parent and command name from /proc (Linux); undefined elsewhere or when it is gone. */
function procStat(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may itself hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? { ppid, comm } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The processes whose end should end this one: the parent, and npm above a script shell. */
export function watchedAncestors(parent = process.ppid): number[] {
  const watched = [parent];
  const stat = procStat(parent);
  if (stat && SHELLS.has(stat.comm) && stat.ppid > 1) watched.push(stat.ppid);
  return watched;
}

/** Checks every `intervalMs`; returns a function that stops watching. The timer does not keep the process alive. */
export function watchParent(onGone: (why: string) => void, intervalMs = 1000): () => void {
  const parent = process.ppid;
  const ancestors = watchedAncestors(parent);
  const timer = setInterval(() => {
    if (process.ppid !== parent) return fire(`parent process ${parent} exited`);
    const gone = ancestors.find((pid) => !processAlive(pid));
    if (gone !== undefined) fire(`process ${gone} that started this one exited`);
  }, intervalMs);
  timer.unref();
  function fire(why: string): void {
    clearInterval(timer);
    onGone(why);
  }
  return () => clearInterval(timer);
}
