import { existsSync, readFileSync } from "node:fs";
import { applyTerraformEnv, cliConfigFor, TERRAFORM_GOGC } from "../../../scripts/shared/terraform-env";

describe("the environment Terraform runs in (npm start, the tests)", () => {
  it("launches Terraform and its provider plugins with GOGC=400 unless GOGC is already set", () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    applyTerraformEnv(env);
    expect(TERRAFORM_GOGC).toBe("400");
    expect(env.GOGC).toBe("400");
    expect(env.CHECKPOINT_DISABLE).toBe("1");
    const own: NodeJS.ProcessEnv = { PATH: process.env.PATH, GOGC: "100" };
    applyTerraformEnv(own);
    expect(own.GOGC).toBe("100");
  });

  it("points Terraform at a CLI config that takes hashicorp/aws from the mirror (when there is one) and nothing else from it", () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    const { mirror, cliConfigFile } = applyTerraformEnv(env);
    if (mirror) {
      expect(env.TF_CLI_CONFIG_FILE).toBe(cliConfigFile);
      expect(readFileSync(cliConfigFile!, "utf8")).toBe(cliConfigFor(mirror));
      expect(cliConfigFor(mirror)).toMatch(/filesystem_mirror \{\n\s+path\s+= ".+"\n\s+include = \["registry\.terraform\.io\/hashicorp\/aws"\]/);
    } else {
      expect(env.TF_CLI_CONFIG_FILE === undefined || existsSync(env.TF_CLI_CONFIG_FILE)).toBe(true);
    }
  });
});
