// Loaded by jest before every test file.
import { Testing } from "cdktf";
import { applyTerraformEnv } from "../scripts/shared/terraform-env";

// cdktf's matchers: toHaveResourceWithProperties, toBeValidTerraform, ...
Testing.setupJest();
// Terraform runs (toBeValidTerraform, the emulator end-to-end) use the offline provider
// mirror when this machine has one, the public registry otherwise.
applyTerraformEnv(process.env);
