/**
 * The operator CLI's commands (ops/cli.ts parses the command line, picks the target and calls one of these).
 */

import { parseTime } from '../local/reconcile';
import { UsageError } from '../scripts/cli';
import type { Command, OpsIo, Values } from './cli';
import { inspectDlq, listDlq, moveTaskStatus, redriveByHand, startMoveTask } from './dlq';
import { fields, table } from './format';
import { eventRecord, type ReplayReport, replayIds, replayRange } from './replay';
import { gatherStatus, renderStatus } from './status';
import { createObject, deleteObject, sampleObject } from './stripe-objects';
import type { OpsTarget } from './target';

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

export function commandOf(positionals: readonly string[]): Command {
  const [first, second, third] = positionals;
  if (first === 'dlq' && second === 'list' && !third) return dlqList;
  if (first === 'dlq' && second === 'inspect' && third) return (t, v, io) => dlqInspect(t, v, io, third);
  if (first === 'dlq' && second === 'redrive' && !third) return dlqRedrive;
  if (first === 'dlq' && second === 'redrive-status' && !third) return dlqRedriveStatus;
  if (first === 'replay' && !second) return replay;
  if (first === 'event' && second && !third) return (t, v, io) => showEvent(t, v, io, second);
  if (first === 'status' && !second) return status;
  if (first === 'stripe' && second === 'create' && third && positionals.length === 3) {
    return (t, v, io) => stripeCreate(t, v, io, third);
  }
  if (first === 'stripe' && second === 'delete' && third && positionals.length === 3) {
    return async (t, v, io) => {
      await deleteObject(t, third, v.account);
      io.out(`deleted ${third} on the offline Stripe: reads of it now answer 404 (customers: deleted: true)`);
      return 0;
    };
  }
  throw new UsageError(`unknown command: ${positionals.join(' ')}`);
}

const status: Command = async (target, values, io) => {
  const report = await gatherStatus(target);
  io.out(values.json ? JSON.stringify(report, null, 2) : renderStatus(report));
  return 0;
};

async function stripeCreate(target: OpsTarget, values: Values, io: OpsIo, type: string): Promise<number> {
  const obj = sampleObject(type, { ...(values.id?.[0] ? { id: values.id[0] } : {}), set: values.set ?? [] });
  await createObject(target, obj, values.account);
  if (values.json) io.out(JSON.stringify(obj, null, 2));
  else {
    const state = typeof obj.status === 'string' ? ` (status ${obj.status})` : '';
    io.out(`created ${type} ${obj.id}${state} on the offline Stripe; --json prints it in full`);
  }
  return 0;
}

const dlqList: Command = async (target, values, io) => {
  const listing = await listDlq(target, positiveInt(values.limit, '--limit', 100));
  if (values.json) {
    io.out(JSON.stringify(listing, null, 2));
    return 0;
  }
  if (listing.entries.length === 0) {
    io.out(`The DLQ is empty (${listing.approximateInFlight} in flight).`);
    return 0;
  }
  io.out(
    table(
      ['EVENT', 'TYPE', 'MESSAGE', 'GROUP', 'RECEIVES', 'SENT', 'REASON'],
      listing.entries.map((e) => [
        e.eventId,
        e.type,
        e.messageId,
        e.group,
        e.receiveCount,
        e.sentAt,
        `${e.reason.origin === 'table' ? '[after retries] ' : ''}${e.reason.code}: ${withoutCode(e.reason.message, e.reason.code)}`,
      ]),
      100,
    ),
  );
  const hidden = listing.approximateVisible - listing.entries.length;
  io.out(
    `\n${listing.entries.length} message(s) shown${hidden > 0 ? `; about ${hidden} more not shown (--limit, or queued behind a shown message of the same FIFO group)` : ''}.`,
  );
  io.out(PEEK_NOTE);
  return 0;
};

/** What a look at the DLQ does to a message, said wherever receive counts are shown. */
const PEEK_NOTE =
  'RECEIVES is the count before this look: SQS cannot peek, so each `dlq list` / `dlq inspect` receives every message it shows once more (+1). The DLQ has no redrive limit, so looking moves nothing toward one, and a redrive starts the count at 0.';

/** `PermanentError(code): text` -> `text`: the code is shown once already. */
function withoutCode(message: string, code: string): string {
  const prefix = /^\w+\(([^)]*)\): /.exec(message);
  return prefix && prefix[1] === code ? message.slice(prefix[0].length) : message;
}

async function dlqInspect(target: OpsTarget, values: Values, io: OpsIo, id: string): Promise<number> {
  const detail = await inspectDlq(target, id);
  if (!detail) {
    io.err(`no DLQ message with message id or event id ${id}`);
    return 1;
  }
  if (values.json) {
    io.out(JSON.stringify(detail, null, 2));
    return 0;
  }
  const r = detail.record;
  io.out(
    [
      fields([
        ['message id', detail.messageId],
        ['event id', detail.eventId],
        ['type', detail.type],
        ['source', detail.source],
        ['group', detail.group],
        ['receives', `${detail.receiveCount} before this look (this look added 1; see below)`],
        ['sent to DLQ', detail.sentAt],
        ['reason', `${detail.reason.code}: ${withoutCode(detail.reason.message, detail.reason.code)}`],
        [
          'reason from',
          detail.reason.origin === 'processor'
            ? 'the processor (permanent failure, dead-lettered at once)'
            : detail.reason.origin === 'table'
              ? 'the idempotency table (SQS moved it after maxReceiveCount)'
              : 'nowhere: no failure was recorded',
        ],
        ['failed at', detail.reason.at],
        [
          'table status',
          r ? `${r.status} (attempts ${r.attempts}${r.doneAt ? `, done ${r.doneAt}` : ''})` : 'no record',
        ],
      ]),
      '',
      PEEK_NOTE,
      '',
      'attributes:',
      JSON.stringify(detail.attributes, null, 2),
      '',
      'body:',
      typeof detail.body === 'string' ? detail.body : JSON.stringify(detail.body, null, 2),
    ].join('\n'),
  );
  return 0;
}

const dlqRedrive: Command = async (target, values, io) => {
  const rate = values.rate === undefined ? undefined : positiveInt(values.rate, '--rate', 1);
  if (target.kind === 'aws' && values.max === undefined) {
    const task = await startMoveTask(target, rate);
    if (values.json) io.out(JSON.stringify(task, null, 2));
    else {
      io.out(
        fields([
          ['move task', task.taskHandle],
          ['from', task.sourceArn],
          ['to', task.destinationArn],
        ]),
      );
      io.out('\nSQS moves the messages in the background: `npm run ops -- dlq redrive-status` shows progress.');
    }
    return 0;
  }
  const { moved, skipped } = await redriveByHand(target, positiveInt(values.max, '--max', 1000));
  if (values.json) {
    io.out(JSON.stringify({ moved, skipped }, null, 2));
    return 0;
  }
  if (moved.length === 0) io.out('The DLQ is empty: nothing moved.');
  else {
    io.out(
      table(
        ['EVENT', 'DLQ MESSAGE', 'NEW MESSAGE'],
        moved.map((m) => [m.eventId, m.messageId, m.newMessageId]),
      ),
    );
    io.out(`\n${moved.length} message(s) moved back to the event queue.`);
  }
  if (skipped.length > 0) {
    io.out(
      `${skipped.length} message(s) left in the DLQ: they failed again after this run moved them (${skipped
        .map((m) => m.eventId ?? m.messageId)
        .join(', ')}); \`npm run ops -- dlq list\` shows why.`,
    );
  }
  return 0;
};

const dlqRedriveStatus: Command = async (target, values, io) => {
  if (target.kind !== 'aws') {
    io.err('redrive-status is for AWS (message move tasks); locally `dlq redrive` moves messages at once.');
    return 1;
  }
  const tasks = await moveTaskStatus(target);
  if (values.json) io.out(JSON.stringify(tasks, null, 2));
  else if (tasks.length === 0) io.out('No message move task for this DLQ.');
  else {
    io.out(
      table(
        ['STATUS', 'MOVED', 'TO MOVE', 'STARTED', 'FAILURE'],
        tasks.map((t) => [t.status, t.moved, t.toMove, t.startedAt, t.failureReason]),
      ),
    );
  }
  return 0;
};

const replay: Command = async (target, values, io) => {
  const ids = values.id ?? [];
  if (ids.length > 0 === (values.since !== undefined)) {
    throw new UsageError('replay needs either --id (one or more) or --since');
  }
  const rate = values.rate === undefined ? {} : { maxRequestsPerSecond: positiveInt(values.rate, '--rate', 5) };
  const opts = { force: values.force ?? false, ...rate };
  const result =
    ids.length > 0
      ? await replayIds(target, ids, opts)
      : await replayRange(
          target,
          {
            since: parseTime(values.since!, '--since'),
            until: values.until ? parseTime(values.until, '--until') : Math.floor(Date.now() / 1000) + 1,
            ...(values.type ? { types: values.type } : {}),
          },
          opts,
        );
  printReplay(result, values, io);
  return result.notFound > 0 ? 1 : 0;
};

function printReplay(result: ReplayReport, values: Values, io: OpsIo): void {
  if (values.json) {
    io.out(JSON.stringify(result, null, 2));
    return;
  }
  const what: Record<string, string> = {
    missed: 'enqueued (not in the table)',
    pending: 'enqueued (not DONE yet)',
    forced: 'enqueued (DONE record cleared: --force)',
    skipped: 'skipped: already DONE (use --force to process again)',
    not_found: 'not found in Stripe',
    dead_lettered: 'skipped: failed permanently, in the DLQ (fix the cause, then dlq redrive or replay --id)',
    parked: 'parked on the DLQ (cannot be enqueued)',
  };
  if (result.items.length > 0) {
    io.out(
      table(
        ['EVENT', 'TYPE', 'RESULT', 'MESSAGE'],
        result.items.map((i) => [
          i.eventId,
          'type' in i ? i.type : undefined,
          what[i.outcome] ?? i.outcome,
          'messageId' in i ? i.messageId : undefined,
        ]),
        80,
      ),
    );
    io.out('');
  }
  io.out(
    `${result.enqueued} enqueued, ${result.skipped} skipped (already DONE), ${result.notFound} not found` +
      (result.deadLettered > 0 ? `, ${result.deadLettered} left in the DLQ (failed permanently)` : '') +
      `; ${result.stripeCalls} Stripe call(s).`,
  );
}

async function showEvent(target: OpsTarget, values: Values, io: OpsIo, eventId: string): Promise<number> {
  const record = await eventRecord(target, eventId);
  if (values.json) {
    io.out(JSON.stringify(record ?? null, null, 2));
    return record ? 0 : 1;
  }
  if (!record) {
    io.out(`${eventId}: no record in the idempotency table (never processed, or expired).`);
    return 1;
  }
  const e = record.lastError;
  io.out(
    fields([
      ['event id', record.pk],
      ['type', record.eventType],
      ['status', record.status],
      ['attempts', record.attempts],
      ['last message', record.messageId],
      ['claimed at', record.claimedAt],
      ['done at', record.doneAt],
      ['last error', e ? `${e.code}: ${withoutCode(e.message, e.code)}` : undefined],
      ['  at', e?.at],
      ['  message', e?.messageId],
      ['  went to', e ? (e.permanent ? 'the DLQ (permanent)' : 'a retry (SQS redelivers)') : undefined],
      ['expires', new Date(record.expiresAt * 1000).toISOString()],
    ]),
  );
  return 0;
}
