/** The processor's Lambda Invoke of a handler Lambda (aws-sdk-client-mock: no local Lambda stand-in). */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLambdaInvoker } from '../../lambdas/processor/lambda-invoker';

const lambda = mockClient(LambdaClient);
beforeEach(() => lambda.reset());

const target = {
  name: 'fulfil',
  functionName: 'arn:aws:lambda:us-east-1:1:function:f',
  eventTypes: ['*'],
  timeoutMs: 1,
};
const payload = {
  version: 1 as const,
  handler: 'fulfil',
  event: { id: 'evt_1', type: 't', livemode: false, created: 1, objectRef: null, source: 'webhook' },
  object: null,
  objectOrigin: 'none' as const,
  idempotencyKey: 'evt_1',
  attempt: 1,
};
/** A response payload as the SDK types it (a Uint8Array with the SDK's string helpers). */
const blob = (text: string) =>
  Object.assign(new TextEncoder().encode(text), { transformToString: () => text }) as never;
const bytes = (v: unknown) => blob(JSON.stringify(v));

describe('createLambdaInvoker', () => {
  it('invokes the function synchronously with the contract JSON', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes({ done: true }) });
    expect(await createLambdaInvoker(new LambdaClient({}))(target, payload)).toEqual({ ok: true });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe(target.functionName);
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual(payload);
  });

  it('reads errorType PermanentHandlerError as permanent, any other error as retryable', async () => {
    const invoke = createLambdaInvoker(new LambdaClient({}));
    lambda
      .on(InvokeCommand)
      .resolvesOnce({
        FunctionError: 'Unhandled',
        Payload: bytes({ errorType: 'PermanentHandlerError', errorMessage: 'no such order' }),
      })
      .resolvesOnce({ FunctionError: 'Unhandled', Payload: bytes({ errorType: 'Error', errorMessage: 'db down' }) })
      .resolvesOnce({ FunctionError: 'Unhandled', Payload: blob('Task timed out') });
    expect(await invoke(target, payload)).toEqual({
      ok: false,
      permanent: true,
      reason: 'PermanentHandlerError: no such order',
    });
    expect(await invoke(target, payload)).toEqual({ ok: false, permanent: false, reason: 'Error: db down' });
    expect(await invoke(target, payload)).toEqual({ ok: false, permanent: false, reason: 'Unhandled: (no message)' });
  });
});
