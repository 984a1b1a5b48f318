// Before any test file: what no package manager of the project installs (Node, Terraform, Python)
// must be there, or the run stops here with one message saying what to install.
import { checkPrerequisites } from "../scripts/shared/prerequisites";

export default function globalSetup(): void {
  checkPrerequisites();
}
