/**
 * Reading the log the way the function reaches it: account A's credentials, sts:AssumeRole on the
 * access role in B with the external id, then GetObject of the one object. Read-only: the clients
 * refuse every operation but GetCallerIdentity, AssumeRole and GetObject before it is sent.
 *
 * On real AWS the access role trusts only the function's execution role, so a person's own
 * credentials are refused at AssumeRole (as designed). Then read with a principal of account B that
 * may s3:GetObject the object (`credentialsB` / `profileB`), and say so.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { assumeRole, clientConfig, errorText, guardOperations, isAccessDenied, type AccountAccess, type Credentials } from "../shared/aws";

/** Everything `npm run log` may send. */
export const LOG_READ_OPERATIONS: ReadonlySet<string> = new Set(["GetCallerIdentityCommand", "AssumeRoleCommand", "GetObjectCommand"]);
/** Operations sent by this module's clients in this process (for the tests' read-only assertion). */
export const sentLogOperations: string[] = [];
export const SESSION_NAME = "iss-tracker-log";

/** The one object and how the function reaches it. */
export interface LogLocation {
  readonly bucket: string;
  readonly key: string;
  readonly regionB: string;
  readonly accessRoleArn: string;
  readonly externalId: string;
}

export interface LogReadOptions {
  readonly regionA: string;
  /** Emulator endpoint (loopback); unset for real AWS. */
  readonly endpoint?: string;
  readonly profileA?: string;
  readonly credentialsA?: Credentials;
  /** Read directly with B's credentials instead of the chain. */
  readonly profileB?: string;
  readonly credentialsB?: Credentials;
}

export interface LogRead {
  /** The object's text; undefined when there is no log yet. */
  readonly text?: string;
  readonly bytes: number;
  readonly lastModified?: Date;
  /** How it was read, for the report. */
  readonly via: string;
}

/** A read that could not happen, with what to do about it. */
export class LogAccessError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = "LogAccessError";
  }
}

function s3Client(access: AccountAccess): S3Client {
  return guardOperations(new S3Client({ ...clientConfig(access), forcePathStyle: access.endpoint !== undefined }), LOG_READ_OPERATIONS, "npm run log", sentLogOperations);
}

async function getObject(s3: S3Client, location: LogLocation, via: string, whoFix: string): Promise<LogRead> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    return { text: bytes.toString("utf8"), bytes: bytes.length, lastModified: out.LastModified, via };
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return { bytes: 0, via };
    throw new LogAccessError(`GetObject s3://${location.bucket}/${location.key} as ${via}: ${errorText(error)}`,
      isAccessDenied(error) ? whoFix : `check BUCKET_NAME, OBJECT_KEY and REGION_B (the bucket is ${location.bucket} in ${location.regionB}); npm run doctor tells what is missing`);
  }
}

/** Reads the log: B's credentials when given, else the function's chain from A's credentials. */
export async function readLog(location: LogLocation, options: LogReadOptions): Promise<LogRead> {
  // For the messages: the object's ARN in the access role's partition.
  const objectArn = `arn:${location.accessRoleArn.split(":")[1]}:s3:::${location.bucket}/${location.key}`;
  const accessB: AccountAccess = { region: location.regionB, endpoint: options.endpoint, profile: options.profileB, credentials: options.credentialsB };
  if (options.credentialsB || options.profileB) {
    return getObject(s3Client(accessB), location, `account B's credentials${options.profileB ? ` (profile ${options.profileB})` : ""}`,
      `give --profile-b a principal of account B that may s3:GetObject ${objectArn}`);
  }
  const accessA: AccountAccess = { region: options.regionA, endpoint: options.endpoint, profile: options.profileA, credentials: options.credentialsA };
  const sts = guardOperations(new STSClient(clientConfig(accessA)), LOG_READ_OPERATIONS, "npm run log", sentLogOperations);
  let session: Credentials;
  try {
    session = await assumeRole(sts, location.accessRoleArn, SESSION_NAME, location.externalId);
  } catch (error) {
    let caller = "your account A credentials";
    try {
      caller = (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? caller;
    } catch {
      // The identity is only for the message.
    }
    throw new LogAccessError(`AssumeRole ${location.accessRoleArn} (external id ${location.externalId}) as ${caller}: ${errorText(error)}`,
      isAccessDenied(error)
        ? `only the function's execution role may assume the access role (its trust policy names exactly that role, by design); ` +
          `read with a principal of account B that may s3:GetObject ${objectArn}: --profile-b <profile of B>`
        : `check ACCOUNT_B_ID, NAME_PREFIX and EXTERNAL_ID (they name the role and the id the function uses); npm run doctor checks the chain`);
  }
  const accessRole = { ...accessB, profile: undefined, credentials: session };
  return getObject(s3Client(accessRole), location, `the access role ${location.accessRoleArn} (assumed with the function's external id)`,
    `the access role may not read the object: grant it s3:GetObject on ${objectArn} (npm run doctor: access-permissions, bucket-policy)`);
}
