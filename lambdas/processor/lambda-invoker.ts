/**
 * The processor's InvokeHandler in AWS: a synchronous Lambda `Invoke` of the handler's function. Lambda reports a
 * thrown error as `FunctionError` with `{ errorType, errorMessage }` in the payload, in every runtime; the errorType
 * PermanentHandlerError (the class name of what the handler threw) is the contract's permanent failure. A throttle
 * or service error of the Invoke call itself is thrown, and the processor retries the event.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { PERMANENT_HANDLER_ERROR } from '../handler-lambdas/contract';
import type { InvokeHandler } from './handler-lambdas';

export function createLambdaInvoker(client: LambdaClient): InvokeHandler {
  return async (target, payload) => {
    const res = await client.send(
      new InvokeCommand({
        FunctionName: target.functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    if (!res.FunctionError) return { ok: true };
    let body: { errorType?: unknown; errorMessage?: unknown } = {};
    try {
      body = JSON.parse(new TextDecoder().decode(res.Payload ?? new Uint8Array())) as typeof body;
    } catch {
      // Not JSON (a runtime crash): no error type, so retryable.
    }
    const errorType = typeof body.errorType === 'string' ? body.errorType : res.FunctionError;
    const errorMessage = typeof body.errorMessage === 'string' ? body.errorMessage : '(no message)';
    return { ok: false, permanent: errorType === PERMANENT_HANDLER_ERROR, reason: `${errorType}: ${errorMessage}` };
  };
}
