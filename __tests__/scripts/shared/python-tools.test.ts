import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { CHECKOV, ensurePythonTool, MOTO, PARLIAMENT, pinsOf, unhashedPins, UV_REQUIREMENTS, WORKFLOW_LINTERS, type PythonTool } from "../../../scripts/shared/python-tools";

/** six 1.17.0 with the sha256 of both files PyPI serves for it. */
const SIX = "six==1.17.0 \\\n    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274 \\\n    --hash=sha256:ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81";

describe("the project's Python tools", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "iss-pytools-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads exact pins from a requirements file, extras and comments aside", () => {
    expect(pinsOf("# c\nmoto[server]==5.2.1\nFlask_Cors==6.0.1  # why\nflask>=2\n\n")).toEqual(new Map([["moto", "5.2.1"], ["flask-cors", "6.0.1"]]));
  });

  it("pins moto for the emulator", () => {
    expect(pinsOf(readFileSync(MOTO.requirements, "utf8")).get("moto")).toBe("5.2.1");
  });

  it("uses a machine interpreter only when it has every pinned distribution at exactly the pinned version", () => {
    const fake = (name: string, versions: string) => {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\nprintf '${versions}'\n`);
      chmodSync(path, 0o755);
      return path;
    };
    const requirements = join(dir, "req-machine.txt");
    writeFileSync(requirements, "tool-a==1.0\ntool-b==2.0\n");
    const right = fake("right-python", "1.0\\n2.0\\n");
    const wrong = fake("wrong-python", "1.0\\n2.1\\n");
    const tool = (interpreters: string[]): PythonTool => ({
      name: "fake", requirements, venv: join(dir, "never-built"), machineDistributions: ["tool-a", "tool-b"], machineInterpreters: interpreters,
    });
    expect(ensurePythonTool(tool([wrong, right]), () => undefined)).toBe(right);
  });

  it("builds the venv once with a progress line, reuses it without a word, rebuilds it when the requirements change; a fully pinned tool through the pinned uv, or through pip when uv cannot be installed", () => {
    expect(CHECKOV.fullyPinned).toBe(true);
    expect(pinsOf(readFileSync(UV_REQUIREMENTS, "utf8")).get("uv")).toMatch(/^\d+\.\d+\.\d+$/);
    const requirements = join(dir, "req-venv.txt");
    const venv = join(dir, ".venv-pinned");
    const noUv = join(dir, "uv-unavailable.txt");
    writeFileSync(noUv, join(dir, "no-such-uv.whl") + "\n"); // a uv pip cannot install (fails at once, offline)
    writeFileSync(requirements, "# nothing to install: the venv itself is what is tested\n");
    const lines: string[] = [];

    // uv cannot be installed: pip installs the pins instead, and says so.
    const python = ensurePythonTool({ name: "pinned tool", requirements, venv, fullyPinned: true, uvRequirements: noUv }, (l) => lines.push(l));
    expect(python).toBe(join(venv, "bin", "python"));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^setting up pinned tool: installing .*req-venv\.txt into .*\.venv-pinned/);
    expect(lines[1]).toMatch(/^setting up pinned tool: uv could not install it \(.+\); pip does, a little slower$/);
    expect(lines[2]).toMatch(/^setting up pinned tool: done in \d+ s \(installed with pip\)$/);

    const tool: PythonTool = { name: "pinned tool", requirements, venv, fullyPinned: true };
    lines.length = 0;
    expect(ensurePythonTool(tool, (l) => lines.push(l))).toBe(python);
    expect(lines).toEqual([]);

    writeFileSync(requirements, "# still nothing, but a different file\n\n");
    expect(ensurePythonTool(tool, (l) => lines.push(l))).toBe(python);
    expect(lines).toEqual([]); // comments and blank lines are not part of what the venv is built from

    // A new pin rebuilds the venv; the project's uv pin installs it, in hash-checking mode.
    writeFileSync(requirements, `${SIX}\n`);
    expect(ensurePythonTool(tool, (l) => lines.push(l))).toBe(python);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^setting up pinned tool: installing/);
    expect(lines[1]).toMatch(/^setting up pinned tool: done in \d+ s \(installed with uv\)$/);
    expect(execFileSync(python, ["-c", "import six; print(six.__version__)"], { encoding: "utf8" }).trim()).toBe("1.17.0");
  }, 180_000);

  it("carries a sha256 for every pin of every full freeze (uv's own pin included), and finds a pin without one", () => {
    for (const file of [CHECKOV.requirements, WORKFLOW_LINTERS.requirements, PARLIAMENT.requirements, UV_REQUIREMENTS]) {
      const text = readFileSync(file, "utf8");
      expect(pinsOf(text).size).toBeGreaterThan(0);
      expect([file, unhashedPins(text)]).toEqual([file, []]);
    }
    expect(CHECKOV.fullyPinned && WORKFLOW_LINTERS.fullyPinned && PARLIAMENT.fullyPinned).toBe(true);
    expect(unhashedPins(`${SIX}\nattrs==26.1.0\n# a comment\n`)).toEqual(["attrs==26.1.0"]);
  });

  it("refuses a pinned file whose hash is not the one listed (pip's hash-checking mode; uv runs with the same --require-hashes)", () => {
    const requirements = join(dir, "req-bad-hash.txt");
    writeFileSync(requirements, `six==1.17.0 \\\n    --hash=sha256:${"0".repeat(64)}\n`);
    const noUv = join(dir, "uv-unavailable.txt"); // written by the test above: a uv that cannot be installed
    const tool: PythonTool = { name: "tampered tool", requirements, venv: join(dir, ".venv-tampered"), fullyPinned: true, uvRequirements: noUv };
    const lines: string[] = [];
    expect(() => ensurePythonTool(tool, (l) => lines.push(l))).toThrow(/setting up tampered tool failed at: .*pip install .*--require-hashes[\s\S]*(THESE PACKAGES DO NOT MATCH THE HASHES|hash)/i);
    expect(lines[1]).toMatch(/uv could not install it \(.*\); pip does/);
  }, 120_000);

  it("says what to install when the base Python is missing", () => {
    const saved = process.env.ISS_TRACKER_BASE_PYTHON;
    process.env.ISS_TRACKER_BASE_PYTHON = join(dir, "no-such-python");
    try {
      const tool: PythonTool = { name: "x", requirements: join(dir, "req-venv.txt"), venv: join(dir, ".venv-x") };
      expect(() => ensurePythonTool(tool, () => undefined)).toThrow(/x needs Python 3\.9 or newer, and '.*no-such-python' was not found\. Install Python 3/);
    } finally {
      if (saved === undefined) delete process.env.ISS_TRACKER_BASE_PYTHON;
      else process.env.ISS_TRACKER_BASE_PYTHON = saved;
    }
  });
});
