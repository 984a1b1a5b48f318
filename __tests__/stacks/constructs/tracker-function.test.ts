import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { buildFunctionBundle } from "../../../function/build";
import { only, resources, synthTracker } from "../../../test-support/synth";

const { stack, synthesized, json } = synthTracker({ LOG_RETENTION_DAYS: "90" });
const fn = only(json, "aws_lambda_function");
const roleIds = Object.entries(resources(json, "aws_iam_role"));
const execId = roleIds.find(([, r]) => r.name === "iss-tracker-function-exec")?.[0];
const accessId = roleIds.find(([, r]) => r.name === "iss-tracker-report-writer")?.[0];
const bucketId = Object.keys(resources(json, "aws_s3_bucket"))[0];
const logGroupId = Object.keys(resources(json, "aws_cloudwatch_log_group"))[0];

describe("tracker function (account A)", () => {
  it("runs the bundle on nodejs22.x arm64 as the execution role, with a deliberate timeout and memory", () => {
    expect(synthesized).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "iss-tracker-function",
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      timeout: 30,
      memory_size: 256,
      role: `\${aws_iam_role.${execId}.arn}`,
      provider: "aws",
    });
  });

  it("gets the access role, external id, bucket, region, key and ISS sources in its environment", () => {
    expect(fn.environment.variables).toEqual({
      ACCESS_ROLE_ARN: `\${aws_iam_role.${accessId}.arn}`,
      EXTERNAL_ID: json.output.external_id.value,
      BUCKET_NAME: `\${aws_s3_bucket.${bucketId}.bucket}`,
      BUCKET_REGION: "us-east-1",
      OBJECT_KEY: "iss_position.txt",
      ISS_SOURCES: "https://api.wheretheiss.at/v1/satellites/25544,http://api.open-notify.org/iss-now.json",
    });
  });

  it("ships a zip whose source_code_hash is the base64 SHA-256 of the packaged bytes (Lambda's CodeSha256)", () => {
    const outdir = Testing.fullSynth(stack);
    const zip = readFileSync(join(outdir, "stacks", "iss-tracker", fn.filename));
    expect(fn.filename).toMatch(/^assets\/tracker-function_bundle_[0-9A-F]+\/[0-9A-F]{32}\/function\.zip$/);
    expect(fn.source_code_hash).toBe(createHash("sha256").update(zip).digest("base64"));
    expect(zip.subarray(0, 4).toString("hex")).toBe("504b0304"); // a zip file
    expect(zip.includes(Buffer.from("index.js"))).toBe(true);
  });

  it("packages the same bytes on every build (no timestamps in the zip), so an unchanged function never diffs", () => {
    const first = buildFunctionBundle(mkdtempSync(join(tmpdir(), "bundle-a-")));
    const second = buildFunctionBundle(mkdtempSync(join(tmpdir(), "bundle-b-")));
    expect(readFileSync(second.zipPath).equals(readFileSync(first.zipPath))).toBe(true);
    expect(first.sha256).toBe(fn.source_code_hash);
  });

  it("logs to an explicit /aws/lambda/<name> group with the configured retention, created first", () => {
    expect(only(json, "aws_cloudwatch_log_group")).toMatchObject({ name: "/aws/lambda/iss-tracker-function", retention_in_days: 90 });
    expect(fn.depends_on).toEqual([`aws_cloudwatch_log_group.${logGroupId}`]);
  });

  it("bounds retries and age of scheduled (asynchronous) invocations", () => {
    expect(only(json, "aws_lambda_function_event_invoke_config")).toMatchObject({
      function_name: `\${aws_lambda_function.${Object.keys(resources(json, "aws_lambda_function"))[0]}.function_name}`,
      maximum_retry_attempts: 2,
      maximum_event_age_in_seconds: 600,
    });
  });
});
