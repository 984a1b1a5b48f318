import { compareVersions, findPrerequisites, MIN_NODE, MIN_PYTHON, MIN_TERRAFORM, prerequisiteProblems } from "../../../scripts/shared/prerequisites";

describe("the prerequisites no package manager of the project installs", () => {
  it("compares dotted versions numerically", () => {
    expect(compareVersions("1.10.0", "1.5.0")).toBe(1);
    expect(compareVersions("20.18.1", "20.18.1")).toBe(0);
    expect(compareVersions("3.9", "3.11.2")).toBe(-1);
  });

  it("finds Node, Terraform and Python on this machine at the required versions", () => {
    const found = findPrerequisites();
    expect(found.node).toBe(process.versions.node);
    expect(found.terraform).toMatch(/^\d+\.\d+\.\d+/);
    expect(found.python).toMatch(/^3\.\d+\.\d+$/);
    expect(prerequisiteProblems(found)).toEqual([]);
  });

  it("names each missing or old one with where to get it, all at once", () => {
    const problems = prerequisiteProblems({ node: "18.19.0", terraform: "1.4.6", python: undefined });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe(`Node ${MIN_NODE} or newer is required (this is 18.19.0): https://nodejs.org/en/download`);
    expect(problems[1]).toBe(`Terraform ${MIN_TERRAFORM} or newer is required (found 1.4.6): https://developer.hashicorp.com/terraform/install`);
    expect(problems[2]).toMatch(new RegExp(`^Python ${MIN_PYTHON.replace(/\./g, "\\.")} or newer with its venv module is required.*apt install python3-venv`));
    expect(prerequisiteProblems({ node: MIN_NODE, terraform: undefined, python: "3.8.10" })).toEqual([
      expect.stringMatching(/'terraform' is not on PATH/),
      `Python ${MIN_PYTHON} or newer is required (found 3.8.10): https://www.python.org/downloads/`,
    ]);
  });

  it("reports a Terraform that is not on PATH", () => {
    expect(findPrerequisites({ ...process.env, PATH: "/nonexistent" }).terraform).toBeUndefined();
  });
});
