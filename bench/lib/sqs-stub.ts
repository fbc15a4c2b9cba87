/**
 * An SQS stand-in on 127.0.0.1 speaking SQS's JSON 1.0 protocol, for the cold-path bench: SendMessage and
 * GetQueueAttributes, with each request's SigV4 signature checked (local/secrets-manager.ts's sigV4Valid).
 *
 * Why not fauxqs here: fauxqs names its queues `http://sqs.<region>.localhost:<port>/...` and looks them up by that
 * exact URL, and the AWS SDK sends to a queue URL's own host; `*.localhost` does not resolve in a fresh child process
 * without patching its DNS, which would add work to the process being measured. This stub's queue URL is on
 * 127.0.0.1, so the SDK (naive twin) and the aws4 client (ours) both reach it unchanged.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sigV4Valid } from '../../local/secrets-manager';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins';

export interface SqsStub {
  readonly endpoint: string;
  /** The one FIFO queue's URL (`<endpoint>/000000000000/<name>`). */
  readonly queueUrl: string;
  /** Messages accepted, in order. */
  readonly messages: Array<{ body: string; groupId: string; deduplicationId: string }>;
  /** Calls refused for a bad signature. */
  readonly badSignatures: number;
  close(): Promise<void>;
}

export async function startSqsStub(queueName = 'events.fifo'): Promise<SqsStub> {
  const messages: SqsStub['messages'] = [];
  let badSignatures = 0;
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };
  let queueUrl = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (!sigV4Valid(req, body, { service: 'sqs', region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS })) {
        badSignatures += 1;
        return answer(res, 403, { __type: 'com.amazonaws.sqs#InvalidSignature', message: 'bad signature' });
      }
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      const input = JSON.parse(body) as Record<string, string | undefined>;
      if (input.QueueUrl !== queueUrl) {
        return answer(res, 400, { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'no such queue' });
      }
      if (operation === 'GetQueueAttributes') {
        return answer(res, 200, { Attributes: { QueueArn: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${queueName}` } });
      }
      if (operation !== 'SendMessage') {
        return answer(res, 400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: operation });
      }
      const text = input.MessageBody ?? '';
      messages.push({
        body: text,
        groupId: input.MessageGroupId ?? '',
        deduplicationId: input.MessageDeduplicationId ?? '',
      });
      return answer(res, 200, {
        MessageId: randomUUID(),
        // The SDK checks this against the body it sent.
        MD5OfMessageBody: createHash('md5').update(text, 'utf8').digest('hex'),
        SequenceNumber: String(10_000_000_000_000_000_000n + BigInt(messages.length)),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  queueUrl = `${endpoint}/000000000000/${queueName}`;
  return {
    endpoint,
    queueUrl,
    messages,
    get badSignatures() {
      return badSignatures;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
