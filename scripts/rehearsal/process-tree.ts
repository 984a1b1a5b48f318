/**
 * The processes of one `npm start` as one unit: npm, the shell it starts, tsx and its Node child
 * (the rehearsal), and what the rehearsal started (moto.server, tsx's esbuild service). A signal
 * to npm does not reach the rehearsal (npm signals its shell, which dies without passing it on),
 * and tsx does not pass SIGHUP on, so the rehearsal watches the others instead: when any of them
 * is gone, it stops everything it started and exits (see ./cli.ts).
 *
 * Read with `ps` (Linux and macOS alike); liveness with signal 0.
 */
import { spawnSync } from "node:child_process";

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

/** Every process on the machine (pid, parent, command line), from `ps`. */
export function processTable(): ProcessInfo[] {
  const ps = spawnSync("ps", ["-A", "-o", "pid=,ppid=,args="], { encoding: "utf8" });
  if (ps.status !== 0) return [];
  return ps.stdout.split("\n").flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    // Not `ps` itself: it lists itself as this process's child, and is gone a moment later.
    return m && Number(m[1]) !== ps.pid ? [{ pid: Number(m[1]), ppid: Number(m[2]), command: m[3] }] : [];
  });
}

const LAUNCHER = /(^|[/\s])(npm|npx)(\s|$)|npm-cli\.js|npx-cli\.js/;

/**
 * The processes that started this one, nearest first: its parents up to and including the npm (or
 * npx) that ran it; without one, at most `maxDepth` parents (never pid 1).
 */
export function launchChain(pid = process.pid, table = processTable(), maxDepth = 4): ProcessInfo[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const chain: ProcessInfo[] = [];
  let current = byPid.get(pid);
  while (current && current.ppid > 1 && chain.length < maxDepth + 2) {
    const parent = byPid.get(current.ppid);
    if (!parent) break;
    chain.push(parent);
    if (LAUNCHER.test(parent.command)) return chain;
    current = parent;
  }
  return chain.slice(0, maxDepth);
}

/** Every process below `pid` (children, their children, ...). */
export function descendantsOf(pid = process.pid, table = processTable()): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of table) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Calls `onGone` once, with the first of `processes` found gone (checked every `intervalMs`); returns the stop function. */
export function watchProcesses(processes: readonly ProcessInfo[], onGone: (gone: ProcessInfo) => void, intervalMs = 500): () => void {
  const timer = setInterval(() => {
    const gone = processes.find((p) => !isAlive(p.pid));
    if (gone) {
      clearInterval(timer);
      onGone(gone);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A process as a person recognizes it: `moto.server (pid 123)`. */
export function describeProcess(p: ProcessInfo): string {
  const name = /moto\.server/.test(p.command) ? "moto.server"
    : /esbuild/.test(p.command) ? "esbuild"
      : /tsx\/dist\/(loader|preflight)/.test(p.command) ? "the rehearsal (node)"
        : /\btsx\b/.test(p.command) ? "tsx"
          : LAUNCHER.test(p.command) ? "npm"
            : /^(\/\S*\/)?(sh|bash|dash)\b/.test(p.command) ? "sh" : p.command.split(/\s+/)[0].split("/").pop() ?? p.command;
  return `${name} (pid ${p.pid})`;
}
