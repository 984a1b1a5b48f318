/**
 * `npm start -- --keep` as a process tree: npm, its shell, tsx, the rehearsal, moto.server and
 * tsx's esbuild service (and cdktf, already deploying). A signal to any of them stops all of them
 * and removes the emulator's folder. Started as a user starts it (`npm start`), stopped as soon as
 * the emulator is up (the smallest moment with the whole tree; the kept state adds no process).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { descendantsOf, isAlive, processTable, type ProcessInfo } from "../../../scripts/rehearsal/process-tree";

jest.setTimeout(90_000);
const ROOT = resolve(__dirname, "..", "..", "..");

interface Started {
  readonly npm: ChildProcess;
  readonly tree: ProcessInfo[];
  readonly workDir: string;
  readonly output: () => string;
}

/** `npm start -- --keep` until the emulator is up; its process tree at that moment. */
async function startKept(): Promise<Started> {
  // Its own process group, so that the test can always clean up what it started.
  const npm = spawn("npm", ["start", "--", "--keep"], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
  let output = "";
  npm.stdout!.on("data", (c) => (output += c));
  npm.stderr!.on("data", (c) => (output += c));
  const endpoint = await new Promise<string>((resolveUp, reject) => {
    const timer = setTimeout(() => reject(new Error(`the emulator did not come up:\n${output}`)), 60_000);
    const look = () => {
      const m = /behind the conformance gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUp(m[1]);
      }
    };
    npm.stdout!.on("data", look);
    npm.on("exit", () => reject(new Error(`npm start ended early:\n${output}`)));
  });
  const tree = descendantsOf(npm.pid!, processTable());
  const workDir = resolve(ROOT, ".local", endpoint.replace(/^http:\/\//, "").replace(":", "-"));
  return { npm, tree: [{ pid: npm.pid!, ppid: process.pid, command: "npm start" }, ...tree], workDir, output: () => output };
}

async function allGone(pids: readonly number[], withinMs = 20_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const find = (tree: readonly ProcessInfo[], pattern: RegExp) => {
  const found = tree.find((p) => pattern.test(p.command));
  if (!found) throw new Error(`no process ${pattern} in\n${tree.map((p) => `${p.pid} ${p.command}`).join("\n")}`);
  return found.pid;
};

describe.each([
  ["SIGTERM to npm start", "SIGTERM", /^npm start$/],
  ["SIGINT to the rehearsal (tsx's node child)", "SIGINT", /tsx\/dist\/(loader|preflight)/],
  ["SIGHUP to tsx", "SIGHUP", /node_modules\/\.bin\/tsx scripts\/rehearsal\/cli\.ts/],
  ["SIGTERM to moto.server", "SIGTERM", /moto\.server/],
] as const)("npm start -- --keep, %s", (_, signal, target) => {
  it("stops every process it started and removes the emulator's folder", async () => {
    const started = await startKept();
    const pids = started.tree.map((p) => p.pid);
    try {
      expect(started.tree.some((p) => /moto\.server/.test(p.command))).toBe(true);
      // Kept means kept: the rehearsal's own processes do not stop by themselves (its watch checks
      // every 500 ms); the deploy's short-lived children (a synth, a terraform) come and go.
      const lasting = started.tree.filter((p) => [/^npm start$/, /tsx\/dist\/(loader|preflight)/, /\.bin\/tsx scripts\/rehearsal/, /moto\.server/].some((r) => r.test(p.command)));
      expect(lasting).toHaveLength(4);
      await new Promise((r) => setTimeout(r, 2000));
      expect(lasting.filter((p) => !isAlive(p.pid)).map((p) => p.command)).toEqual([]);
      process.kill(find(started.tree, target), signal);
      expect(await allGone(pids)).toEqual([]);
      expect(existsSync(started.workDir)).toBe(false);
    } finally {
      try {
        process.kill(-started.npm.pid!, "SIGKILL");
      } catch {
        // gone, as it should be
      }
      for (const pid of pids.filter(isAlive)) process.kill(pid, "SIGKILL");
    }
  });
});

describe("the process table", () => {
  it("does not list the ps that read it (a kept rehearsal watching it would stop itself when that ps ends)", () => {
    const table = processTable();
    expect(descendantsOf(process.pid, table).filter((p) => /^ps\b/.test(p.command))).toEqual([]);
    expect(table.some((p) => p.pid === process.pid)).toBe(true);
  });
});
