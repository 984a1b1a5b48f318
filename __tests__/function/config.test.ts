import { ConfigError, loadConfig, MAX_MULTIPART_THRESHOLD, maxMultipartThreshold, MIN_MULTIPART_THRESHOLD } from "../../function/config";

const valid = {
  ACCESS_ROLE_ARN: "arn:aws:iam::111111111111:role/iss-tracker-access",
  EXTERNAL_ID: "iss-tracker-0123456789abcdef",
  BUCKET_NAME: "iss-tracker-reports-111111111111-us-east-1",
  BUCKET_REGION: "eu-west-1",
  OBJECT_KEY: "iss_position.txt",
  ISS_SOURCES: "http://api.open-notify.org/iss-now.json, https://api.wheretheiss.at/v1/satellites/25544",
};

describe("loadConfig", () => {
  it("reads the stack's variables (function/contract.ts) and defaults the threshold to 5 MiB", () => {
    expect(loadConfig(valid)).toEqual({
      targets: [{
        id: "111111111111",
        accessRoleArn: valid.ACCESS_ROLE_ARN,
        externalId: valid.EXTERNAL_ID,
        bucket: valid.BUCKET_NAME,
        bucketRegion: "eu-west-1",
        key: "iss_position.txt",
      }],
      issSources: ["http://api.open-notify.org/iss-now.json", "https://api.wheretheiss.at/v1/satellites/25544"],
      multipartThresholdBytes: MIN_MULTIPART_THRESHOLD,
    });
  });
  it("reports the contract's problems and its own at once, before anything is read or written", () => {
    expect(() => loadConfig({ ...valid, BUCKET_NAME: "Bad_Bucket", MULTIPART_THRESHOLD_BYTES: "1" })).toThrow(
      /^Invalid function configuration:\n- BUCKET_NAME is invalid: "Bad_Bucket" .*\n- MULTIPART_THRESHOLD_BYTES is invalid: "1"/,
    );
    expect(() => loadConfig({ ...valid, BUCKET_NAME: undefined })).toThrow(ConfigError);
  });
  it("accepts a MULTIPART_THRESHOLD_BYTES of 5 MiB or more", () => {
    expect(loadConfig({ ...valid, MULTIPART_THRESHOLD_BYTES: String(8 * 1024 * 1024) }).multipartThresholdBytes).toBe(8 * 1024 * 1024);
  });
  it.each(["5242879", "1024", "-1", "5MiB", "1e7", "99999999999999"])("rejects MULTIPART_THRESHOLD_BYTES=%s with the 5 MiB minimum in the message", (value) => {
    expect(() => loadConfig({ ...valid, MULTIPART_THRESHOLD_BYTES: value })).toThrow(/MULTIPART_THRESHOLD_BYTES is invalid.*5242880 \(5 MiB/);
  });
  it("bounds MULTIPART_THRESHOLD_BYTES by the function's memory: read-modify-write holds the object about twice", () => {
    expect(maxMultipartThreshold(256)).toBe(64 * 1024 * 1024);
    expect(maxMultipartThreshold(128)).toBe(Math.floor((64 * 1024 * 1024) / 3));
    expect(maxMultipartThreshold(10_240)).toBe(Math.floor((10_176 * 1024 * 1024) / 3));
    expect(maxMultipartThreshold(1_000_000)).toBe(MAX_MULTIPART_THRESHOLD);
    expect(maxMultipartThreshold(64)).toBe(MIN_MULTIPART_THRESHOLD);
    expect(loadConfig({ ...valid, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256", MULTIPART_THRESHOLD_BYTES: String(64 * 1024 * 1024) }).multipartThresholdBytes).toBe(64 * 1024 * 1024);
    expect(loadConfig({ ...valid, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024", MULTIPART_THRESHOLD_BYTES: String(300 * 1024 * 1024) }).multipartThresholdBytes).toBe(300 * 1024 * 1024);
  });
  it("rejects a threshold the memory cannot hold, naming the variable, the bound and the fix", () => {
    expect(() => loadConfig({ ...valid, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256", MULTIPART_THRESHOLD_BYTES: String(64 * 1024 * 1024 + 1) })).toThrow(
      "MULTIPART_THRESHOLD_BYTES is invalid: \"67108865\" (an integer number of bytes from 5242880 (5 MiB, S3's minimum part size) to 67108864 " +
        "(a third of what 256 MB of function memory leaves after the runtime: below the threshold the object is held in memory about twice). Lower it, or give the function more memory",
    );
    // 5 GiB was accepted before, whatever the memory.
    expect(() => loadConfig({ ...valid, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256", MULTIPART_THRESHOLD_BYTES: String(5 * 1024 ** 3) })).toThrow(/MULTIPART_THRESHOLD_BYTES is invalid/);
  });
  it("assumes the stack's 256 MB when Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set (a local run), and says so", () => {
    expect(() => loadConfig({ ...valid, MULTIPART_THRESHOLD_BYTES: String(100 * 1024 * 1024) })).toThrow(/to 67108864 \(a third of what 256 MB of function memory \(assumed: AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set\) leaves after the runtime/);
  });
});
