/**
 * The emulator's child process runs with a clean environment: nothing of the caller's AWS
 * settings or credentials reaches moto.server (read back from the running process's environment).
 */
import { readFileSync } from "node:fs";
import { motoEnvironment, startMoto } from "../../../scripts/emulator/moto";

const CALLER = {
  AWS_ACCESS_KEY_ID: "AKIAREALACCOUNTKEY01",
  AWS_SECRET_ACCESS_KEY: "real-secret",
  AWS_SESSION_TOKEN: "real-token",
  AWS_PROFILE: "production",
  AWS_DEFAULT_REGION: "eu-west-1",
  AWS_SHARED_CREDENTIALS_FILE: "/home/someone/.aws/credentials",
  MOTO_ACCOUNT_ID: "999999999999",
  GITHUB_TOKEN: "ghp_not-for-moto",
};

describe("moto.server's environment", () => {
  it("keeps what the interpreter needs and drops every AWS_* setting, MOTO_ACCOUNT_ID and anything else of the caller's", () => {
    const env = motoEnvironment({ ...CALLER, PATH: "/usr/bin", HOME: "/home/someone", LANG: "C.UTF-8", PYENV_ROOT: "/p" }, { MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS: "false", AWS_REGION: "x" });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/home/someone", LANG: "C.UTF-8", PYENV_ROOT: "/p", MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS: "false" });
  });

  it("is what the running server has: none of the caller's AWS credentials or settings", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, CALLER);
    let moto;
    try {
      moto = await startMoto();
    } finally {
      for (const name of Object.keys(CALLER)) delete process.env[name];
      Object.assign(process.env, saved);
    }
    try {
      // The pid is moto's own process or the interpreter's shim that exec'd it: either way its environment.
      const environ = readFileSync(`/proc/${moto.pid}/environ`, "utf8").split("\0").filter(Boolean);
      const names = environ.map((e) => e.slice(0, e.indexOf("=")));
      expect(names.filter((n) => n.startsWith("AWS_") || n === "MOTO_ACCOUNT_ID" || n === "GITHUB_TOKEN")).toEqual([]);
      expect(environ.join("\n")).not.toMatch(/AKIAREALACCOUNTKEY01|real-secret|production/);
      expect(names).toContain("PATH");
      expect((await fetch(`${moto.endpoint}/moto-api/`)).ok).toBe(true);
    } finally {
      await moto.stop();
    }
  });
});
