/**
 * `npm run ops -- <command>`: the on-call engineer's one command for the DLQ, replays and event lookups, against the
 * running local pipeline (default when `npm start` is running and nothing names AWS) or a deployed stack.
 *
 *   dlq list [--limit N]               DLQ messages with their failure reason (peeked, not consumed)
 *   dlq inspect <messageId|eventId>    one DLQ message in full: decoded body, table record, reason
 *   dlq redrive [--max N] [--rate R]   back to the event queue (AWS without --max: StartMessageMoveTask)
 *   dlq redrive-status                 AWS: the DLQ's message move tasks
 *   replay --id evt_... [--id ...]     fetch from Stripe and enqueue (skips DONE unless --force)
 *   replay --since <time> [--until <time>] [--type t ...] [--force]
 *   event <evt_id>                     the idempotency record: status, attempts, lastError, doneAt
 *   status                             what happened: counts by outcome, last errors, queue and DLQ depth
 *   stripe create <type> [--id ID] [--set key=value ...] [--account acct_...]   local offline Stripe only
 *   stripe delete <id> [--account acct_...]                                    local offline Stripe only
 *
 * Target: --local | --region R with --stack NAME, or --queue-url/--dlq-url/--table/--secret-id (or QUEUE_URL,
 * DLQ_URL, TABLE_NAME, STRIPE_API_KEY_SECRET_ID). --json prints data for scripts. Exit code 1 on failure, 2 on
 * bad usage.
 */

import { choiceFromFlags, findRunningPipeline } from '../local/runtime-info';
import { CliError, describeCliError, isMain, parseCommandLine, UsageError } from '../scripts/cli';
import { commandOf } from './commands';
import { type OpsTarget, resolveTarget, type TargetDeps } from './target';

/** Where the CLI writes (tests capture it). */
export interface OpsIo {
  out(text: string): void;
  err(text: string): void;
}

const HELP_HINT = '`npm run ops -- --help` lists the commands';

const USAGE = `usage: npm run ops -- <command> [options]
  dlq list [--limit N]              DLQ messages and why they failed (peeked, not consumed)
  dlq inspect <messageId|eventId>   one DLQ message in full
  dlq redrive [--max N] [--rate R]  move DLQ messages back to the event queue
  dlq redrive-status                AWS: message move tasks of the DLQ
  replay --id evt_... [--id ...] [--force]
  replay --since <ISO|unix> [--until <ISO|unix>] [--type t ...] [--force]
  event <evt_id>                    the event's idempotency record
  status                            what happened: counts by outcome, last errors, queue/DLQ depth
  stripe create <type> [--id ID] [--set key=value ...] [--account acct_...]
                                    an object on the local offline Stripe (e.g. payment_intent)
  stripe delete <id> [--account acct_...]
target: --local (default when one npm start is running) | --port P | --url U (pick one of several)
        | --region R [--stack NAME | --queue-url U --dlq-url U --table T --secret-id S]
output: --json; --debug adds the stack trace to an error`;

/** Runs one CLI command; returns the exit code. */
export async function runOps(argv: readonly string[], io: OpsIo, deps: Partial<TargetDeps> = {}): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`error: ${describeCliError(err)}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  let target: OpsTarget | undefined;
  try {
    const command = commandOf(positionals);
    const pipeline = choiceFromFlags(values);
    target = await resolveTarget(
      {
        ...(values.local ? { local: true } : {}),
        pipeline,
        ...(values.region ? { region: values.region } : {}),
        ...(values.stack ? { stack: values.stack } : {}),
        ...(values['queue-url'] ? { queueUrl: values['queue-url'] } : {}),
        ...(values['dlq-url'] ? { dlqUrl: values['dlq-url'] } : {}),
        ...(values.table ? { tableName: values.table } : {}),
        ...(values['secret-id'] ? { secretId: values['secret-id'] } : {}),
      },
      { findRunning: (choice) => findRunningPipeline(choice), ...deps },
    );
    if (!values.json) io.err(`target: ${target.description}`);
    return await command(target, values, io);
  } catch (err) {
    const hint = err instanceof UsageError ? `; ${HELP_HINT}` : '';
    io.err(`error: ${describeCliError(err)}${hint}`);
    if (values.debug && err instanceof Error && err.stack) io.err(err.stack);
    return err instanceof CliError ? err.exitCode : 1;
  } finally {
    target?.close();
  }
}

function parse(argv: readonly string[]) {
  return parseCommandLine(
    {
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        local: { type: 'boolean' },
        url: { type: 'string' },
        port: { type: 'string' },
        debug: { type: 'boolean', default: false },
        region: { type: 'string' },
        stack: { type: 'string' },
        'queue-url': { type: 'string' },
        'dlq-url': { type: 'string' },
        table: { type: 'string' },
        'secret-id': { type: 'string' },
        json: { type: 'boolean', default: false },
        limit: { type: 'string' },
        max: { type: 'string' },
        rate: { type: 'string' },
        id: { type: 'string', multiple: true },
        since: { type: 'string' },
        until: { type: 'string' },
        type: { type: 'string', multiple: true },
        force: { type: 'boolean', default: false },
        set: { type: 'string', multiple: true },
        account: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP_HINT,
  );
}

export type Values = ReturnType<typeof parse>['values'];
export type Command = (target: OpsTarget, values: Values, io: OpsIo) => Promise<number>;

if (isMain(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // runOps answers every error itself (one line; the stack with --debug), so it is not wrapped in runCli.
  void runOps(process.argv.slice(2), { out: (t) => console.log(t), err: (t) => console.error(t) }).then((code) => {
    process.exitCode = code;
  });
}
