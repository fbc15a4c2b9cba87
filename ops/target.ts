/**
 * Where the operator CLI acts: the running local pipeline (`npm start`, found through .local/runtime-<port>.json) or a
 * deployed regional stack in AWS (queue URLs, table and API-key secret from flags, the environment, or the stack's
 * CloudFormation outputs).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import { createIdempotencyStore, type IdempotencyStore } from '../lambdas/shared/idempotency-store';
import { parseApiKey, secretsManagerSecret } from '../lambdas/shared/secrets';
import { createStripeClient } from '../lambdas/shared/stripe-client';
import { LOCAL_STRIPE_KEY } from '../local/pipeline';
import { notRunningMessage, type PipelineChoice, type RuntimeInfo } from '../local/runtime-info';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/stand-ins';
import { CliError, UsageError } from '../scripts/cli';

export interface OpsTarget {
  readonly kind: 'local' | 'aws';
  /** For messages: "local pipeline at http://..." or "AWS eu-west-1". */
  readonly description: string;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly tableName: string;
  /** The Stripe client (built on first use: AWS reads the API key from Secrets Manager). */
  stripe(): Promise<Stripe>;
  /** The local pipeline's embedded offline Stripe, whose admin API creates objects (`stripe create`). */
  readonly offlineStripe?: string;
  /** The local pipeline's own URL (its console and /health). */
  readonly localUrl?: string;
  close(): void;
}

/** Flags and environment that pick the target. */
export interface TargetOptions {
  readonly local?: boolean;
  /** Which local pipeline (`--url` / `--port`); either implies `local`. */
  readonly pipeline?: PipelineChoice;
  readonly region?: string;
  readonly stack?: string;
  readonly queueUrl?: string;
  readonly dlqUrl?: string;
  readonly tableName?: string;
  readonly secretId?: string;
}

/** What resolveTarget needs from the outside world (tests replace each). */
export interface TargetDeps {
  /** The running local pipeline `choice` names (or the only one), if any. */
  readonly findRunning: (choice: PipelineChoice) => Promise<RuntimeInfo | undefined>;
  /** CloudFormation outputs of a stack (OutputKey -> OutputValue). @default describeStackOutputs */
  readonly stackOutputs?: (stack: string, region: string | undefined) => Promise<Record<string, string>>;
  /** Client factories, so tests can hand in clients that aws-sdk-client-mock intercepts. */
  readonly sqsClient?: (region: string | undefined) => SQSClient;
  readonly dynamoClient?: (region: string | undefined) => DynamoDBClient;
  /** The Stripe API key secret's value, read from Secrets Manager. */
  readonly readSecret?: (secretId: string, region: string | undefined) => Promise<string>;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The target's idempotency table. The CLI only reads it and clears DONE records: lease and TTL matter for claims only. */
export function storeOf(target: OpsTarget): IdempotencyStore {
  return createIdempotencyStore({
    client: target.dynamo,
    tableName: target.tableName,
    leaseSeconds: 60,
    doneTtlDays: 35,
  });
}

export class TargetError extends CliError {
  override name = 'TargetError';
}

/** Picks the target: `--local`, or local by default when a pipeline is running and nothing names AWS; else AWS. */
export async function resolveTarget(opts: TargetOptions, deps: TargetDeps): Promise<OpsTarget> {
  const env = deps.env ?? process.env;
  const namesAws = Boolean(opts.region || opts.stack || opts.queueUrl || opts.dlqUrl || opts.tableName);
  const choice = opts.pipeline ?? {};
  const namesLocal = Boolean(opts.local || choice.url || choice.port);
  if (namesLocal && namesAws) {
    throw new UsageError(
      'the command names both a local pipeline and AWS',
      'drop --local/--url/--port or the AWS flags',
    );
  }
  if (namesLocal || !namesAws) {
    const info = await deps.findRunning(choice);
    if (info) return localTarget(info, env);
    if (namesLocal) throw new TargetError(notRunningMessage(choice), 'start it with `npm start`');
  }
  return awsTarget(opts, deps, env);
}

/** The running `npm start`. */
export function localTarget(info: RuntimeInfo, env: Readonly<Record<string, string | undefined>> = {}): OpsTarget {
  const sqs = new SQSClient({ endpoint: info.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const dynamo = new DynamoDBClient({
    endpoint: info.dynamoEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  let stripe: Stripe | undefined;
  return {
    kind: 'local',
    description: `local pipeline at ${info.url}`,
    localUrl: info.url,
    ...(info.stripe.kind === 'offline' && info.stripe.apiBase ? { offlineStripe: info.stripe.apiBase } : {}),
    sqs,
    dynamo,
    queueUrl: info.queueUrl,
    dlqUrl: info.dlqUrl,
    tableName: info.tableName,
    async stripe() {
      if (!stripe) {
        const key = env.STRIPE_SECRET_KEY;
        if (info.stripe.kind === 'live' && !key) {
          throw new TargetError('the local pipeline uses the real Stripe API', 'set STRIPE_SECRET_KEY here too');
        }
        stripe = createStripeClient(
          key ?? LOCAL_STRIPE_KEY,
          info.stripe.kind !== 'live' && info.stripe.apiBase ? { apiBase: info.stripe.apiBase } : {},
        );
      }
      return stripe;
    },
    close() {
      sqs.destroy();
      dynamo.destroy();
    },
  };
}

/**
 * Matches a stack output to what the CLI needs. CDK prefixes output ids with the construct path and may add a hash,
 * so the match is on the normalised key (letters and digits, lower case) containing a known name.
 */
const OUTPUT_NAMES: Record<'queueUrl' | 'dlqUrl' | 'tableName' | 'secretId', { want: RegExp; not?: RegExp }> = {
  dlqUrl: { want: /(dlq|deadletter\w*)url/ },
  queueUrl: { want: /queueurl/, not: /dlq|deadletter/ },
  tableName: { want: /(idempotency)?tablename/ },
  secretId: { want: /apikey(secret)?(arn|id|name)/ },
};

/** Picks the CLI's settings out of a stack's outputs (see OUTPUT_NAMES). */
export function fromStackOutputs(outputs: Record<string, string>): Partial<Record<keyof typeof OUTPUT_NAMES, string>> {
  const found: Partial<Record<keyof typeof OUTPUT_NAMES, string>> = {};
  for (const [key, value] of Object.entries(outputs)) {
    const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
    for (const [name, rule] of Object.entries(OUTPUT_NAMES) as Array<
      [keyof typeof OUTPUT_NAMES, (typeof OUTPUT_NAMES)['dlqUrl']]
    >) {
      if (found[name] === undefined && rule.want.test(k) && !rule.not?.test(k)) found[name] = value;
    }
  }
  return found;
}

async function awsTarget(
  opts: TargetOptions,
  deps: TargetDeps,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OpsTarget> {
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const fromStack = opts.stack
    ? fromStackOutputs(await (deps.stackOutputs ?? describeStackOutputs)(opts.stack, region))
    : {};
  const queueUrl = opts.queueUrl ?? env.QUEUE_URL ?? fromStack.queueUrl;
  const dlqUrl = opts.dlqUrl ?? env.DLQ_URL ?? fromStack.dlqUrl;
  const tableName = opts.tableName ?? env.TABLE_NAME ?? fromStack.tableName;
  const secretId = opts.secretId ?? env.STRIPE_API_KEY_SECRET_ID ?? fromStack.secretId;
  const missing = [
    queueUrl ? undefined : '--queue-url / QUEUE_URL',
    dlqUrl ? undefined : '--dlq-url / DLQ_URL',
    tableName ? undefined : '--table / TABLE_NAME',
  ].filter((m) => m !== undefined);
  if (missing.length > 0) {
    throw new TargetError(
      `no running local pipeline, and the AWS target lacks ${missing.join(', ')}`,
      'name the stack with --stack (and --region), or start `npm start` for the local pipeline',
    );
  }
  const sqs = deps.sqsClient?.(region) ?? new SQSClient(region ? { region } : {});
  const dynamo = deps.dynamoClient?.(region) ?? new DynamoDBClient(region ? { region } : {});
  let stripe: Stripe | undefined;
  return {
    kind: 'aws',
    description: `AWS ${region ?? '(default region)'}${opts.stack ? ` stack ${opts.stack}` : ''}`,
    sqs,
    dynamo,
    queueUrl: queueUrl!,
    dlqUrl: dlqUrl!,
    tableName: tableName!,
    async stripe() {
      if (!stripe) {
        if (!secretId) {
          throw new TargetError('this command calls Stripe', 'give --secret-id or STRIPE_API_KEY_SECRET_ID');
        }
        const value = await (deps.readSecret ?? readSecretsManager)(secretId, region);
        stripe = createStripeClient(parseApiKey(value), { maxNetworkRetries: 2 });
      }
      return stripe;
    },
    close() {
      sqs.destroy();
      dynamo.destroy();
    },
  };
}

async function readSecretsManager(secretId: string, region: string | undefined): Promise<string> {
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const source = await secretsManagerSecret(secretId, {
    maxAgeSeconds: 0,
    client: new SecretsManagerClient(region ? { region } : {}),
  });
  return source.get();
}

/** A stack's outputs through CloudFormation DescribeStacks (what `--stack` reads the queue URLs and table from). */
export async function describeStackOutputs(stack: string, region: string | undefined): Promise<Record<string, string>> {
  // Loaded on demand: only `--stack` needs it, and the local commands should not pay for its import.
  const cfn = await import('@aws-sdk/client-cloudformation');
  const client = new cfn.CloudFormationClient(region ? { region } : {});
  try {
    const out = await client.send(new cfn.DescribeStacksCommand({ StackName: stack }));
    const outputs: Record<string, string> = {};
    for (const o of out.Stacks?.[0]?.Outputs ?? []) {
      if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
    }
    return outputs;
  } finally {
    client.destroy();
  }
}
