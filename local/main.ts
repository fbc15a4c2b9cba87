/**
 * `npm start`: the whole pipeline on this machine, on 127.0.0.1 only. Configuration comes from the environment
 * (see the README's "Local runtime" table). It writes `.local/runtime.json` so `npm run demo` and the operator CLI
 * can find the running pipeline, and stops cleanly on Ctrl-C.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { DEFAULT_SINK_FILE, LOCAL_WEBHOOK_SECRET, startLocalPipeline } from './pipeline';
import { RUNTIME_FILE, runtimeInfo } from './runtime-info';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const secret = process.env.STRIPE_WEBHOOK_SECRET;
  const pipeline = await startLocalPipeline({
    port: intFromEnv('PORT', 3000),
    ...(secret ? { webhookSecret: secret } : {}),
    ...(process.env.STRIPE_API_BASE ? { stripeApiBase: process.env.STRIPE_API_BASE } : {}),
    ...(process.env.STRIPE_SECRET_KEY ? { stripeSecretKey: process.env.STRIPE_SECRET_KEY } : {}),
    sinkFile: process.env.LOCAL_SINK_FILE || DEFAULT_SINK_FILE,
    concurrency: intFromEnv('PROCESSOR_CONCURRENCY', 4),
    batchSize: intFromEnv('PROCESSOR_BATCH_SIZE', 10),
    timeoutSeconds: intFromEnv('PROCESSOR_TIMEOUT_SECONDS', 10),
    maxReceiveCount: intFromEnv('MAX_RECEIVE_COUNT', 10),
    emitMetrics: process.env.LOCAL_METRICS === 'true',
    logLevel: (process.env.LOG_LEVEL?.toUpperCase() as 'INFO' | undefined) ?? 'INFO',
  });
  const info = runtimeInfo(pipeline, !secret);
  await mkdir('.local', { recursive: true });
  await writeFile(RUNTIME_FILE, `${JSON.stringify(info, null, 2)}\n`);

  const stripeLine =
    pipeline.stripe.kind === 'offline'
      ? `embedded offline Stripe at ${pipeline.stripe.apiBase} (Stripe's example objects; set STRIPE_API_BASE or STRIPE_SECRET_KEY to change)`
      : pipeline.stripe.kind === 'api-base'
        ? `${pipeline.stripe.apiBase} (STRIPE_API_BASE)`
        : 'the real Stripe API (STRIPE_SECRET_KEY)';
  console.log(
    [
      '',
      'Stripe webhooks pipeline running locally',
      `  webhook     POST ${pipeline.webhookUrl}`,
      `  health      GET  ${pipeline.url}/health`,
      `  secret      ${secret ? 'from STRIPE_WEBHOOK_SECRET' : `${LOCAL_WEBHOOK_SECRET} (local default; set STRIPE_WEBHOOK_SECRET)`}`,
      `  stripe      ${stripeLine}`,
      `  sink        ${pipeline.sinkFile} (one JSON line per processed event)`,
      `  sqs         fauxqs ${pipeline.sqsEndpoint}  queue ${pipeline.queues.queueUrl.split('/').pop()}  dlq ${pipeline.queues.dlqUrl.split('/').pop()}`,
      `  dynamodb    dynalite ${pipeline.dynamoEndpoint}  table ${pipeline.tableName}`,
      '',
      'Try it:   npm run demo',
      `Forward Stripe test events:   stripe listen --forward-to localhost:${new URL(pipeline.url).port}/stripe/webhook`,
      '  (then restart with STRIPE_WEBHOOK_SECRET set to the whsec_... it prints, and STRIPE_SECRET_KEY to your test key)',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await pipeline.close();
    await rm(RUNTIME_FILE, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
