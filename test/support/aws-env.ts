import { scratch, type Scratch } from './kit.js';

/**
 * The environment every process (or test) that runs the AWS SDK gets: the
 * instance metadata service is off (the default chain would otherwise ask
 * 169.254.169.254), the shared config and credentials files are empty files
 * in a scratch folder, and Route 53 calls go to the local stand-in.
 * `credentials: false` leaves the access key out (the chain then finds none).
 */
export async function awsEnv(
  endpoint: string,
  o: { credentials?: boolean; accessKeyId?: string } = {},
): Promise<{ env: Record<string, string>; dir: Scratch }> {
  const dir = await scratch('aws');
  const config = await dir.write('aws-config', '');
  const creds = await dir.write('aws-credentials', '');
  const env: Record<string, string> = {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: creds,
    AWS_ENDPOINT_URL_ROUTE_53: endpoint,
    AWS_REGION: 'us-east-1',
    // The SDK's Node 20 end-of-life warning is not under test.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  if (o.credentials !== false) {
    env.AWS_ACCESS_KEY_ID = o.accessKeyId ?? 'AKIDGOAVAILTEST';
    env.AWS_SECRET_ACCESS_KEY = 'stand-in-secret-not-a-real-key';
  }
  return { env, dir };
}

/** Env names that must not leak from the developer's shell into a test's SDK. */
const AWS_ENV_TO_CLEAR = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ENDPOINT_URL',
];

/** Sets `env` on this process (clearing the names above first); returns the undo. */
export function useEnv(env: Record<string, string>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const k of [...AWS_ENV_TO_CLEAR, ...Object.keys(env)]) saved.set(k, process.env[k]);
  for (const k of AWS_ENV_TO_CLEAR) delete process.env[k];
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
