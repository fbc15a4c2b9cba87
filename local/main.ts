/**
 * `npm start`: the whole pipeline on this machine, on 127.0.0.1 only. Configuration comes from the environment
 * (see the README's "Local runtime" table). It writes `.local/runtime-<port>.json` so `npm run demo` and the operator
 * CLI can find this instance (and not another one on another port), and stops cleanly whichever process of the
 * `npm start` chain a supervisor signals: SIGINT, SIGTERM or SIGHUP to this process, or its parent going away
 * (npm killed, or a shell between npm and node that died of the signal without passing it on).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { CliError, isMain, runMain } from '../scripts/cli';
import { DEFAULT_LOCAL_HANDLERS_FILE, loadLocalHandlerLambdas } from './handler-lambdas';
import { watchParent } from './parent-watch';
import { DEFAULT_SINK_FILE, LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from './pipeline';
import { listRunningPipelines, RUNTIME_DIR, runtimeFile, runtimeInfo } from './runtime-info';

const DEFAULT_PORT = 3000;

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new CliError(`${name} must be a non-negative integer, got "${raw}"`, `e.g. ${name}=${fallback}`);
  }
  return n;
}

/** Whether `port` on 127.0.0.1 can be listened on right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The first free port after `port` (for the message that says which PORT to use instead). */
async function nextFreePort(port: number): Promise<number | undefined> {
  for (let p = port + 1; p < Math.min(port + 100, 65536); p++) if (await portFree(p)) return p;
  return undefined;
}

/** A CliError for a busy port: who holds it, when it is another `npm start`, and which PORT to use instead. */
async function portInUse(port: number): Promise<CliError> {
  const other = (await listRunningPipelines()).find((i) => i.url.endsWith(`:${port}`));
  const who = other
    ? `another local pipeline (pid ${other.pid}) already serves ${other.url}`
    : 'another program holds it';
  const free = await nextFreePort(port);
  return new CliError(
    `port ${port} is in use: ${who}`,
    free === undefined
      ? 'start this one with PORT=<a free port> npm start'
      : `start this one with PORT=${free} npm start`,
  );
}

function banner(pipeline: LocalPipeline, secret: string | undefined): string {
  const stripeLine =
    pipeline.stripe.kind === 'offline'
      ? `embedded offline Stripe at ${pipeline.stripe.apiBase} (Stripe's example objects; set STRIPE_API_BASE or STRIPE_SECRET_KEY to change)`
      : pipeline.stripe.kind === 'api-base'
        ? `${pipeline.stripe.apiBase} (STRIPE_API_BASE)`
        : 'the real Stripe API (STRIPE_SECRET_KEY)';
  const port = new URL(pipeline.url).port;
  const portFlag = port === String(DEFAULT_PORT) ? '' : ` -- --port ${port}`;
  return [
    '',
    'Stripe webhooks pipeline running locally',
    `  webhook     POST ${pipeline.webhookUrl}`,
    `  console     ${pipeline.url}/_console (events as they move, the DLQ with redrive and replay)`,
    `  health      GET  ${pipeline.url}/health (locally also queue, in-flight and DLQ counts)`,
    `  secret      ${secret ? 'from STRIPE_WEBHOOK_SECRET' : `${LOCAL_WEBHOOK_SECRET} (local default; set STRIPE_WEBHOOK_SECRET)`}`,
    `  stripe      ${stripeLine}`,
    `  sink        ${pipeline.sinkFile} (one JSON line per processed event)`,
    `  sqs         fauxqs ${pipeline.sqsEndpoint}  queue ${pipeline.queues.queueUrl.split('/').pop()}  dlq ${pipeline.queues.dlqUrl.split('/').pop()}`,
    `  dynamodb    dynalite ${pipeline.dynamoEndpoint}  table ${pipeline.tableName}`,
    `  runtime     ${runtimeFile(Number(port))} (pid ${process.pid})`,
    '',
    `Try it:   npm run demo${portFlag}`,
    `Forward Stripe test events:   stripe listen --forward-to localhost:${port}/stripe/webhook`,
    '  (then restart with STRIPE_WEBHOOK_SECRET set to the whsec_... it prints, and STRIPE_SECRET_KEY to your test key)',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const secret = process.env.STRIPE_WEBHOOK_SECRET;
  const port = intFromEnv('PORT', DEFAULT_PORT);
  // Checked before the stand-ins start, so a second `npm start` says at once which PORT to use.
  if (port !== 0 && !(await portFree(port))) throw await portInUse(port);
  let pipeline: LocalPipeline;
  // Handler Lambdas run in-process, named in local/handlers.json (name -> entry file, event types).
  const handlerLambdas = await loadLocalHandlerLambdas(process.env.LOCAL_HANDLERS_FILE || DEFAULT_LOCAL_HANDLERS_FILE);
  try {
    pipeline = await startLocalPipeline({
      port,
      ...(handlerLambdas ? { handlerLambdas } : {}),
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
      console: true,
    });
  } catch (err) {
    // Taken between the check and the listen.
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw await portInUse(port);
    throw err;
  }
  const file = runtimeFile(Number(new URL(pipeline.url).port));
  await mkdir(RUNTIME_DIR, { recursive: true });
  await writeFile(file, `${JSON.stringify(runtimeInfo(pipeline, !secret), null, 2)}\n`);
  console.log(banner(pipeline, secret));

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    stopWatching();
    // The file goes first: from now on no command should find this instance, whatever happens while closing.
    await rm(file, { force: true });
    let code = 0;
    try {
      console.log(`\n${why}: stopping…`);
      await pipeline.close();
    } catch (err) {
      code = 1;
      console.error(`error while stopping: ${(err as Error).message}`);
    }
    process.exit(code);
  };
  // Whoever read our output may be gone (npm killed): a write to the closed pipe must not crash the stop.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
  // A signal to npm reaches the shell between npm and node, which dies of it without passing it on (local/parent-watch.ts).
  const stopWatching = watchParent((why) => void stop(why));
}

if (isMain(import.meta.url)) runMain(main);
