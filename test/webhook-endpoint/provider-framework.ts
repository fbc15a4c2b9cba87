/**
 * aws-cdk-lib's custom-resources Provider framework, run in process: its real runtime (framework.js, as deployed in
 * the framework Lambda) with the two calls it makes outside replaced: the Lambda Invoke of the user handler (given
 * here as a function, answered as Lambda answers: the returned JSON, or `FunctionError` with the error when it throws,
 * also at module load) and the PUT of the answer to CloudFormation's pre-signed URL (kept in `responses`).
 */

import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { vi } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

const require = createRequire(import.meta.url);
// The real path: framework.js requires its siblings by their real paths, so the fake outbound.js must sit in the
// require cache under that path too. Stryker's sandbox reaches node_modules through a symlink, and with the
// symlinked path the real outbound.js (which needs @aws-sdk/client-sfn) loaded instead of the fake.
const RUNTIME = realpathSync(
  join(PROJECT_ROOT, 'node_modules/aws-cdk-lib/custom-resources/lib/provider-framework/runtime'),
);

/** The document the framework PUTs to CloudFormation. */
export interface CfnAnswer {
  Status: 'SUCCESS' | 'FAILED';
  Reason: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

/** The framework's physical id for a Create that failed (its Delete is then answered without the handler). */
export const CREATE_FAILED_MARKER = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

export interface ProviderFramework {
  /** What CloudFormation received, in order. */
  readonly answers: CfnAnswer[];
  /** How many times the framework invoked the user handler. */
  readonly invocations: () => number;
  /** Runs one CloudFormation request through the framework and returns the answer it sent. */
  send(event: CloudFormationCustomResourceEvent): Promise<CfnAnswer>;
}

/**
 * Loads the framework with `userHandler` standing in for the onEvent Lambda (it receives the payload the framework
 * invokes it with, ResponseURL included).
 */
export function loadProviderFramework(
  userHandler: (payload: Record<string, unknown>) => Promise<unknown>,
): ProviderFramework {
  const answers: CfnAnswer[] = [];
  let invocations = 0;
  const outbound = join(RUNTIME, 'outbound.js');
  const fake = {
    invokeFunction: async (req: { FunctionName: string; Payload: string }) => {
      invocations++;
      try {
        const out = await userHandler(JSON.parse(req.Payload) as Record<string, unknown>);
        return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(out ?? {})) };
      } catch (err) {
        // Lambda's answer to a handler that threw, or whose module failed to load: status 200, FunctionError set.
        const e = err as Error;
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: Buffer.from(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] })),
        };
      }
    },
    httpRequest: async (_options: unknown, body: string) => {
      answers.push(JSON.parse(body) as CfnAnswer);
    },
    startExecution: async () => {
      throw new Error('no isComplete handler: the framework must not start a waiter');
    },
  };
  for (const file of ['framework.js', 'cfn-response.js', 'outbound.js']) delete require.cache[join(RUNTIME, file)];
  require.cache[outbound] = { id: outbound, filename: outbound, loaded: true, exports: fake } as unknown as NodeModule;
  process.env.USER_ON_EVENT_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:app-webhook-endpoint';
  const framework = require(join(RUNTIME, 'framework.js')) as { onEvent: (e: unknown) => Promise<void> };
  return {
    answers,
    invocations: () => invocations,
    async send(event) {
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await framework.onEvent(structuredClone(event));
      } finally {
        log.mockRestore();
      }
      const last = answers.at(-1);
      if (!last) throw new Error('the framework sent no answer');
      return last;
    },
  };
}
