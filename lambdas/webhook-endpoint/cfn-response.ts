/**
 * The CloudFormation custom resource protocol: the handler must PUT exactly one response (SUCCESS or FAILED) to the
 * pre-signed S3 URL in the event, or the stack operation hangs for an hour.
 *
 * Hand-written instead of CDK's Provider framework: the protocol is one HTTPS PUT, while the framework would add a
 * second Lambda with a CDK-managed role (AWSLambdaBasicExecutionRole), its own runtime choice and its own set of
 * cdk-nag findings, for a resource that runs a few times a year.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describeError } from '../shared/errors';

/** The response document CloudFormation reads. */
export interface CfnResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  NoEcho?: boolean;
  Data?: Record<string, string>;
}

/** What a custom resource handler produces on success. */
export interface CustomResourceResult {
  readonly physicalResourceId: string;
  /** Attributes for Fn::GetAtt. Never a secret: CloudFormation shows them in the console and events. */
  readonly data: Record<string, string>;
}

/** CloudFormation accepts responses up to 4 KiB; the reason is cut well below that. */
const MAX_REASON_LENGTH = 1000;
/** Time kept back from the Lambda timeout to send a FAILED response when the work is not done. */
export const TIMEOUT_SAFETY_MS = 5000;

/**
 * PUTs `body` to the pre-signed URL. `Content-Type` is sent empty: the URL's signature covers it (S3 signature
 * version 2), so any other value would be refused.
 */
export async function sendCfnResponse(responseUrl: string, body: CfnResponse, attempts = 3): Promise<void> {
  const payload = JSON.stringify(body);
  const url = new URL(responseUrl);
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  for (let attempt = 1; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'PUT',
            headers: { 'content-type': '', 'content-length': Buffer.byteLength(payload) },
            timeout: 10_000,
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode !== undefined && res.statusCode < 300
                ? resolve()
                : reject(new Error(`response upload answered ${res.statusCode}`)),
            );
          },
        );
        req.on('timeout', () => req.destroy(new Error('response upload timed out')));
        req.on('error', reject);
        req.end(payload);
      });
      return;
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** What `runCustomResource` needs besides the event and the work. */
export interface RunOptions {
  /** Milliseconds left before the Lambda times out (`context.getRemainingTimeInMillis`). */
  remainingMs: () => number;
  /** The physical id reported when the work fails before producing one (CloudFormation then deletes that id). */
  fallbackPhysicalId: string;
  /** Appended to a failure reason, e.g. where the logs are. */
  reasonSuffix?: string;
  /** @default sendCfnResponse */
  send?: (responseUrl: string, body: CfnResponse) => Promise<void>;
  /** Told about every failure (the reason CloudFormation shows is short). */
  onError?: (err: unknown) => void;
}

/**
 * Runs `work` and answers CloudFormation exactly once: SUCCESS with its result, FAILED with the error's message, or
 * FAILED when the work is still running shortly before the Lambda would time out.
 */
export async function runCustomResource(
  event: CloudFormationCustomResourceEvent,
  work: () => Promise<CustomResourceResult>,
  options: RunOptions,
): Promise<CfnResponse> {
  const send = options.send ?? sendCfnResponse;
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  const failed = (reason: string): CfnResponse => ({
    ...base,
    Status: 'FAILED',
    PhysicalResourceId:
      'PhysicalResourceId' in event && event.PhysicalResourceId ? event.PhysicalResourceId : options.fallbackPhysicalId,
    Reason: `${reason}${options.reasonSuffix ?? ''}`.slice(0, MAX_REASON_LENGTH),
  });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, options.remainingMs() - TIMEOUT_SAFETY_MS));
  });
  let response: CfnResponse;
  try {
    const outcome = await Promise.race([
      work().then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      timedOut,
    ]);
    if (outcome === 'timeout') {
      response = failed('the handler did not finish before its timeout');
    } else if (outcome.ok) {
      response = {
        ...base,
        Status: 'SUCCESS',
        PhysicalResourceId: outcome.result.physicalResourceId,
        Data: outcome.result.data,
      };
    } else {
      options.onError?.(outcome.error);
      response = failed(describeError(outcome.error));
    }
  } finally {
    clearTimeout(timer);
  }
  await send(event.ResponseURL, response);
  return response;
}
