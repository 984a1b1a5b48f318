// `npm run test:fast`: the type check, the unit and snapshot suites, and everything else that needs
// neither Terraform runs, Python tools (moto, checkov, the workflow linters) nor the built bundle in
// child processes: what CI reports first and what `npm run test:node` runs under each Node version.
// `npm test` runs everything, these included.
const base = require("./jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: [
    "/node_modules/",
    "\\.e2e\\.test\\.ts$", // the emulator end-to-end suite
    "\\.moto\\.test\\.ts$", // moto over HTTP
    "\\.bundle\\.test\\.ts$", // the built bundle in fresh Node processes against moto
    "/__tests__/function/build\\.test\\.ts$", // the bundle, against moto
    "/__tests__/stacks/terraform-validity\\.test\\.ts$", // terraform init + validate
    "/__tests__/scripts/checkov/", // checkov's venv and scan
    "/__tests__/scripts/doctor/", // moto
    "/__tests__/scripts/log/log\\.test\\.ts$", // moto
    "/__tests__/scripts/emulator/(iam|lifecycle|s3)-gate\\.test\\.ts$", // moto
    "/__tests__/scripts/shared/python-tools\\.test\\.ts$", // builds venvs
    "/__tests__/scripts/review/.*\\.terraform\\.test\\.ts$", // terraform fmt/init/validate/lock of the reviewed output
    "/__tests__/scripts/deploy/.*\\.terraform\\.test\\.ts$", // plain terraform plan/apply/destroy on moto
    "/__tests__/scripts/workflows/", // actionlint and zizmor from their venv
    "/__tests__/scripts/parliament/", // parliament from its venv
  ],
};
