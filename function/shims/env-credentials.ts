/**
 * Stand-in for `@aws-sdk/credential-provider-node` in the deployed bundle only (see BUNDLE_OPTIONS).
 *
 * The SDK's default chain (env, SSO, ini files, process, web identity, ECS, IMDS) and the nested
 * STS/SSO clients it carries are ~100 kB of minified code the function never needs: Lambda gives
 * the execution role's credentials in the environment, and account B's come from our own
 * AssumeRole. Tests and scripts that import the sources still get the real chain.
 */
interface EnvCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export const defaultProvider =
  (_init?: unknown) =>
  async (): Promise<EnvCredentials> => {
    const env = process.env;
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      const error = new Error(
        "No AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): the bundled tracker " +
          "function reads only the credentials Lambda puts there for its execution role.",
      );
      error.name = "CredentialsProviderError";
      throw error;
    }
    const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
    return {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
    };
  };
