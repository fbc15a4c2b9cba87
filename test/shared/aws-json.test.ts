/**
 * The ingress's small AWS client (aws4 SigV4 over node:https/http, AWS's JSON protocol) against real local stand-ins:
 * fauxqs for SQS, the local Secrets Manager for GetSecretValue (which checks every signature). Retries follow the
 * SDK's standard mode: throttling, 5xx and network errors are retried up to 3 attempts; a client error is not.
 */

import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsServiceError, awsJsonClient } from '../../lambdas/shared/aws-json';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../local/secrets-manager';
import { createEventQueues, LOCAL_CREDENTIALS, type RunningService, startSqs } from '../../local/stand-ins';
import { closedPort } from '../ingress/helpers';

let sqs: RunningService<SQSClient>;
let sm: SecretsManagerStub;
const noWait = { sleep: async () => undefined, random: () => 0.5 };

beforeAll(async () => {
  sqs = await startSqs();
  sm = await startSecretsManagerStub();
});
afterAll(async () => {
  await sqs.close();
  await sm.close();
});

describe('awsJsonClient against fauxqs (SQS JSON 1.0)', () => {
  it('sends a FIFO message that an SDK receive then reads back, attributes included', async () => {
    const { queueUrl } = await createEventQueues(sqs.client, {
      name: `aws-json-${Date.now()}`,
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 5,
    });
    const client = awsJsonClient({
      service: 'sqs',
      region: 'us-east-1',
      endpoint: sqs.endpoint,
      credentials: () => LOCAL_CREDENTIALS,
    });
    const out = await client.call<{ MessageId: string }>('SendMessage', {
      QueueUrl: queueUrl,
      MessageBody: '{"eventId":"evt_1"}',
      MessageGroupId: 'platform:pi_1',
      MessageDeduplicationId: 'evt_1',
      MessageAttributes: { eventId: { DataType: 'String', StringValue: 'evt_1' } },
    });
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const got = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'] }),
    );
    expect(got.Messages?.[0]).toMatchObject({
      MessageId: out.MessageId,
      Body: '{"eventId":"evt_1"}',
      MessageAttributes: { eventId: { StringValue: 'evt_1' } },
    });
  });

  it("names a service error by the service's code and does not retry it", async () => {
    const client = awsJsonClient({
      service: 'sqs',
      region: 'us-east-1',
      endpoint: sqs.endpoint,
      credentials: () => LOCAL_CREDENTIALS,
      ...noWait,
    });
    const err = await client
      .call('GetQueueAttributes', {
        QueueUrl: `${sqs.endpoint}/000000000000/no-such-queue.fifo`,
        AttributeNames: ['QueueArn'],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsServiceError);
    expect((err as AwsServiceError).name).toMatch(/QueueDoesNotExist|NonExistentQueue/);
    expect((err as AwsServiceError).$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });
  });
});

/**
 * A proxy in front of fauxqs that answers the next calls with an injected error (as SQS does when it throttles or
 * fails), then forwards the rest unchanged.
 */
async function faultyProxy(target: string) {
  const failures: Array<{ status: number; type: string }> = [];
  let forwarded = 0;
  const server = createServer((req, res) => {
    const failure = failures.shift();
    if (failure) {
      req.resume();
      res.writeHead(failure.status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${failure.type}`, message: 'injected' }));
      return;
    }
    forwarded += 1;
    const url = new URL(target);
    const upstream = httpRequest(
      { hostname: url.hostname, port: url.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failNext: (status: number, type: string) => failures.push({ status, type }),
    forwarded: () => forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('awsJsonClient retries SQS as the SDK does', () => {
  it('retries a throttle and a 5xx from SQS, then delivers the message once', async () => {
    const { queueUrl } = await createEventQueues(sqs.client, {
      name: `aws-json-retry-${Date.now()}`,
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 5,
    });
    const proxy = await faultyProxy(sqs.endpoint);
    try {
      const slept: number[] = [];
      const client = awsJsonClient({
        service: 'sqs',
        region: 'us-east-1',
        endpoint: proxy.endpoint,
        credentials: () => LOCAL_CREDENTIALS,
        sleep: async (ms) => void slept.push(ms),
        random: () => 1,
      });
      proxy.failNext(400, 'RequestThrottled');
      proxy.failNext(503, 'ServiceUnavailable');
      const out = await client.call<{ MessageId: string }>('SendMessage', {
        QueueUrl: queueUrl,
        MessageBody: 'retried',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'retried-1',
      });
      // Throttling backs off from 500 ms, other errors from 100 ms (doubling per attempt).
      expect(slept).toEqual([500, 200]);
      expect(proxy.forwarded()).toBe(1);
      const got = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      expect(got.Messages?.map((m) => [m.MessageId, m.Body])).toEqual([[out.MessageId, 'retried']]);

      proxy.failNext(500, 'InternalError');
      proxy.failNext(500, 'InternalError');
      proxy.failNext(500, 'InternalError');
      await expect(
        client.call('SendMessage', {
          QueueUrl: queueUrl,
          MessageBody: 'x',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'x',
        }),
      ).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500, attempts: 3 } });
      expect(proxy.forwarded()).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('awsJsonClient against the local Secrets Manager (JSON 1.1, signatures checked)', () => {
  const client = (extra = {}) =>
    awsJsonClient({
      service: 'secretsmanager',
      region: 'us-east-1',
      endpoint: sm.endpoint,
      credentials: () => LOCAL_CREDENTIALS,
      ...noWait,
      ...extra,
    });

  it('reads a secret with a signature the server accepts', async () => {
    sm.setSecret('app/webhook', '{"secrets":[{"secret":"whsec_1"}]}');
    const out = await client().call<{ SecretString: string }>('GetSecretValue', { SecretId: 'app/webhook' });
    expect(out.SecretString).toBe('{"secrets":[{"secret":"whsec_1"}]}');
  });

  it('is refused with the wrong secret key: the server really checks the signature', async () => {
    const wrong = client({ credentials: () => ({ accessKeyId: 'local', secretAccessKey: 'not-the-key' }) });
    await expect(wrong.call('GetSecretValue', { SecretId: 'app/webhook' })).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('retries a 500 and a throttle, then answers; gives up after 3 attempts', async () => {
    sm.setSecret('app/key', 'rk_test_1');
    const slept: number[] = [];
    const c = client({ sleep: async (ms: number) => void slept.push(ms), random: () => 1 });
    sm.failNext(1, 500, 'InternalServiceError');
    sm.failNext(1, 400, 'ThrottlingException');
    await expect(c.call('GetSecretValue', { SecretId: 'app/key' })).resolves.toMatchObject({
      SecretString: 'rk_test_1',
    });
    // Full jitter at its top (random 1): 100 ms after the 500, 500 * 2 ms after the throttle.
    expect(slept).toEqual([100, 1000]);
    sm.failNext(3, 503, 'ServiceUnavailable');
    await expect(c.call('GetSecretValue', { SecretId: 'app/key' })).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      $metadata: { attempts: 3 },
    });
  });

  it('does not retry a missing secret', async () => {
    const before = sm.calls.GetSecretValue ?? 0;
    await expect(client().call('GetSecretValue', { SecretId: 'nope' })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { attempts: 1 },
    });
    expect(sm.calls.GetSecretValue).toBe(before + 1);
  });

  it('retries a refused connection as a network error, then reports it', async () => {
    const c = awsJsonClient({
      service: 'secretsmanager',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      credentials: () => LOCAL_CREDENTIALS,
      ...noWait,
    });
    await expect(c.call('GetSecretValue', { SecretId: 'x' })).rejects.toMatchObject({
      name: 'ECONNREFUSED',
      $retryable: true,
      $metadata: { attempts: 3 },
    });
  });

  it('takes credentials from the Lambda environment, and says so when they are missing', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
      const c = awsJsonClient({ service: 'secretsmanager', region: 'us-east-1', endpoint: sm.endpoint });
      await expect(c.call('GetSecretValue', { SecretId: 'app/webhook' })).resolves.toBeTruthy();
      delete process.env.AWS_ACCESS_KEY_ID;
      await expect(c.call('GetSecretValue', { SecretId: 'app/webhook' })).rejects.toMatchObject({
        name: 'CredentialsProviderError',
      });
    } finally {
      process.env = saved;
    }
  });
});

describe('awsJsonClient endpoint and abort', () => {
  it('takes the endpoint from AWS_ENDPOINT_URL_<SERVICE> as the SDK does, before AWS_ENDPOINT_URL', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${await closedPort()}`;
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
      sm.setSecret('app/env', 'from-env');
      const c = awsJsonClient({ service: 'secretsmanager', region: 'us-east-1', credentials: () => LOCAL_CREDENTIALS });
      await expect(c.call('GetSecretValue', { SecretId: 'app/env' })).resolves.toMatchObject({
        SecretString: 'from-env',
      });
    } finally {
      process.env = saved;
    }
  });

  it('ends a call when its abort signal fires, retries included', async () => {
    const c = awsJsonClient({
      service: 'secretsmanager',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      credentials: () => LOCAL_CREDENTIALS,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: () => 1,
    });
    const abort = new AbortController();
    // Fires while the client waits before its second attempt (without the signal: ECONNREFUSED after 3 attempts).
    setTimeout(() => abort.abort(), 50);
    await expect(c.call('GetSecretValue', { SecretId: 'x' }, { abortSignal: abort.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
