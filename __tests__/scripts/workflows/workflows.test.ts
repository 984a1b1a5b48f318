/**
 * The CI workflow users keep: clean under actionlint and zizmor (installed from their pinned,
 * hashed venv, like checkov), and held to the project's own rules: every third-party action pinned
 * by a full commit SHA with its version beside it, read-only permissions, no persisted token, the
 * supported Node majors, only commands the project defines. A broken workflow makes both linters
 * report, so a clean run means something.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SUPPORTED_NODE_MAJORS } from "../../../scripts/node-matrix/matrix";
import { lintWorkflows, WORKFLOWS_DIR } from "../../../scripts/workflows/lint";

const ROOT = resolve(__dirname, "..", "..", "..");
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const files = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (f: string) => readFileSync(join(WORKFLOWS_DIR, f), "utf8");

describe("the GitHub Actions workflows", () => {
  it("pass actionlint and zizmor", () => {
    const runs = lintWorkflows();
    expect(runs.map((r) => [r.tool, r.ok ? "clean" : r.output])).toEqual([["actionlint", "clean"], ["zizmor", "clean"]]);
  }, 240_000);

  it("make both linters report on a workflow that breaks the rules", () => {
    const dir = mkdtempSync(join(tmpdir(), "iss-bad-workflow-"));
    writeFileSync(join(dir, "bad.yml"), [
      "on: pull_request_target",
      "permissions: write-all",
      "jobs:",
      "  test:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "        with:",
      "          ref: ${{ github.event.pull_request.head.sha }}",
      "      - run: echo ${{ github.event.pull_request.title }} && npm tset",
      "      - uses: actions/setup-node@v4",
      "        with:",
      "          node_version: 24",
      "",
    ].join("\n"));
    const [actionlint, zizmor] = lintWorkflows(dir);
    expect(actionlint.ok).toBe(false);
    expect(actionlint.output).toMatch(/"github\.event\.pull_request\.title" is potentially untrusted/);
    expect(zizmor.ok).toBe(false);
    expect(zizmor.output).toMatch(/unpinned-uses/);
    expect(zizmor.output).toMatch(/dangerous-triggers/);
    expect(zizmor.output).toMatch(/template-injection/);
    expect(zizmor.output).toMatch(/artipacked/);
  }, 240_000);

  it.each(files)("%s pins every action by full commit SHA with its version, keeps permissions read-only and the token out of checkout", (f) => {
    const workflow = text(f);
    const uses = [...workflow.matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(0);
    for (const [, ref, comment] of uses) {
      expect([ref, comment.trim()]).toEqual([expect.stringMatching(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/), expect.stringMatching(/^# v\d+\.\d+\.\d+$/)]);
    }
    expect(workflow).toMatch(/^permissions:\n {2}contents: read\n/m);
    // Writes only where a job needs them: the deploy workflow's OIDC token and its plan comment.
    const writes = [...workflow.matchAll(/^( *)([\w-]+): write$/gm)].map((m) => `${m[1].length} ${m[2]}`);
    expect(writes.filter((w) => !["6 id-token", "6 pull-requests"].includes(w))).toEqual([]);
    expect(workflow).not.toMatch(/permissions:[^\n]*write/);
    expect(workflow).not.toMatch(/pull_request_target|secrets\./);
    const checkouts = uses.filter(([, ref]) => ref.startsWith("actions/checkout@")).length;
    expect(workflow.match(/persist-credentials: false/g)?.length).toBe(checkouts);
  });

  it("tests every supported Node major, as package.json's engines name them", () => {
    const ci = text("ci.yml");
    expect(ci).toContain(`node: [${SUPPORTED_NODE_MAJORS.join(", ")}]`);
    const engines: string = PACKAGE.engines.node;
    expect(engines.split("||").map((r) => Number(/\^(\d+)\./.exec(r.trim())?.[1]))).toEqual([...SUPPORTED_NODE_MAJORS]);
  });

  it("runs only the project's own commands: npm ci, npm test and npm scripts that exist", () => {
    const runs = files.flatMap((f) => [...text(f).matchAll(/^\s*(?:-\s*)?run:\s*(.+)$/gm)].map((m) => m[1].trim()));
    const npm = runs.filter((r) => r.startsWith("npm "));
    expect(npm).toEqual(expect.arrayContaining(["npm ci --no-audit --no-fund", "npm test"]));
    for (const r of npm) {
      const script = /^npm run (\S+)/.exec(r)?.[1];
      if (script) expect([r, PACKAGE.scripts[script] === undefined ? "missing" : "defined"]).toEqual([r, "defined"]);
    }
    expect(runs.filter((r) => !r.startsWith("npm ") && !/^mkdir -p /.test(r))).toEqual([]);
  });

  it("deploy.yml: plans read-only for the repository's own pull requests only, applies behind the production environment", () => {
    const deploy = text("deploy.yml");
    const job = (name: string) => new RegExp(`^  ${name}:\\n([\\s\\S]*?)(?=^  \\w|(?![\\s\\S]))`, "m").exec(deploy)?.[1] ?? "";
    expect(job("plan")).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    expect(job("plan")).toMatch(/permissions:\n {6}contents: read\n {6}id-token: write\n {6}pull-requests: write\n/);
    expect(job("plan")).toContain("role-to-assume: ${{ vars.PLAN_ROLE_ARN }}");
    expect(job("plan")).toContain("npm run plan -- iss-tracker --read-only-b");
    expect(job("plan")).not.toContain("environment:");
    expect(job("apply")).toContain("environment: production");
    expect(job("apply")).toMatch(/permissions:\n {6}contents: read\n {6}id-token: write\n {4}steps/);
    expect(job("apply")).toContain("role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}");
    expect(job("apply")).toContain("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(deploy).not.toMatch(/pull_request_target|secrets\.|aws-access-key-id/);
  });
});
