/**
 * A small AWS client for the ingress's two calls (SQS SendMessage / GetQueueAttributes, Secrets Manager
 * GetSecretValue): AWS's JSON protocol signed with `aws4` (SigV4) over node:https with keep-alive.
 *
 * Why not the AWS SDK here: the ingress is the one function Stripe waits on, and its cold start is mostly the SDK.
 * Measured with the project's esbuild settings (docs/performance.md): importing @aws-sdk/client-sqs costs about
 * 56 ms and its first request 18 ms; `aws4` over node:https 13 ms and 9 ms. The processor, reconciler and the
 * operator CLI keep the SDK (they are not on Stripe's clock, and use far more of it).
 *
 * What it keeps of the SDK's behaviour: the standard retry mode (3 attempts; throttling errors, 5xx and network
 * errors retried with full-jitter exponential backoff, 100 ms base, 500 ms for throttling, capped at 20 s), service
 * errors as Errors named after the service's error code with `$metadata.httpStatusCode` (what callers and logs
 * already read), credentials from the Lambda environment, and a per-request timeout.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import aws4 from 'aws4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * The two JSON protocols in use: SQS speaks JSON 1.0, Secrets Manager JSON 1.1. `endpointEnv` is the SDK's
 * service-specific endpoint variable (AWS_ENDPOINT_URL_ + the service id in upper snake case).
 */
const PROTOCOLS = {
  sqs: { targetPrefix: 'AmazonSQS', contentType: 'application/x-amz-json-1.0', endpointEnv: 'AWS_ENDPOINT_URL_SQS' },
  secretsmanager: {
    targetPrefix: 'secretsmanager',
    contentType: 'application/x-amz-json-1.1',
    endpointEnv: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  },
} as const;

export type AwsJsonService = keyof typeof PROTOCOLS;

export interface AwsJsonClientOptions {
  readonly service: AwsJsonService;
  /** @default process.env.AWS_REGION */
  readonly region?: string;
  /**
   * e.g. `http://127.0.0.1:4566` for a local stand-in. @default as the SDK: AWS_ENDPOINT_URL_<SERVICE>, then
   * AWS_ENDPOINT_URL, then https://<service>.<region>.amazonaws.com
   */
  readonly endpoint?: string;
  /** @default the Lambda environment's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN */
  readonly credentials?: () => AwsCredentials;
  /** Attempts per call, the first included (the SDK's standard mode: 3). */
  readonly maxAttempts?: number;
  /** Per attempt. @default 5000 */
  readonly timeoutMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A service's error answer (or a network failure): named after the service's error code, like the SDK's errors. */
export class AwsServiceError extends Error {
  readonly $metadata: { readonly httpStatusCode?: number; readonly attempts: number };
  readonly $retryable: boolean;
  constructor(
    name: string,
    message: string,
    metadata: { httpStatusCode?: number; attempts: number },
    retryable: boolean,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
    this.$metadata = metadata;
    this.$retryable = retryable;
  }
}

/** The SDK's throttling error codes (@smithy/service-error-classification). */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError']);
const BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 20_000;

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

function environmentCredentials(): AwsCredentials {
  const {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
  } = process.env;
  if (!accessKeyId || !secretAccessKey) {
    throw new AwsServiceError(
      'CredentialsProviderError',
      'Could not load credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set',
      { attempts: 0 },
      false,
    );
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

interface RawResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface AwsJsonClient {
  /**
   * Calls `operation` (e.g. `SendMessage`) with `input`; resolves the parsed answer or throws an AwsServiceError.
   * `abortSignal` ends the call, retries included, with an AbortError (as the SDK's `send` option does).
   */
  call<T = Record<string, unknown>>(
    operation: string,
    input: object,
    options?: { abortSignal?: AbortSignal },
  ): Promise<T>;
}

function abortError(): AwsServiceError {
  return new AwsServiceError('AbortError', 'Request aborted', { attempts: 0 }, false);
}

export function awsJsonClient(opts: AwsJsonClientOptions): AwsJsonClient {
  const protocol = PROTOCOLS[opts.service];
  const region = opts.region ?? process.env.AWS_REGION;
  if (!region) throw new AwsServiceError('ConfigError', 'Region is missing', { attempts: 0 }, false);
  const endpoint = new URL(
    opts.endpoint ??
      process.env[protocol.endpointEnv] ??
      process.env.AWS_ENDPOINT_URL ??
      `https://${opts.service}.${region}.amazonaws.com`,
  );
  const secure = endpoint.protocol === 'https:';
  const credentials = opts.credentials ?? environmentCredentials;
  const maxAttempts = opts.maxAttempts ?? 3;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  function send(operation: string, body: string, signal: AbortSignal | undefined): Promise<RawResponse> {
    const signed = aws4.sign(
      {
        host: endpoint.host,
        path: endpoint.pathname,
        // Stryker disable next-line StringLiteral: equivalent, aws4 signs a request that has a body as POST
        method: 'POST',
        service: opts.service,
        region,
        body,
        headers: { 'content-type': protocol.contentType, 'x-amz-target': `${protocol.targetPrefix}.${operation}` },
      },
      credentials(),
    );
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(
        {
          protocol: endpoint.protocol,
          hostname: endpoint.hostname,
          port: endpoint.port || undefined,
          path: signed.path,
          method: 'POST',
          headers: signed.headers as Record<string, string>,
          agent: secure ? agents.https : agents.http,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TimeoutError' })),
      );
      req.on('error', reject);
      if (signal) {
        const onAbort = () => req.destroy(abortError());
        // (No `once`: a signal fires at most once, and 'close' removes the listener either way.)
        signal.addEventListener('abort', onAbort);
        req.on('close', () => signal.removeEventListener('abort', onAbort));
      }
      req.end(body);
    });
  }

  function toError(res: RawResponse, attempts: number): AwsServiceError {
    let parsed: { __type?: string; message?: string; Message?: string } = {};
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      // a non-JSON answer (a proxy's error page): keep the status
    }
    // SQS's JSON protocol also names the legacy query error code in x-amzn-query-error ("Code;Sender").
    const queryError = res.headers['x-amzn-query-error'];
    const code =
      (parsed.__type?.split('#').pop() ?? (typeof queryError === 'string' ? queryError.split(';')[0] : undefined)) ||
      `Http${res.status}`;
    const retryable = res.status >= 500 || res.status === 429 || THROTTLING.has(code);
    return new AwsServiceError(
      code,
      parsed.message ?? parsed.Message ?? `${opts.service} answered ${res.status}`,
      { httpStatusCode: res.status, attempts },
      retryable,
    );
  }

  return {
    async call<T>(operation: string, input: object, options: { abortSignal?: AbortSignal } = {}): Promise<T> {
      const signal = options.abortSignal;
      const body = JSON.stringify(input);
      for (let attempt = 1; ; attempt++) {
        if (signal?.aborted) throw abortError();
        let failure: AwsServiceError;
        try {
          const res = await send(operation, body, signal);
          if (res.status >= 200 && res.status < 300) return (res.body ? JSON.parse(res.body) : {}) as T;
          failure = toError(res, attempt);
        } catch (err) {
          if (err instanceof AwsServiceError) throw err;
          const code = (err as NodeJS.ErrnoException).code ?? 'NetworkError';
          failure = new AwsServiceError(
            code,
            `${opts.service} ${operation}: ${(err as Error).message}`,
            { attempts: attempt },
            TRANSIENT_NETWORK.has(code),
            err,
          );
        }
        if (!failure.$retryable || attempt >= maxAttempts) throw failure;
        const base = THROTTLING.has(failure.name) ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
        await sleep(random() * Math.min(MAX_DELAY_MS, base * 2 ** (attempt - 1)));
      }
    },
  };
}
