/**
 * `npm run reconcile`: one reconciler run (composeReconciler, as the Lambda builds it) against the running
 * `npm start` (found through its .local/runtime-<port>.json; `--port`/`--url` pick one of several): its dynalite table (idempotency records, lock, checkpoint), its
 * fauxqs event queue, and the same Stripe it uses (the embedded offline Stripe or STRIPE_API_BASE; with the real
 * API, STRIPE_SECRET_KEY must be set here too).
 *
 *   npm run reconcile                       from the checkpoint (first run: the last 24 hours)
 *   npm run reconcile -- --lookback 48      the last 48 hours, whatever the checkpoint
 *   npm run reconcile -- --since 2026-01-01T00:00:00Z [--grace 0] [--types a,b] [--json] [--verbose]
 *   npm run reconcile -- --help             every option
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { composeReconciler } from '../lambdas/reconciler/compose';
import type { ReconcileResult, ReconcilerSettings } from '../lambdas/reconciler/core';
import { parseEventTypes, reconcilerEnv } from '../lambdas/reconciler/env';
import { parseEnv } from '../lambdas/shared/env';
import { createStripeClient } from '../lambdas/shared/stripe-client';
import { CliError, isMain, parseCommandLine, runMain, UsageError } from '../scripts/cli';
import { LOCAL_STRIPE_KEY } from './pipeline';
import { choiceFromFlags, findRunningPipeline, notRunningMessage, type RuntimeInfo } from './runtime-info';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './stand-ins';

export interface LocalReconcileOptions extends ReconcilerSettings {
  /** Start here (Unix seconds) instead of at the checkpoint. */
  readonly since?: number;
  /** Start this many hours ago instead of at the checkpoint. */
  readonly lookbackHours?: number;
  /** @default a WARN-level logger */
  readonly logger?: Logger;
  /** The real Stripe API's key, when the pipeline runs against it. @default process.env.STRIPE_SECRET_KEY */
  readonly stripeSecretKey?: string;
}

/** One reconciler run against a running local pipeline. */
export async function reconcileLocal(info: RuntimeInfo, opts: LocalReconcileOptions = {}): Promise<ReconcileResult> {
  const dynamo = new DynamoDBClient({
    endpoint: info.dynamoEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const sqs = new SQSClient({ endpoint: info.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const key = opts.stripeSecretKey ?? process.env.STRIPE_SECRET_KEY;
    if (info.stripe.kind === 'live' && !key) {
      throw new CliError('the pipeline uses the real Stripe API', 'set STRIPE_SECRET_KEY for `npm run reconcile` too');
    }
    const stripe = createStripeClient(
      key ?? LOCAL_STRIPE_KEY,
      info.stripe.apiBase && info.stripe.kind !== 'live' ? { apiBase: info.stripe.apiBase } : {},
    );
    const { since, lookbackHours, logger, stripeSecretKey: _key, ...settings } = opts;
    // The environment the Reconciler construct sets, for what the running pipeline has (the rest: their defaults).
    const env = parseEnv(reconcilerEnv, {
      TABLE_NAME: info.tableName,
      QUEUE_URL: info.queueUrl,
      DLQ_URL: info.dlqUrl,
      STRIPE_API_KEY_SECRET_ID: 'unused-locally (the key is given to the Stripe client directly)',
    });
    const reconciler = composeReconciler(
      env,
      {
        dynamo,
        sqs,
        stripe: async () => stripe,
        logger: logger ?? new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME, logLevel: 'WARN' }),
      },
      settings,
    );
    const start =
      since ?? (lookbackHours !== undefined ? Math.floor(Date.now() / 1000) - lookbackHours * 3600 : undefined);
    return await reconciler.run(start !== undefined ? { since: start } : {});
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
}

/** A time given as ISO 8601 or Unix seconds, as Unix seconds. */
export function parseTime(value: string, flag: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Math.floor(Date.parse(value) / 1000);
  if (!Number.isFinite(n)) {
    throw new UsageError(
      `${flag} must be an ISO 8601 time or Unix seconds, got "${value}"`,
      'e.g. 2026-01-31T00:00:00Z',
    );
  }
  return n;
}

function nonNegativeInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

function iso(unixSeconds: number | undefined): string {
  return unixSeconds === undefined ? '-' : new Date(unixSeconds * 1000).toISOString();
}

/** The human-readable summary `npm run reconcile` prints. */
export function formatReconcileResult(r: ReconcileResult): string {
  const lines = [
    `status            ${r.status}${r.lockHeldBy ? ` (held by ${r.lockHeldBy})` : ''}`,
    `window            ${r.window ? `${iso(r.window.from)} .. ${iso(r.window.to)}` : '-'}`,
    `checkpoint        ${iso(r.checkpointBefore)} -> ${iso(r.checkpointAfter)}`,
    `slices            ${r.slices}`,
    `events listed     ${r.listed}`,
    `already done      ${r.alreadyDone}`,
    `missed            ${r.missed}${r.missedEventIds.length > 0 ? `  ${r.missedEventIds.slice(0, 10).join(', ')}${r.missed > 10 ? ', ...' : ''}` : ''}`,
    `pending           ${r.pending}  (in the table, not DONE)`,
    `dead-lettered     ${r.deadLettered}  (permanent failures already in the DLQ: not enqueued again)`,
    `parked            ${r.parked}  (could never be enqueued: in the DLQ with the reason)`,
    ...(r.unrecoverable
      ? [`UNRECOVERABLE     ${iso(r.unrecoverable.from)} .. ${iso(r.unrecoverable.to)} (beyond Stripe's 30 days)`]
      : []),
    `enqueued          ${r.enqueued}`,
    `stripe calls      ${r.stripeCalls} (429: ${r.stripe429})`,
  ];
  return lines.join('\n');
}

const USAGE = `usage: npm run reconcile -- [options]
  (no option)                 from the checkpoint (first run: the last 24 hours)
  --lookback <hours>          the last N hours, whatever the checkpoint
  --since <ISO|unix>          from this time, whatever the checkpoint
  --grace <seconds>           leave events younger than this to normal delivery (default 300)
  --overlap <seconds>         start this much before the checkpoint (default 300)
  --types a,b                 only these event types
  --rate <n>                  Stripe requests per second at most
  --port <port> | --url <url> which running \`npm start\` (needed when several run)
  --json                      the result as JSON
  --verbose                   the reconciler's log lines
  --debug                     a stack trace with any error`;

async function main(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const choice = choiceFromFlags(values);
  const info = await findRunningPipeline(choice);
  if (!info) throw new CliError(notRunningMessage(choice), 'start one with `npm start` first');
  const grace = nonNegativeInt(values.grace, '--grace');
  const overlap = nonNegativeInt(values.overlap, '--overlap');
  const lookback = nonNegativeInt(values.lookback, '--lookback');
  const rate = nonNegativeInt(values.rate, '--rate');
  const types = parseEventTypes(values.types);
  const result = await reconcileLocal(info, {
    ...(values.since ? { since: parseTime(values.since, '--since') } : {}),
    ...(lookback !== undefined ? { lookbackHours: lookback } : {}),
    ...(grace !== undefined ? { graceSeconds: grace } : {}),
    ...(overlap !== undefined ? { overlapSeconds: overlap } : {}),
    ...(rate ? { maxRequestsPerSecond: rate } : {}),
    ...(types.length > 0 ? { eventTypes: types } : {}),
    logger: new Logger({ serviceName: 'stripe-reconciler', logLevel: values.verbose ? 'INFO' : 'ERROR' }),
  });
  console.log(values.json ? JSON.stringify(result, null, 2) : formatReconcileResult(result));
  return 0;
}

function parse(argv: string[]) {
  return parseCommandLine(
    {
      args: argv,
      options: {
        since: { type: 'string' },
        lookback: { type: 'string' },
        grace: { type: 'string' },
        overlap: { type: 'string' },
        types: { type: 'string' },
        rate: { type: 'string' },
        url: { type: 'string' },
        port: { type: 'string' },
        json: { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    },
    'see `npm run reconcile -- --help`',
  );
}

if (isMain(import.meta.url)) runMain(main);
