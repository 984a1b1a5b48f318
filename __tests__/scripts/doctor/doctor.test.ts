/**
 * npm run doctor against the moto emulator: a healthy deployment passes every check, and each
 * broken setup is diagnosed by the right check, alone, with its fix. The deployed state is built
 * with SDK calls from the stack's own typed policies (see deployed-state.ts).
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseDoctorFlags, USAGE } from "../../../scripts/doctor/cli";
import { loadConfig } from "../../../stacks/config";
import { clientsFor, READ_ONLY_OPERATIONS, sentOperations } from "../../../scripts/doctor/aws";
import { CHECK_IDS, formatReport, formatTargetTable, runDoctor, type CheckId, type CheckResult } from "../../../scripts/doctor/checks";
import { targetEnvironment } from "../../../scripts/doctor/context";
import { lifecycleDrift, policyDrift } from "../../../scripts/doctor/drift-checks";
import { reportBucketLifecycleRules } from "../../../stacks/constructs/report-bucket";
import { accessTrustPolicy } from "../../../stacks/constructs/trust-chain";
import { expectationsOf } from "../../../scripts/doctor/expectations";
import { selectTargets } from "../../../scripts/shared/cli";
import { subscriptionState } from "../../../scripts/doctor/monitoring";
import { startLocalAws } from "../../../scripts/emulator/local-aws";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";
import { ACCOUNT_A, deploy, type Breakage, type Deployment } from "../../../test-support/deployed-state";

const B = "222222222222";
const config = loadConfig({ env: { ACCOUNT_B_ID: B } });
const ACCESS_ARN = `arn:aws:iam::${B}:role/iss-tracker-report-writer`;
const EXEC_ARN = `arn:aws:iam::${ACCOUNT_A}:role/iss-tracker-function-exec`;
const DRIFT = ["access-trust-drift", "bucket-policy-drift", "bucket-public-access-block", "bucket-versioning", "bucket-lifecycle"];
const DOCTOR = resolve(__dirname, "..", "..", "..", "scripts", "doctor", "cli.ts");

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

/** Resets the emulator, deploys (broken as asked) and runs doctor as the deployer. */
async function diagnose(broken: Breakage = {}, options: { withProfileB?: boolean } = {}): Promise<{ results: CheckResult[]; deployment: Deployment }> {
  await moto.reset();
  // As npm start deploys (no TLS-only bucket policy, which moto applies to every caller) unless a case needs the policy.
  const deployment = await deploy(moto.endpoint, config, { localMode: broken.extraBucketStatement === undefined, ...broken });
  const results = await runDoctor({
    config, endpoint: moto.endpoint, credentialsA: deployment.deployer,
    ...(options.withProfileB ? { credentialsB: deployment.adminB } : {}),
  });
  return { results, deployment };
}
const failing = (results: CheckResult[]) => results.filter((r) => r.status === "fail").map((r) => r.id);
const get = (results: CheckResult[], id: CheckId) => {
  const found = results.find((r) => r.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};

describe("npm run doctor (read-only diagnosis of a deployed chain, on the emulator)", () => {
  it("passes every check on a healthy deployment, in the documented order", async () => {
    const { results } = await diagnose();
    expect(results.map((r) => r.id)).toEqual([...CHECK_IDS]);
    // Local mode deploys no bucket policy: nothing to compare, so SKIP with the reason, never PASS.
    // moto drops a lifecycle rule's NewerNoncurrentVersions: that rule cannot be compared there either.
    expect(results.filter((r) => r.status !== "pass").map((r) => [r.id, r.status])).toEqual([["bucket-policy-drift", "skip"], ["bucket-lifecycle", "skip"]]);
    expect(get(results, "bucket-policy-drift").detail).toMatch(/^not checked: the emulator's deployment has no bucket policy \(npm start's local mode deploys none/);
    expect(get(results, "bucket-lifecycle").detail).toBe("not checked: the emulator does not keep a rule's NewerNoncurrentVersions (moto drops it), so the noncurrent-version rule cannot be compared; " +
      "the rest matches the stack's (expire-noncurrent-versions, abort-incomplete-multipart-uploads, no Expiration)");
    expect(get(results, "identity-a").detail).toBe(`arn:aws:iam::${ACCOUNT_A}:user/deployer in account ${ACCOUNT_A}`);
    expect(get(results, "identity-b").detail).toMatch(/assumed-role\/terraform\/iss-tracker-doctor in account 222222222222 \(through the bootstrap role\)/);
    expect(get(results, "object-read").detail).toMatch(/no log yet/);
    expect(formatReport(results).split("\n").pop()).toBe("doctor: 26 passed, 0 failed, 2 skipped (SKIP: not checked, for the reason shown; never a pass)");
  });

  it("reads an existing log through the access role", async () => {
    const { results } = await diagnose({ withLog: "ISS Location Logs\n=================\n" });
    expect(failing(results)).toEqual([]);
    expect(get(results, "object-read").detail).toMatch(/the access role .*: GetObject iss_position.txt: the log exists \(36 bytes, it begins with the log's header\)/);
  });

  it("diagnoses an execution role without sts:AssumeRole on the access role (not authorized to perform sts:AssumeRole)", async () => {
    const { results } = await diagnose({ withoutAssumePolicy: true });
    expect(failing(results)).toEqual(["execution-policy"]);
    expect(get(results, "execution-policy").fix)
      .toBe(`attach to iss-tracker-function-exec a policy allowing sts:AssumeRole on ${ACCESS_ARN} (the stack's assume-report-access-role policy): \`npx cdktf deploy iss-tracker\` with the same configuration`);
  });

  it("flags sts:AssumeRole on Resource \"*\" as broader than the one access role", async () => {
    const { results } = await diagnose({ assumeAnyRole: true });
    expect(failing(results)).toEqual(["execution-policy"]);
    expect(get(results, "execution-policy").detail).toMatch(/and any other role \(Resource "\*"\)/);
    expect(get(results, "execution-policy").fix).toMatch(new RegExp(`^restrict the sts:AssumeRole statement of iss-tracker-function-exec to Resource ${ACCESS_ARN}`));
  });

  it("diagnoses a trust policy whose external id differs from the function's", async () => {
    const { results } = await diagnose({ trustExternalId: "something-else" });
    expect(failing(results)).toEqual(["access-trust-external-id", "access-trust-drift"]);
    const check = get(results, "access-trust-external-id");
    expect(check.detail).toBe(`the trust requires sts:ExternalId "something-else"; the function sends "${config.externalId}"`);
    expect(check.fix).toMatch(/^the function's EXTERNAL_ID and the trust policy's sts:ExternalId differ: redeploy both from one configuration/);
  });

  it("diagnoses a trust principal without the execution role's path (Invalid principal … /service-role/)", async () => {
    const { results } = await diagnose({ execPath: "/service-role/", trustPrincipal: () => EXEC_ARN });
    expect(failing(results)).toEqual(["access-trust-principal", "access-trust-drift"]);
    expect(get(results, "access-trust-principal").fix).toMatch(
      new RegExp(`^the trust policy names ${EXEC_ARN}, but the execution role's ARN has the path /service-role/: name arn:aws:iam::${ACCOUNT_A}:role/service-role/iss-tracker-function-exec; the ARN without /service-role/ names no role \\(AWS rejects it with "Invalid principal in policy"\\)`));
  });

  it("diagnoses a trust policy that names another principal instead of the execution role", async () => {
    const { results } = await diagnose({ trustPrincipal: () => `arn:aws:iam::${ACCOUNT_A}:role/someone-else` });
    expect(failing(results)).toEqual(["access-trust-principal", "access-trust-drift"]);
    expect(get(results, "access-trust-principal").fix)
      .toMatch(new RegExp(`^the access role's trust policy must name the execution role ${EXEC_ARN} exactly \\(it names arn:aws:iam::${ACCOUNT_A}:role/someone-else\\)`));
  });

  it("diagnoses a trust policy open to all of account A", async () => {
    const { results } = await diagnose({ trustPrincipal: () => `arn:aws:iam::${ACCOUNT_A}:root` });
    expect(failing(results)).toEqual(["access-trust-principal", "access-trust-drift"]);
  });

  it("diagnoses a function environment that points at another role and bucket", async () => {
    const { results } = await diagnose({ environment: { ACCESS_ROLE_ARN: `arn:aws:iam::${B}:role/elsewhere`, BUCKET_NAME: "other-bucket" } });
    expect(failing(results)).toEqual(["function-environment"]);
    const check = get(results, "function-environment");
    expect(check.detail).toBe(`ACCESS_ROLE_ARN="arn:aws:iam::${B}:role/elsewhere", but the deployed access role is "${ACCESS_ARN}"; ` +
      `BUCKET_NAME="other-bucket", but the deployed bucket is "${config.bucketName}"`);
    expect(check.fix).toMatch(/never edit it by hand/);
  });

  it("diagnoses an access role without S3 permissions", async () => {
    const { results } = await diagnose({ withoutObjectPolicy: true });
    expect(failing(results)).toEqual(["access-permissions"]);
    expect(get(results, "access-permissions").fix).toMatch(/^grant iss-tracker-report-writer s3:GetObject, s3:PutObject, s3:AbortMultipartUpload /);
  });

  it("diagnoses a bucket policy that denies the access role (a restrictive bucket policy)", async () => {
    const { results } = await diagnose({
      extraBucketStatement: (accessArn, bucketArn) => ({ Sid: "NoWriter", Effect: "Deny", Principal: { AWS: accessArn }, Action: "s3:PutObject", Resource: `${bucketArn}/*` }),
    });
    expect(failing(results)).toEqual(["bucket-policy", "bucket-policy-drift"]);
    expect(get(results, "bucket-policy").detail).toBe("over TLS: s3:GetObject: not denied, s3:PutObject: denied by the bucket policy, s3:AbortMultipartUpload: not denied");
    expect(get(results, "bucket-policy").fix).toMatch(/^the bucket policy's statement NoWriter denies the access role: remove it/);
  });

  it("diagnoses a missing bootstrap role (Terraform cannot reach B) and checks nothing in B without credentials", async () => {
    const { results } = await diagnose({ withoutBootstrapRole: true });
    expect(failing(results)).toEqual(["bootstrap-role", "identity-b", "access-role"]);
    expect(get(results, "bootstrap-role").fix)
      .toMatch(new RegExp(`^deploy the bootstrap stack with B's credentials: DEPLOYER_PRINCIPAL_ARN=arn:aws:iam::${ACCOUNT_A}:user/deployer AWS_PROFILE=<profile of B> npx cdktf deploy bootstrap`));
    expect(results.filter((r) => r.status === "skip").map((r) => [r.id, r.detail])).toEqual([
      ["access-trust-principal", "not checked: the access role could not be read"],
      ["access-trust-external-id", "not checked: the access role could not be read"],
      ["bucket", "not checked: no credentials for account B"],
      ["access-permissions", "not checked: the access role could not be read"],
      ["bucket-policy", "not checked: the access role could not be read"],
      ["object-read", "not checked: the bucket could not be read"],
      ["access-trust-drift", "not checked: the access role could not be read"],
      ["bucket-policy-drift", "not checked: the bucket could not be read"],
      ["bucket-public-access-block", "not checked: the bucket could not be read"],
      ["bucket-versioning", "not checked: the bucket could not be read"],
      ["bucket-lifecycle", "not checked: the bucket could not be read"],
    ]);
  });

  it("diagnoses a bootstrap role that trusts another principal, when B's own credentials can read its trust", async () => {
    const { results } = await diagnose({ bootstrapTrusts: `arn:aws:iam::${ACCOUNT_A}:user/someone-else` }, { withProfileB: true });
    expect(failing(results)).toEqual(["bootstrap-role"]);
    expect(get(results, "bootstrap-role").detail).toMatch(/its trust policy does not name arn:aws:iam::123456789012:user\/deployer \(trusts arn:aws:iam::123456789012:user\/someone-else\)/);
  });

  it("skips the live read on the emulator when the bucket policy has a Deny (moto applies it to every caller), saying so", async () => {
    const { results } = await diagnose({ localMode: false });
    const read = get(results, "object-read");
    expect(read.status).toBe("skip");
    expect(read.detail).toBe("not checked: the emulator applies the bucket policy's Deny statements (DenyInsecureTransport, OnlyAccessRoleTouchesObjects, TerraformSetsProtectionsOnce) to every object call whatever their conditions, " +
      "so a GET there cannot tell (npm start's local mode deploys no bucket policy)");
  });

  it("skips the live read when the chain refuses doctor (only the execution role may assume the access role), after reading with B's credentials", async () => {
    // The STS gate evaluates trust policies as AWS does; doctor's caller is the deployer.
    const local = await startLocalAws({ gates: ["sts"] });
    try {
      const deployment = await deploy(local.motoEndpoint, config, { localMode: true, withLog: "ISS Location Logs\n=================\n" });
      local.stsGate!.registerCaller(deployment.deployer.accessKeyId, deployment.deployerArn);
      const results = await runDoctor({ config, endpoint: local.endpoint, credentialsA: deployment.deployer, credentialsB: deployment.adminB });
      expect(failing(results)).toEqual([]);
      const read = get(results, "object-read");
      expect(read.status).toBe("skip");
      expect(read.detail).toMatch(/^not checked: arn:aws:iam::123456789012:user\/deployer may not assume the access role \(AccessDenied .*with this external id.*\); only the execution role may, as designed; read with B's credentials instead: GetObject iss_position.txt: the log exists \(36 bytes, it begins with the log's header\)$/);
      // Through the bootstrap role only: it may not touch the log by design, so doctor does not try.
      const viaBootstrap = await runDoctor({ config, endpoint: local.endpoint, credentialsA: deployment.deployer });
      expect(get(viaBootstrap, "object-read")).toMatchObject({ status: "skip" });
      expect(get(viaBootstrap, "object-read").detail).toMatch(/; and B is reached here through the bootstrap role, which by design may not read the log \(--profile-b <profile of B> reads it with B's own credentials\)$/);
      // The bootstrap role's own session may not read the role: no AccessDenied in a PASS, the live AssumeRole (trust evaluated by the gate) is the check.
      const bootstrap = get(viaBootstrap, "bootstrap-role");
      expect(bootstrap.status).toBe("pass");
      expect(bootstrap.detail).not.toMatch(/AccessDenied/);
    } finally {
      await local.stop();
    }
  });

  it("stops at a missing function and marks what it could not check as skipped", async () => {
    const { results } = await diagnose({ withoutFunction: true });
    expect(failing(results)).toEqual(["function"]);
    expect(get(results, "function").fix).toMatch(/^deploy the stack: `npx cdktf deploy iss-tracker`/);
    expect(results.filter((r) => r.status === "skip")).toHaveLength(CHECK_IDS.length - 4);
  });

  it("only reads: its clients send read operations and refuse a write before sending it", async () => {
    sentOperations.length = 0;
    await diagnose();
    expect(sentOperations.length).toBeGreaterThanOrEqual(25);
    expect(sentOperations.filter((op) => !READ_ONLY_OPERATIONS.has(op))).toEqual([]);
    for (const op of READ_ONLY_OPERATIONS) expect(op).toMatch(/^(Get|List|Head|Describe|AssumeRole)/);
    // Exactly the day-two reads were added, and every one of them was used.
    for (const op of ["GetFunctionEventInvokeConfigCommand", "GetQueueUrlCommand", "GetQueueAttributesCommand", "GetTopicAttributesCommand",
      "ListSubscriptionsByTopicCommand", "GetKeyPolicyCommand", "DescribeAlarmsCommand", "DescribeMetricFiltersCommand"]) {
      expect(READ_ONLY_OPERATIONS.has(op)).toBe(true);
      expect(sentOperations).toContain(op);
    }
    expect(sentOperations).toContain("GetObjectCommand");
    for (const op of ["GetBucketVersioningCommand", "GetBucketLifecycleConfigurationCommand", "GetPublicAccessBlockCommand"]) expect(sentOperations).toContain(op);
    expect(READ_ONLY_OPERATIONS.size).toBe(24);
    const { s3 } = clientsFor({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "x", secretAccessKey: "y" } });
    await expect(s3.send(new PutObjectCommand({ Bucket: config.bucketName, Key: "x", Body: "x" }))).rejects.toThrow("doctor is read-only: refusing PutObjectCommand");
  });

  it("runs as `npm run doctor -- --endpoint`: exits 1 and prints the failing check with its fix", async () => {
    await moto.reset();
    const deployment = await deploy(moto.endpoint, config, { withoutAssumePolicy: true, localMode: true });
    const run = spawnSync(process.execPath, ["--import", "tsx", DOCTOR, "--endpoint", moto.endpoint], {
      encoding: "utf8",
      env: { ...process.env, ACCOUNT_B_ID: B, AWS_ACCESS_KEY_ID: deployment.deployer.accessKeyId, AWS_SECRET_ACCESS_KEY: deployment.deployer.secretAccessKey, AWS_PROFILE: "" },
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^FAIL  execution-policy: execution role may sts:AssumeRole the access role \(and no other role\)$/m);
    expect(run.stdout).toMatch(/^      fix: attach to iss-tracker-function-exec a policy allowing sts:AssumeRole on /m);
    expect(run.stdout).toMatch(/^doctor: 25 passed, 1 failed, 2 skipped \(SKIP: not checked, for the reason shown; never a pass\)$/m);
  }, 30_000);

  it("takes accounts A and B from named profiles (--profile-a, --profile-b) and exits 0 on a healthy deployment", async () => {
    await moto.reset();
    const deployment = await deploy(moto.endpoint, config, { localMode: true });
    const dir = mkdtempSync(join(tmpdir(), "iss-doctor-profiles-"));
    try {
      const credentials = join(dir, "credentials");
      writeFileSync(credentials, [
        "[account-a]", `aws_access_key_id = ${deployment.deployer.accessKeyId}`, `aws_secret_access_key = ${deployment.deployer.secretAccessKey}`,
        "[account-b]", `aws_access_key_id = ${deployment.adminB.accessKeyId}`, `aws_secret_access_key = ${deployment.adminB.secretAccessKey}`, `aws_session_token = ${deployment.adminB.sessionToken}`,
        "",
      ].join("\n"));
      const env: NodeJS.ProcessEnv = { ...process.env, ACCOUNT_B_ID: B, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "config") };
      for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete env[name];
      const run = spawnSync(process.execPath, ["--import", "tsx", DOCTOR, "--endpoint", moto.endpoint, "--profile-a", "account-a", "--profile-b", "account-b"], { encoding: "utf8", env });
      expect(run.stderr).not.toMatch(/doctor:/);
      expect(run.stdout).toMatch(/^PASS  identity-a: .*\n      arn:aws:iam::123456789012:user\/deployer in account 123456789012$/m);
      expect(run.stdout).toMatch(/^      arn:aws:sts::222222222222:assumed-role\/OrganizationAccountAccessRole\/setup in account 222222222222 \(profile account-b\)$/m);
      expect(run.stdout).toMatch(/^doctor: 26 passed, 0 failed, 2 skipped \(SKIP: not checked, for the reason shown; never a pass\)$/m);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("exits 0 with warnings and says so: an alarm without data, a topic nobody confirmed", async () => {
    await moto.reset();
    const deployment = await deploy(moto.endpoint, config, { withoutSubscription: true, alarmStates: { "iss-tracker-function-errors": "INSUFFICIENT_DATA" }, localMode: true });
    const run = spawnSync(process.execPath, ["--import", "tsx", DOCTOR, "--endpoint", moto.endpoint], {
      encoding: "utf8",
      env: { ...process.env, ACCOUNT_B_ID: B, AWS_ACCESS_KEY_ID: deployment.deployer.accessKeyId, AWS_SECRET_ACCESS_KEY: deployment.deployer.secretAccessKey, AWS_PROFILE: "" },
    });
    expect(run.stdout).toMatch(/^WARN  alert-subscription: someone receives the alarms \(a confirmed subscription\)$/m);
    expect(run.stdout).toMatch(/^WARN  alarm-function-errors: alarm on function errors$/m);
    expect(run.stdout).toMatch(/^doctor: 24 passed, 0 failed, 2 skipped, 2 warnings \(SKIP: not checked, for the reason shown; never a pass\)$/m);
    expect(run.status).toBe(0);
  }, 30_000);

  it("accepts only a loopback --endpoint and known flags", () => {
    expect(parseDoctorFlags(["--endpoint", "http://127.0.0.1:5000", "--profile-a=a"])).toEqual({ endpoint: "http://127.0.0.1:5000", profileA: "a", profileB: undefined });
    expect(() => parseDoctorFlags(["--endpoint", "https://s3.amazonaws.com"])).toThrow("--endpoint must be a loopback URL");
    expect(() => parseDoctorFlags(["--profile-b"])).toThrow("Option '--profile-b <value>' argument missing");
    expect(() => parseDoctorFlags(["--profile-b="])).toThrow("--profile-b needs a value");
    expect(() => parseDoctorFlags(["--write"])).toThrow("Unknown option '--write'");
    expect(() => parseDoctorFlags(["--write"])).toThrow(USAGE);
    expect(() => parseDoctorFlags(["--help"])).toThrow(expect.objectContaining({ help: true, message: USAGE }));
  });
});

describe("npm run doctor: drift of what protects the log, against what the stack synthesizes", () => {
  const SET_ONCE_FIX = /the bucket policy's TerraformSetsProtectionsOnce denies the bootstrap role this change, so a redeploy fails with AccessDenied; an administrator of B \(or B's root\) puts it back: /;

  it("passes a deployment with the stack's bucket policy, trust, public access block, versioning and lifecycle rules", async () => {
    const { results } = await diagnose({ localMode: false });
    expect(failing(results)).toEqual([]);
    expect(DRIFT.map((id) => [id, get(results, id).status])).toEqual(DRIFT.map((id) => [id, id === "bucket-lifecycle" ? "skip" : "pass"]));
    expect(get(results, "bucket-policy-drift").detail).toBe(`${config.bucketName}: DenyInsecureTransport, OnlyAccessRoleTouchesObjects, TerraformSetsProtectionsOnce, as the stack writes them`);
    expect(get(results, "bucket-lifecycle").title).toBe(`bucket lifecycle keeps noncurrent versions ${config.noncurrentVersionDays} days${config.newerNoncurrentVersions ? ` (and the newest ${config.newerNoncurrentVersions})` : ""}, and never expires the log`);
  });

  it("fails suspended versioning; with the bucket policy standing, only B's administrators can restore it", async () => {
    const { results } = await diagnose({ localMode: false, versioning: "Suspended" });
    expect(failing(results)).toEqual(["bucket-versioning"]);
    expect(get(results, "bucket-versioning").detail).toBe(`${config.bucketName}: versioning Suspended`);
    expect(get(results, "bucket-versioning").fix).toMatch(SET_ONCE_FIX);
    expect(get(results, "bucket-versioning").fix).toContain(`aws s3api put-bucket-versioning --bucket ${config.bucketName} --versioning-configuration Status=Enabled`);
  });

  it("without the bucket policy (local mode), a redeploy is the fix", async () => {
    const { results } = await diagnose({ versioning: "Suspended" });
    expect(failing(results)).toEqual(["bucket-versioning"]);
    expect(get(results, "bucket-versioning").fix).toBe("versioning is Suspended, so an append overwrites the log with no way back: `npx cdktf deploy iss-tracker` with the same configuration puts it back");
  });

  it("fails a lifecycle rule that expires current versions (the log itself)", async () => {
    const { results } = await diagnose({ localMode: false, expirationDays: 30 });
    expect(failing(results)).toEqual(["bucket-lifecycle"]);
    expect(get(results, "bucket-lifecycle").detail).toBe(`${config.bucketName}: rule expire-everything expires the current version (Expiration 30 days): the log itself would be deleted (NewerNoncurrentVersions not compared: the emulator drops it)`);
    expect(get(results, "bucket-lifecycle").fix).toMatch(SET_ONCE_FIX);
  });

  it("fails a public access block setting turned off, naming it", async () => {
    const { results } = await diagnose({ localMode: false, publicAccessOff: "restrictPublicBuckets" });
    expect(failing(results)).toEqual(["bucket-public-access-block"]);
    expect(get(results, "bucket-public-access-block").detail).toBe(`${config.bucketName}: RestrictPublicBuckets off`);
    expect(get(results, "bucket-public-access-block").fix).toMatch(SET_ONCE_FIX);
  });

  it("fails a statement added to the bucket policy, even one that blocks nothing, and says only B's administrators or root can restore it", async () => {
    const { results } = await diagnose({
      extraBucketStatement: (_, bucketArn) => ({ Sid: "AddedByHand", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: "s3:GetBucketTagging", Resource: bucketArn }),
    });
    expect(failing(results)).toEqual(["bucket-policy-drift"]);
    expect(get(results, "bucket-policy-drift").detail).toBe(`${config.bucketName}: not the stack's: AddedByHand`);
    expect(get(results, "bucket-policy-drift").fix).toBe("the bucket policy was changed by hand; the bootstrap role cannot restore it (the policy's TerraformSetsProtectionsOnce denies it any change of the policy), " +
      `so only B's administrators or B's root can: delete it (aws s3api delete-bucket-policy --bucket ${config.bucketName}) and run \`npx cdktf deploy iss-tracker\` with the same configuration, which writes the stack's again (docs/security.md)`);
  });

  it("fails a principal added to the access role's trust beside the execution role", async () => {
    const { results } = await diagnose({ extraTrustPrincipal: `arn:aws:iam::${ACCOUNT_A}:role/someone-else` });
    expect(failing(results)).toEqual(["access-trust-principal", "access-trust-drift"]);
    expect(get(results, "access-trust-drift").detail).toBe("iss-tracker-report-writer's trust: changed TrackerExecutionRoleAssumesRole");
    expect(get(results, "access-trust-drift").fix).toMatch(/^someone edited the access role's trust policy .*: `npx cdktf deploy iss-tracker` with the same configuration writes the stack's again$/);
  });

  it("compares the noncurrent-version rule's NewerNoncurrentVersions where the emulator keeps it (its lifecycle gate), as on AWS", async () => {
    const local = await startLocalAws({ gates: ["lifecycle"] });
    try {
      const run = async (days: number) => {
        await local.reset();
        const deployment = await deploy(local.endpoint, loadConfig({ env: { ACCOUNT_B_ID: B, NONCURRENT_VERSION_DAYS: String(days) } }), { localMode: true });
        return get(await runDoctor({ config, endpoint: local.endpoint, credentialsA: deployment.deployer }), "bucket-lifecycle");
      };
      const healthy = await run(config.noncurrentVersionDays);
      expect(healthy).toMatchObject({ status: "pass", detail: `${config.bucketName}: expire-noncurrent-versions, abort-incomplete-multipart-uploads, as the stack declares them` });
      const shortened = await run(config.noncurrentVersionDays + 1);
      expect(shortened.status).toBe("fail");
      expect(shortened.detail).toContain(`rule expire-noncurrent-versions is {"id":"expire-noncurrent-versions","noncurrentVersionExpiration":{"noncurrentDays":${config.noncurrentVersionDays + 1},"newerNoncurrentVersions":${config.newerNoncurrentVersions}}}`);
      expect(shortened.fix).toBe("the lifecycle rules were changed: `npx cdktf deploy iss-tracker` with the same configuration puts it back");
    } finally {
      await local.stop();
    }
  }, 60_000);

  it("compares policies statement by statement, whatever the order and one-or-many forms; a non-AWS principal added is drift too", () => {
    const expected = accessTrustPolicy(EXEC_ARN, "id");
    const [stmt] = expected.Statement;
    expect(policyDrift(expected, { Version: "2012-10-17", Statement: [{ ...stmt, Principal: { AWS: [EXEC_ARN] }, Action: ["sts:AssumeRole"] }] })).toEqual({ missing: [], changed: [], extra: [] });
    const service = { Sid: "Ec2", Effect: "Allow" as const, Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" };
    expect(policyDrift(expected, { Version: "2012-10-17", Statement: [service, stmt] })).toEqual({ missing: [], changed: [], extra: ["Ec2"] });
    expect(policyDrift(expected, { Version: "2012-10-17", Statement: [] })).toEqual({ missing: ["TrackerExecutionRoleAssumesRole"], changed: [], extra: [] });
  });

  it("compares lifecycle rules with the configured noncurrent days and newer versions", () => {
    const rules = reportBucketLifecycleRules({ noncurrentVersionDays: 30, newerNoncurrentVersions: 5 });
    const asS3 = (days: number, newer?: number) => [
      { ID: "expire-noncurrent-versions", Status: "Enabled" as const, Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: days, NewerNoncurrentVersions: newer } },
      { ID: "abort-incomplete-multipart-uploads", Status: "Enabled" as const, Filter: { Prefix: "" }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    ];
    expect(lifecycleDrift(rules, asS3(30, 5))).toEqual([]);
    expect(lifecycleDrift(rules, asS3(1, 5))).toEqual(['rule expire-noncurrent-versions is {"id":"expire-noncurrent-versions","noncurrentVersionExpiration":{"noncurrentDays":1,"newerNoncurrentVersions":5}}, ' +
      'the stack\'s is {"id":"expire-noncurrent-versions","noncurrentVersionExpiration":{"noncurrentDays":30,"newerNoncurrentVersions":5}}']);
    expect(lifecycleDrift(rules, asS3(30))).toHaveLength(1);
    expect(lifecycleDrift(rules, [])).toHaveLength(2);
    const disabled = asS3(30, 5).map((r) => ({ ...r, Status: "Disabled" as const }));
    expect(lifecycleDrift(rules, disabled)).toHaveLength(2);
  });
});

describe("npm run doctor, day two: is anyone told, and is anything waiting?", () => {
  const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT_A}:iss-tracker-alerts`;
  const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT_A}:iss-tracker-failed-invocations`;
  const warned = (results: CheckResult[]) => results.filter((r) => r.status === "warn").map((r) => r.id);

  it("reports a healthy setup: destination usable by the execution role, queues empty, topic usable by CloudWatch, a confirmed subscriber, alarms OK", async () => {
    const { results } = await diagnose();
    expect(get(results, "failure-destination").detail).toBe(`iss-tracker-function -> ${QUEUE}; iss-tracker-function-exec sqs:SendMessage: Allowed`);
    expect(get(results, "failed-invocations").detail).toMatch(/\/iss-tracker-failed-invocations: 0 message\(s\) waiting$/);
    expect(get(results, "undeliverable-events").detail).toMatch(/\/iss-tracker-schedule-dlq: 0 message\(s\) waiting$/);
    expect(get(results, "alert-topic").detail).toMatch(new RegExp(`^${TOPIC}: key arn:aws:kms:us-east-1:${ACCOUNT_A}:key/[\\w-]+ usable by CloudWatch; this deployment's alarms may publish$`));
    expect(get(results, "alert-subscription").detail).toBe("confirmed: email:ops@example.com");
    expect(get(results, "alarm-log-stalled").detail).toMatch(/^iss-tracker-log-stalled: OK since .* \(ISSTracker\/iss-tracker\/EntriesAppended Sum LessThanThreshold 1 per 15 minutes, missing data breaching\)/);
  });

  it("fails on an alarm in ALARM, with the fix for that alarm", async () => {
    const { results } = await diagnose({ alarmStates: { "iss-tracker-log-stalled": "ALARM", "iss-tracker-function-errors": "ALARM" } });
    expect(failing(results)).toEqual(["alarm-function-errors", "alarm-log-stalled"]);
    expect(get(results, "alarm-log-stalled").fix).toBe("no entry was appended in 15 minutes: npm run log shows the last one; if runs fail, see alarm-function-errors; " +
      "if nothing runs, check the schedule rule iss-tracker-schedule is ENABLED (aws events describe-rule --name iss-tracker-schedule)");
    expect(get(results, "alarm-function-errors").fix).toMatch(/^the function failed in the last 5 minutes: its 'run failed' lines say why \(aws logs filter-log-events --log-group-name \/aws\/lambda\/iss-tracker-function /);
  });

  it("warns on an alarm without data (INSUFFICIENT_DATA), saying the emulator never evaluates alarms", async () => {
    const { results } = await diagnose({ alarmStates: { "iss-tracker-failed-invocations": "INSUFFICIENT_DATA" } });
    expect(failing(results)).toEqual([]);
    expect(warned(results)).toEqual(["alarm-failed-invocations"]);
    expect(get(results, "alarm-failed-invocations").fix).toBe("the emulator never evaluates alarms; on AWS this state lasts only the first minutes after a deploy");
  });

  it("skips an alarm the emulator never evaluated instead of passing its initial state as a verdict", async () => {
    const { results } = await diagnose({ alarmStates: { "iss-tracker-undeliverable-events": "(unset)" } });
    const alarm = get(results, "alarm-undeliverable-events");
    expect(alarm.status).toBe("skip");
    expect(alarm.detail).toMatch(/^not checked: iss-tracker-undeliverable-events: OK .*: Unchecked: Initial alarm creation \[the emulator never evaluates alarms: this is its initial state, not a verdict; it is there and notifies the topic\]$/);
    expect(formatReport(results).split("\n").pop()).toBe("doctor: 25 passed, 0 failed, 3 skipped (SKIP: not checked, for the reason shown; never a pass)");
  });

  it("still fails an alarm in its initial state when what it needs is missing (no metric filter counts the entries)", async () => {
    const { results } = await diagnose({ alarmStates: { "iss-tracker-log-stalled": "(unset)" }, withoutMetricFilter: true });
    expect(failing(results)).toEqual(["alarm-log-stalled"]);
  });

  it("fails on records waiting in the on-failure queue and events in the dead-letter queue, with how to read and clear them", async () => {
    const { results } = await diagnose({ failedRecords: 2, undeliverableEvents: 1 });
    expect(failing(results)).toEqual(["failed-invocations", "undeliverable-events"]);
    const failed = get(results, "failed-invocations");
    expect(failed.detail).toMatch(/\/123456789012\/iss-tracker-failed-invocations: 2 message\(s\) waiting$/);
    expect(failed.fix).toMatch(/^2 failed-invocation record\(s\) wait in the queue: read them \(aws sqs receive-message --queue-url \S+iss-tracker-failed-invocations --max-number-of-messages 10 /);
    expect(failed.fix).toMatch(/then delete them \(aws sqs purge-queue --queue-url \S+iss-tracker-failed-invocations\) so its alarm returns to OK$/);
    expect(get(results, "undeliverable-events").fix).toMatch(/^1 undeliverable scheduled event\(s\) wait in the queue: .*fix why EventBridge could not invoke the function/);
  });

  it("fails when the function has no on-failure destination (failed events are dropped)", async () => {
    const { results } = await diagnose({ withoutDestination: true });
    expect(failing(results)).toEqual(["failure-destination"]);
    expect(get(results, "failure-destination").fix).toBe(`an event whose runs all fail is dropped without a trace: \`npx cdktf deploy iss-tracker\` with the same configuration sets the on-failure destination ${QUEUE}`);
  });

  it("fails when the queue refuses the execution role (Lambda delivers with the role's permissions)", async () => {
    const { results } = await diagnose({ failureQueueSender: `arn:aws:iam::${ACCOUNT_A}:role/someone-else` });
    expect(failing(results)).toEqual(["failure-destination"]);
    expect(get(results, "failure-destination").detail).toMatch(/iss-tracker-function-exec sqs:SendMessage: ExplicitlyDenied \(its policies: Allowed; the queue policy: ExplicitlyDenied\)$/);
    expect(get(results, "failure-destination").fix).toMatch(/^Lambda delivers failed-event records with the execution role's permissions, and iss-tracker-function-exec may not sqs:SendMessage to \S+, so they are lost \(as DestinationDeliveryFailures\): the queue policy's NoOtherSender refuses it: /);
  });

  it("fails when neither the execution role's policies nor the queue policy let it send", async () => {
    const { results } = await diagnose({ withoutSendGrant: true, failureQueueSender: `arn:aws:iam::${ACCOUNT_A}:role/someone-else` });
    expect(failing(results)).toEqual(["failure-destination"]);
    expect(get(results, "failure-destination").detail).toMatch(/\(its policies: ImplicitlyDenied; the queue policy: ExplicitlyDenied\)$/);
  });

  it("warns when only the queue policy lets the execution role send (same account: AWS allows it, but the role lost its grant)", async () => {
    const { results } = await diagnose({ withoutSendGrant: true });
    expect(failing(results)).toEqual([]);
    expect(warned(results)).toEqual(["failure-destination"]);
    expect(get(results, "failure-destination").detail).toMatch(/sqs:SendMessage: Allowed, by the queue policy alone: iss-tracker-function-exec lost its send-failed-invocations policy$/);
  });

  it("fails a topic under the AWS managed key alias/aws/sns, which CloudWatch alarms cannot publish to", async () => {
    const { results } = await diagnose({ topicKey: "aws-managed" });
    expect(failing(results)).toEqual(["alert-topic"]);
    expect(get(results, "alert-topic").fix).toMatch(/^it is encrypted with the AWS managed key alias\/aws\/sns, whose policy cannot let CloudWatch use it: alarms cannot publish to it: /);
  });

  it("fails a topic whose key policy forgot CloudWatch", async () => {
    const { results } = await diagnose({ topicKey: "without-cloudwatch" });
    expect(failing(results)).toEqual(["alert-topic"]);
    expect(get(results, "alert-topic").fix).toMatch(/^its key's policy does not let cloudwatch\.amazonaws\.com kms:GenerateDataKey and kms:Decrypt: alarms cannot publish to it/);
  });

  it("warns when nobody receives the alarms, with how to subscribe", async () => {
    const { results } = await diagnose({ withoutSubscription: true });
    expect(failing(results)).toEqual([]);
    expect(warned(results)).toEqual(["alert-subscription"]);
    expect(get(results, "alert-subscription").fix).toBe("set ALERT_EMAIL=you@example.com and `npx cdktf deploy iss-tracker` with the same configuration, or subscribe any endpoint: " +
      `aws sns subscribe --topic-arn ${TOPIC} --protocol email --notification-endpoint you@example.com`);
  });

  it("fails the log-stalled alarm when nothing counts the appended entries (no metric filter)", async () => {
    const { results } = await diagnose({ withoutMetricFilter: true });
    expect(failing(results)).toEqual(["alarm-log-stalled"]);
    expect(get(results, "alarm-log-stalled").detail).toMatch(/the metric filter iss-tracker-entries-appended on \/aws\/lambda\/iss-tracker-function is missing/);
  });

  it("tells a confirmed subscription from one waiting for its email link (AWS lists it as PendingConfirmation)", () => {
    expect(subscriptionState([
      { SubscriptionArn: `${TOPIC}:1f0c`, Protocol: "email", Endpoint: "a@example.com" },
      { SubscriptionArn: "PendingConfirmation", Protocol: "email", Endpoint: "b@example.com" },
    ])).toEqual({ confirmed: ["email:a@example.com"], pending: ["email:b@example.com"] });
  });
});

describe("doctor with several targets: each checked against its own settings", () => {
  const fleet = loadConfig({ env: { TARGETS: "222222222222,333333333333" } });

  it("expects the second target's own account, bucket, external id, bootstrap role and log-stalled alarm; A's names stay the deployment's", () => {
    const [first, second] = [0, 1].map((i) => expectationsOf(fleet, i));
    expect(second).toMatchObject({
      accountBId: "333333333333", bucketName: "iss-tracker-reports-333333333333-us-east-1", externalId: fleet.targets[1].externalId,
      accessRoleArn: "arn:aws:iam::333333333333:role/iss-tracker-report-writer", bootstrapRoleArn: "arn:aws:iam::333333333333:role/terraform",
      functionName: first.functionName, executionRoleName: first.executionRoleName,
    });
    expect(first.monitoring.alarms.logStalled).toBe("iss-tracker-log-stalled");
    expect(second.monitoring.alarms.logStalled).toBe("iss-tracker-log-stalled-333333333333");
    expect(second.monitoring.alarms.functionErrors).toBe(first.monitoring.alarms.functionErrors);
  });

  it("reads the function's TARGETS as the function does, one target at a time; a target it was not told about has no variables", () => {
    const env = { TARGETS: JSON.stringify([{ account: "222222222222", region: "us-east-1" }, { account: "333333333333", region: "eu-west-1" }]), NAME_PREFIX: "iss-tracker", OBJECT_KEY: "iss_position.txt", ISS_SOURCES: "https://example.com/iss" };
    expect(targetEnvironment(env, "333333333333")).toMatchObject({
      ACCESS_ROLE_ARN: "arn:aws:iam::333333333333:role/iss-tracker-report-writer", BUCKET_NAME: "iss-tracker-reports-333333333333-eu-west-1", BUCKET_REGION: "eu-west-1", OBJECT_KEY: "iss_position.txt",
    });
    expect(targetEnvironment(env, "444444444444").ACCESS_ROLE_ARN).toBeUndefined();
    const single = { ACCESS_ROLE_ARN: "arn:aws:iam::222222222222:role/x", EXTERNAL_ID: "e" };
    expect(targetEnvironment(single, "222222222222")).toBe(single);
  });

  it("--target picks one configured account and refuses another, naming the configured ones", () => {
    expect(parseDoctorFlags(["--target", "333333333333"]).target).toBe("333333333333");
    expect(selectTargets(fleet, "333333333333", USAGE).map((t) => t.accountId)).toEqual(["333333333333"]);
    expect(selectTargets(fleet, undefined, USAGE)).toHaveLength(2);
    expect(() => selectTargets(fleet, "444444444444", USAGE)).toThrow("--target 444444444444 is not a configured target (ACCOUNT_B_ID or TARGETS lists 222222222222, 333333333333)");
  });

  it("ends with one row per target: its counts and the checks that failed", () => {
    const result = (id: string, status: "pass" | "fail" | "skip" | "warn") => ({ id, title: id, status, detail: "" });
    expect(formatTargetTable([
      { target: "222222222222", results: [result("a", "pass"), result("b", "pass")] },
      { target: "333333333333", results: [result("a", "pass"), result("access-permissions", "fail"), result("c", "skip")] },
    ]).split("\n")).toEqual([
      "target        pass  fail  skip  warn  failed checks",
      "222222222222  2     0     0     0     -",
      "333333333333  1     1     1     0     access-permissions",
    ]);
  });
});
