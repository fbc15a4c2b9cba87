/**
 * How the ingress's small AWS client reads every kind of answer and failure: a scripted HTTP server on 127.0.0.1
 * (one per test, closed by it) answers what no stand-in can be made to (a 300, a 429 without a throttling code, the
 * legacy x-amzn-query-error header, a hanging connection) and records what the client sent.
 */
import { getEventListeners, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type AwsJsonClientOptions, AwsServiceError, awsJsonClient } from '../../lambdas/shared/aws-json';
import { LOCAL_CREDENTIALS } from '../../local/stand-ins';
import { closedPort } from '../ingress/helpers';

interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (the connection stays open until the client gives up). */
  hang?: boolean;
}

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

/** Runs `act` against a server that gives `answers` in turn (the last one repeats), then closes it. */
async function withServer(answers: Answer[], act: (endpoint: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      if (answer.hang) {
        open.add(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await act(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function client(endpoint: string, extra: Partial<AwsJsonClientOptions> = {}) {
  return awsJsonClient({
    service: 'sqs',
    region: 'us-east-1',
    endpoint,
    credentials: () => LOCAL_CREDENTIALS,
    sleep: async () => undefined,
    random: () => 0.5,
    ...extra,
  });
}

async function failure(call: Promise<unknown>): Promise<AwsServiceError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(AwsServiceError);
    return err as AwsServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('awsJsonClient: answers', () => {
  it('sends the JSON protocol headers and the input, and reads an empty 200 as {}', async () => {
    await withServer([{ status: 200 }], async (endpoint, seen) => {
      await expect(client(endpoint).call('PurgeQueue', { QueueUrl: 'q' })).resolves.toEqual({});
      expect(seen[0]?.headers['x-amz-target']).toBe('AmazonSQS.PurgeQueue');
      expect(seen[0]?.headers['content-type']).toBe('application/x-amz-json-1.0');
      expect(seen[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/sqs\//);
      expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ QueueUrl: 'q' });
    });
  });

  it('reads a 299 as an answer and a 300 as a failure', async () => {
    await withServer([{ status: 299, body: '{"ok":1}' }], async (endpoint) => {
      await expect(client(endpoint).call('X', {})).resolves.toEqual({ ok: 1 });
    });
    await withServer([{ status: 300, body: '{}' }], async (endpoint) => {
      const err = await failure(client(endpoint).call('X', {}));
      expect([err.name, err.message, err.$metadata, err.$retryable]).toEqual([
        'Http300',
        'sqs answered 300',
        { httpStatusCode: 300, attempts: 1 },
        false,
      ]);
    });
  });

  it("names an error by the legacy x-amzn-query-error code when the body names none, and keeps SQS's Message", async () => {
    const answer = {
      status: 400,
      body: '{"Message":"The specified queue does not exist."}',
      headers: { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' },
    };
    await withServer([answer], async (endpoint) => {
      const err = await failure(client(endpoint).call('GetQueueAttributes', {}));
      expect([err.name, err.message]).toEqual([
        'AWS.SimpleQueueService.NonExistentQueue',
        'The specified queue does not exist.',
      ]);
    });
  });

  it("prefers the body's __type and message over the header and Message", async () => {
    const answer = {
      status: 400,
      body: '{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"m","Message":"M"}',
      headers: { 'x-amzn-query-error': 'Other;Sender' },
    };
    await withServer([answer], async (endpoint) => {
      const err = await failure(client(endpoint).call('GetQueueAttributes', {}));
      expect([err.name, err.message]).toEqual(['QueueDoesNotExist', 'm']);
    });
  });

  it('names a failure without a code after its status, and a non-JSON answer too', async () => {
    await withServer([{ status: 403, body: 'Forbidden' }], async (endpoint) => {
      const err = await failure(client(endpoint).call('X', {}));
      expect([err.name, err.message, err.$retryable]).toEqual(['Http403', 'sqs answered 403', false]);
    });
  });

  it('retries a 429 whatever its code, and a 5xx without a body code, up to the attempts', async () => {
    await withServer(
      [
        { status: 429, body: '{"__type":"Busy"}' },
        { status: 500, body: '{}' },
        { status: 200, body: '{"n":3}' },
      ],
      async (endpoint, seen) => {
        await expect(client(endpoint).call('X', {})).resolves.toEqual({ n: 3 });
        expect(seen).toHaveLength(3);
      },
    );
  });
});

describe('awsJsonClient: failures of the connection', () => {
  it('keeps the network error as the cause and names the call in the message', async () => {
    const c = client(`http://127.0.0.1:${await closedPort()}`, { maxAttempts: 1 });
    const err = await failure(c.call('SendMessage', {}));
    expect(err.name).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/^sqs SendMessage: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('gives up on an attempt after timeoutMs as a retryable TimeoutError', async () => {
    await withServer([{ status: 200, hang: true }], async (endpoint, seen) => {
      const err = await failure(client(endpoint, { timeoutMs: 100, maxAttempts: 2 }).call('X', {}));
      expect([err.name, err.message, err.$retryable, err.$metadata.attempts]).toEqual([
        'TimeoutError',
        'sqs X: no answer within 100 ms',
        true,
        2,
      ]);
      expect(seen).toHaveLength(2);
    });
  });

  it('ends a request in flight when its abort signal fires', async () => {
    await withServer([{ status: 200, hang: true }], async (endpoint, seen) => {
      const abort = new AbortController();
      const call = client(endpoint, { timeoutMs: 10_000, maxAttempts: 1 }).call('X', {}, { abortSignal: abort.signal });
      while (seen.length === 0) await new Promise((r) => setImmediate(r));
      abort.abort();
      const err = await failure(call);
      expect([err.name, err.message, err.$metadata, err.$retryable]).toEqual([
        'AbortError',
        'Request aborted',
        { attempts: 0 },
        false,
      ]);
    });
  });

  it('leaves no listener on a long-lived abort signal once a call is over', async () => {
    await withServer([{ status: 200, body: '{}' }], async (endpoint) => {
      const abort = new AbortController();
      const c = client(endpoint);
      for (let i = 0; i < 3; i++) await c.call('X', {}, { abortSignal: abort.signal });
      expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    });
  });
});

describe('awsJsonClient: configuration', () => {
  it('takes the region from AWS_REGION, and refuses to start without one', async () => {
    const saved = process.env.AWS_REGION;
    try {
      process.env.AWS_REGION = 'eu-west-3';
      await withServer([{ status: 200 }], async (endpoint, seen) => {
        await awsJsonClient({ service: 'sqs', endpoint, credentials: () => LOCAL_CREDENTIALS }).call('X', {});
        expect(seen[0]?.headers.authorization).toContain('/eu-west-3/sqs/');
      });
      delete process.env.AWS_REGION;
      let caught: unknown;
      try {
        awsJsonClient({ service: 'sqs', endpoint: 'http://127.0.0.1:1' });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AwsServiceError);
      expect(caught).toMatchObject({
        name: 'ConfigError',
        message: 'Region is missing',
        $metadata: { attempts: 0 },
        $retryable: false,
      });
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });

  it('signs with the session token of the Lambda environment', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret';
      process.env.AWS_SESSION_TOKEN = 'session-token-1';
      await withServer([{ status: 200 }], async (endpoint, seen) => {
        await awsJsonClient({ service: 'sqs', region: 'us-east-1', endpoint }).call('X', {});
        expect(seen[0]?.headers['x-amz-security-token']).toBe('session-token-1');
      });
      delete process.env.AWS_SESSION_TOKEN;
      await withServer([{ status: 200 }], async (endpoint, seen) => {
        await awsJsonClient({ service: 'sqs', region: 'us-east-1', endpoint }).call('X', {});
        expect(seen[0]?.headers).not.toHaveProperty('x-amz-security-token');
      });
    } finally {
      process.env = saved;
    }
  });
});
