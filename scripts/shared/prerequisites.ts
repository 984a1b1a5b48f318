/**
 * What no package manager of the project can install, checked up front by `npm start` and `npm test`
 * (jest's global setup) with one clear message listing everything missing: Node, Terraform and Python.
 * Everything else (npm packages, the moto and checkov venvs, the Terraform CLI config for an offline
 * provider mirror) the commands install or write themselves.
 */
import { spawnSync } from "node:child_process";

export const MIN_NODE = "20.18.1";
export const MIN_TERRAFORM = "1.5.0";
export const MIN_PYTHON = "3.10.0"; // moto 5.2 needs 3.10

/** -1, 0 or 1 as dotted version a is below, equal to or above b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export interface Found {
  readonly node: string;
  /** undefined when the command is missing or does not run. */
  readonly terraform?: string;
  readonly python?: string;
}

/** The versions on this machine (terraform and python3 from PATH, or ISS_TRACKER_BASE_PYTHON). */
export function findPrerequisites(env: NodeJS.ProcessEnv = process.env): Found {
  const run = (command: string, args: string[]) => spawnSync(command, args, { encoding: "utf8", env, timeout: 30_000 });
  const tf = run("terraform", ["version", "-json"]);
  let terraform: string | undefined;
  try {
    terraform = tf.status === 0 ? String(JSON.parse(tf.stdout).terraform_version) : undefined;
  } catch {
    terraform = undefined;
  }
  const py = run(env.ISS_TRACKER_BASE_PYTHON ?? "python3", ["-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"]);
  return { node: process.versions.node, terraform, python: py.status === 0 ? py.stdout.trim() : undefined };
}

/** The problems with what was found, each with what to install; empty when everything is there. */
export function prerequisiteProblems(found: Found): string[] {
  const problems: string[] = [];
  if (compareVersions(found.node, MIN_NODE) < 0) {
    problems.push(`Node ${MIN_NODE} or newer is required (this is ${found.node}): https://nodejs.org/en/download`);
  }
  if (!found.terraform) {
    problems.push(`Terraform ${MIN_TERRAFORM} or newer is required and 'terraform' is not on PATH: https://developer.hashicorp.com/terraform/install`);
  } else if (compareVersions(found.terraform, MIN_TERRAFORM) < 0) {
    problems.push(`Terraform ${MIN_TERRAFORM} or newer is required (found ${found.terraform}): https://developer.hashicorp.com/terraform/install`);
  }
  if (!found.python) {
    problems.push(`Python ${MIN_PYTHON} or newer with its venv module is required for the emulator and the scanner, and 'python3' ` +
      "does not run it (set ISS_TRACKER_BASE_PYTHON to another interpreter): https://www.python.org/downloads/ (Debian/Ubuntu: apt install python3-venv)");
  } else if (compareVersions(found.python, MIN_PYTHON) < 0) {
    problems.push(`Python ${MIN_PYTHON} or newer is required (found ${found.python}): https://www.python.org/downloads/`);
  }
  return problems;
}

/** Throws one error listing every missing prerequisite. */
export function checkPrerequisites(env: NodeJS.ProcessEnv = process.env): Found {
  const found = findPrerequisites(env);
  const problems = prerequisiteProblems(found);
  if (problems.length > 0) {
    throw new Error(`Missing prerequisites (the project installs everything else itself):\n  - ${problems.join("\n  - ")}`);
  }
  return found;
}
