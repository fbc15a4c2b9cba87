/**
 * The custom resource response protocol: CloudFormation must get exactly one answer, even when the work hangs
 * (otherwise the stack waits an hour), and the upload survives one failed attempt.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCustomResource, sendCfnResponse, TIMEOUT_SAFETY_MS } from '../../lambdas/webhook-endpoint/cfn-response';

let server: Server;
let url: string;
let received: string[];
let failFirst: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failFirst > 0) {
        failFirst--;
        res.writeHead(503).end();
        return;
      }
      received.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  failFirst = 0;
});

function event(type: 'Create' | 'Update'): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:x',
    ResponseURL: url,
    StackId: 'stack-1',
    RequestId: 'req-1',
    LogicalResourceId: 'Res',
    ResourceType: 'Custom::X',
    ResourceProperties: { ServiceToken: 'arn:x' },
  };
  return type === 'Create'
    ? { ...base, RequestType: 'Create' }
    : {
        ...base,
        RequestType: 'Update',
        PhysicalResourceId: 'existing-id',
        OldResourceProperties: { ServiceToken: 'arn:x' },
      };
}

describe('runCustomResource', () => {
  it('answers FAILED shortly before the Lambda timeout when the work hangs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const pending = runCustomResource(event('Create'), () => new Promise(() => undefined), {
        remainingMs: () => TIMEOUT_SAFETY_MS + 60_000,
        fallbackPhysicalId: 'fallback-id',
      });
      await vi.advanceTimersByTimeAsync(59_999);
      expect(received).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      vi.useRealTimers();
      const response = await pending;
      expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'fallback-id' });
      expect(response.Reason).toMatch(/did not finish before its timeout/);
      expect(received.map((b) => JSON.parse(b).Status)).toEqual(['FAILED']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the physical id of an existing resource when an Update fails, so CloudFormation does not replace it', async () => {
    const response = await runCustomResource(event('Update'), () => Promise.reject(new Error('boom')), {
      remainingMs: () => 60_000,
      fallbackPhysicalId: 'fallback-id',
      reasonSuffix: ' (logs: g s)',
    });
    expect(response).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: 'existing-id',
      Reason: 'Error: boom (logs: g s)',
    });
  });

  it('answers SUCCESS with the result, once', async () => {
    const response = await runCustomResource(
      event('Create'),
      async () => ({ physicalResourceId: 'p-1', data: { EndpointId: 'we_1' } }),
      { remainingMs: () => 60_000, fallbackPhysicalId: 'fallback-id' },
    );
    expect(response).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'p-1',
      StackId: 'stack-1',
      RequestId: 'req-1',
      LogicalResourceId: 'Res',
      Data: { EndpointId: 'we_1' },
    });
    expect(received).toHaveLength(1);
  });
});

describe('sendCfnResponse', () => {
  it('retries a failed upload', async () => {
    failFirst = 1;
    await sendCfnResponse(url, {
      Status: 'SUCCESS',
      PhysicalResourceId: 'p',
      StackId: 's',
      RequestId: 'r',
      LogicalResourceId: 'l',
    });
    expect(received).toHaveLength(1);
  });

  it('gives up with an error after its attempts', async () => {
    failFirst = 5;
    const body = {
      Status: 'FAILED' as const,
      PhysicalResourceId: 'p',
      StackId: 's',
      RequestId: 'r',
      LogicalResourceId: 'l',
    };
    await expect(sendCfnResponse(url, body, 2)).rejects.toThrow(/answered 503/);
  });
});
