/**
 * Stages a new Stripe API key for the API-key rotation, without promoting it:
 *
 *   npm run stage-api-key -- --secret-id stripe-webhooks/stripe-api-key [--region us-east-1] [--rotate] < key.txt
 *
 * The key is read from standard input (never from the command line: it would land in the shell history and the
 * process list). It is written under `staged` in a new AWSCURRENT version that keeps `apiKey` as it is, so nothing
 * uses the staged key yet. `--rotate` then starts the rotation (`aws secretsmanager rotate-secret`), which tests the
 * key against Stripe and promotes it only if Stripe accepts it. See docs/rotation.md.
 *
 * A standalone script for now; it belongs under the ops CLI (`npm run ops -- stage-api-key`) once that exists on main.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  isApiKeyFormat,
  keyMode,
  parseApiKeyDocument,
  serializeApiKeyDocument,
} from '../lambdas/rotation/api-key/document';
import { CliError, isMain, parseCommandLine, runMain, UsageError } from './cli';

/** A key that cannot be staged; the message says why and changes nothing. */
export class StageError extends CliError {
  override name = 'StageError';
  constructor(why: string) {
    super(`not staged: ${why}`);
  }
}

/** Writes `newKey` as the staged key of `secretId` (a new AWSCURRENT version with `apiKey` unchanged). */
export async function stageApiKey(
  sm: SecretsManagerClient,
  secretId: string,
  newKey: string,
  now: Date = new Date(),
): Promise<{ versionId: string }> {
  const key = newKey.trim();
  if (!isApiKeyFormat(key)) {
    throw new StageError(
      'that is not a Stripe secret or restricted key (expected sk_live_…, rk_live_…, sk_test_… or rk_test_…)',
    );
  }
  const current = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  const doc = parseApiKeyDocument(current.SecretString ?? '');
  if (doc.apiKey === key) throw new StageError('that key is already the key in use');
  const currentMode = keyMode(doc.apiKey);
  if (currentMode !== undefined && keyMode(key) !== currentMode) {
    throw new StageError(`that is a ${keyMode(key)}-mode key, but the key in use is ${currentMode}-mode`);
  }
  const out = await sm.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: serializeApiKeyDocument({
        apiKey: doc.apiKey,
        staged: { apiKey: key, stagedAt: now.toISOString() },
      }),
    }),
  );
  return { versionId: out.VersionId ?? '' };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const USAGE =
  'usage: npm run stage-api-key -- --secret-id <appName>/stripe-api-key [--region <region>] [--rotate] [--debug] < key.txt';

async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(
    {
      args: argv,
      options: {
        'secret-id': { type: 'string' },
        region: { type: 'string' },
        rotate: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const secretId = values['secret-id'];
  if (!secretId) throw new UsageError('--secret-id is required', USAGE);
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  // Asked before the key is read: nobody should paste a key only to be told the region was missing.
  if (!region)
    throw new UsageError('no AWS region given', 'pass --region <region> (the primary region) or set AWS_REGION');
  if (process.stdin.isTTY) console.error('Paste the new key, then press Enter and Ctrl-D:');
  const sm = new SecretsManagerClient({ region });
  const { versionId } = await stageApiKey(sm, secretId, await readStdin());
  console.log(`Staged (version ${versionId}); the key in use is unchanged.`);
  if (values.rotate) {
    const rotation = await sm.send(new RotateSecretCommand({ SecretId: secretId }));
    console.log(`Rotation started (version ${rotation.VersionId}): the key is promoted only if Stripe accepts it.`);
  } else {
    console.log(`Now rotate: aws secretsmanager rotate-secret --secret-id ${secretId} --region ${region}`);
  }
  return 0;
}

if (isMain(import.meta.url)) runMain(main);
