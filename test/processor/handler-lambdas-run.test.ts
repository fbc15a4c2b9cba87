/**
 * Which handler Lambdas an event goes to and what the processor makes of their answers (handler-lambdas.ts), one
 * record at a time: the HANDLER_LAMBDAS setting, event-type patterns, the contract's payload, the time check, and how
 * successes, transport failures and permanent failures add up. The pipeline around it is covered by
 * handler-lambdas.test.ts; here `invoke` is the processor's injected invoker, recording what it was given.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { HANDLER_CONTRACT_VERSION, type HandlerInvocation } from '../../lambdas/handler-lambdas/contract';
import {
  HANDLER_INVOKE_MARGIN_MS,
  HandlerFailedError,
  type HandlerOutcome,
  type HandlerTarget,
  matchesEventType,
  parseHandlerTargets,
  type RunHandlersArgs,
  runHandlerLambdas,
} from '../../lambdas/processor/handler-lambdas';
import { RetryableError } from '../../lambdas/shared/errors';
import type { QueueMessage } from '../../lambdas/shared/queue-message';

describe('matchesEventType', () => {
  it('matches an exact type, a prefix.* and *, and nothing else', () => {
    expect(matchesEventType(['invoice.paid'], 'invoice.paid')).toBe(true);
    expect(matchesEventType(['invoice.paid'], 'invoice.paid_out_of_band')).toBe(false);
    expect(matchesEventType(['invoice.paid'], 'customer.created')).toBe(false);
    expect(matchesEventType(['payment_intent.*'], 'payment_intent.succeeded')).toBe(true);
    expect(matchesEventType(['payment_intent.*'], 'payout.paid')).toBe(false);
    expect(matchesEventType(['*'], 'anything.at_all')).toBe(true);
    expect(matchesEventType(['customer.created', 'invoice.paid'], 'invoice.paid')).toBe(true);
    expect(matchesEventType([], 'invoice.paid')).toBe(false);
  });
});

describe('parseHandlerTargets', () => {
  const target = { name: 'fulfil', functionName: 'fn-fulfil', eventTypes: ['checkout.session.*'], timeoutMs: 30_000 };

  it('reads the registered handlers, and none when the setting is absent or empty', () => {
    expect(parseHandlerTargets(JSON.stringify([target]))).toEqual([target]);
    expect(parseHandlerTargets(undefined)).toEqual([]);
    expect(parseHandlerTargets('')).toEqual([]);
    expect(parseHandlerTargets('[]')).toEqual([]);
  });

  it.each([
    ['an object instead of an array', target],
    ['a null entry', [null]],
    ['a name that is not a string', [{ ...target, name: 1 }]],
    ['no function name', [{ ...target, functionName: undefined }]],
    ['a timeout that is not a number', [{ ...target, timeoutMs: '30000' }]],
    ['event types that are not a list', [{ ...target, eventTypes: 'checkout.session.*' }]],
    ['an event type that is not a string', [{ ...target, eventTypes: ['checkout.session.*', 7] }]],
    ['one bad entry among good ones', [target, { ...target, name: undefined }]],
  ])('fails the cold start on %s, saying what the setting must be', (_what, value) => {
    expect(() => parseHandlerTargets(JSON.stringify(value))).toThrow(
      'HANDLER_LAMBDAS must be a JSON array of { name, functionName, eventTypes, timeoutMs }',
    );
  });
});

describe('runHandlerLambdas', () => {
  const msg: QueueMessage = {
    v: 1,
    source: 'webhook',
    kind: 'snapshot',
    eventId: 'evt_run_1',
    type: 'payment_intent.succeeded',
    account: 'acct_1',
    livemode: false,
    created: 1_700_000_000,
    object: { type: 'payment_intent', id: 'pi_1' },
    receivedAt: '2026-01-01T00:00:00.000Z',
  };

  function target(name: string, eventTypes: string[] = ['payment_intent.*'], timeoutMs = 5_000): HandlerTarget {
    return { name, functionName: `fn-${name}`, eventTypes, timeoutMs };
  }

  /** Runs `targets` with handlers answering from `answers` (by name); records invocations, successes and logs. */
  function setUp(
    targets: HandlerTarget[],
    answers: Record<string, HandlerOutcome | Error> = {},
    over: Partial<RunHandlersArgs> = {},
  ) {
    const invoked: HandlerInvocation[] = [];
    const marked: string[] = [];
    const log = new Logger({ logLevel: 'SILENT' });
    const logged: unknown[][] = [];
    vi.spyOn(log, 'info').mockImplementation(((...a: unknown[]) => void logged.push(['info', ...a])) as never);
    vi.spyOn(log, 'warn').mockImplementation(((...a: unknown[]) => void logged.push(['warn', ...a])) as never);
    const args: RunHandlersArgs = {
      lambdas: {
        targets,
        invoke: async (t, payload) => {
          invoked.push(payload);
          const answer = answers[t.name] ?? { ok: true };
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
      msg,
      object: { id: 'pi_1', object: 'payment_intent', status: 'succeeded' },
      objectOrigin: 'fetched',
      attempt: 2,
      handlersDone: [],
      markDone: async (name) => void marked.push(name),
      log,
      ...over,
    };
    return { run: () => runHandlerLambdas(args), invoked, marked, logged };
  }

  it('invokes each matching handler with the contract payload and records each success', async () => {
    const { run, invoked, marked, logged } = setUp([target('fulfil'), target('email', ['invoice.*'])]);

    expect(await run()).toEqual(['fulfil']);
    expect(invoked).toEqual([
      {
        version: HANDLER_CONTRACT_VERSION,
        handler: 'fulfil',
        event: {
          id: 'evt_run_1',
          type: 'payment_intent.succeeded',
          account: 'acct_1',
          livemode: false,
          created: 1_700_000_000,
          objectRef: { type: 'payment_intent', id: 'pi_1' },
          source: 'webhook',
        },
        object: { id: 'pi_1', object: 'payment_intent', status: 'succeeded' },
        objectOrigin: 'fetched',
        idempotencyKey: 'evt_run_1',
        attempt: 2,
      },
    ]);
    expect(marked).toEqual(['fulfil']);
    expect(logged).toEqual([['info', 'handler succeeded', { handler: 'fulfil' }]]);
  });

  it('sends a platform event without an object neither account nor object reference', async () => {
    const platform: QueueMessage = { ...msg, account: undefined, object: null, type: 'balance.available' };
    const { run, invoked } = setUp([target('ledger', ['*'])], {}, { msg: platform, object: null });

    await run();

    expect(invoked[0]?.event).toEqual({
      id: 'evt_run_1',
      type: 'balance.available',
      livemode: false,
      created: 1_700_000_000,
      objectRef: null,
      source: 'webhook',
    });
    expect(invoked[0]?.object).toBeNull();
  });

  it('does not run again the handlers that already succeeded for the event, and says so', async () => {
    const targets = [target('fulfil'), target('email'), target('audit', ['invoice.*'])];
    const { run, invoked, logged } = setUp(targets, {}, { handlersDone: ['fulfil', 'audit'] });

    expect(await run()).toEqual(['email']);
    expect(invoked.map((i) => i.handler)).toEqual(['email']);
    expect(logged[0]).toEqual([
      'info',
      'handlers that already succeeded are not run again',
      { handlers: ['fulfil', 'audit'] },
    ]);
  });

  it('logs nothing about skipped handlers when none succeeded before', async () => {
    const { run, logged } = setUp([target('fulfil', ['invoice.*'])]);

    expect(await run()).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('invokes a handler only with its timeout and the margin left, and retries the event otherwise', async () => {
    const enough = 5_000 + HANDLER_INVOKE_MARGIN_MS;
    const justEnough = setUp([target('fulfil')], {}, { remainingMs: () => enough });
    expect(await justEnough.run()).toEqual(['fulfil']);

    const short = setUp([target('fulfil')], {}, { remainingMs: () => enough - 1 });
    const err = await short.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({
      code: 'handler_retryable',
      message: 'handler fulfil failed: not enough time left in this invocation',
    });
    expect(short.invoked).toEqual([]);
  });

  it('retries the event when a handler cannot be invoked, keeping the others recorded', async () => {
    const { run, marked, logged } = setUp([target('fulfil'), target('email')], {
      email: new Error('Lambda is throttled'),
    });

    const err = await run().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({ message: 'handler email failed: Error: Lambda is throttled' });
    expect(marked).toEqual(['fulfil']);
    expect(logged).toContainEqual([
      'warn',
      'handler failed',
      { handler: 'email', permanent: false, reason: 'Error: Lambda is throttled' },
    ]);
  });

  it("dead-letters the event naming the handler that failed for good, even after another's retryable failure", async () => {
    const { run, marked } = setUp([target('fulfil'), target('email'), target('audit')], {
      fulfil: { ok: false, permanent: false, reason: 'busy' },
      email: { ok: false, permanent: true, reason: 'no such order' },
    });

    const err = await run().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(HandlerFailedError);
    expect(err).toMatchObject({
      name: 'HandlerFailedError',
      handler: 'email',
      code: 'handler_failed',
      message: 'handler email failed permanently: no such order',
    });
    expect(marked).toEqual(['audit']);
  });
});
