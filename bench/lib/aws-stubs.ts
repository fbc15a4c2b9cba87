/**
 * AWS clients stubbed at the network boundary: a custom `requestHandler` answers canned responses without opening a
 * socket. Everything above the wire still runs as in Lambda (serialisation, SigV4 signing, middleware, response
 * parsing, the SQS client's MD5 check of the sent body), so a handler measured with these clients pays the SDK's real
 * CPU cost and none of the network's.
 *
 * aws-sdk-client-mock would replace `send` itself and skip that work, which is what this bench must not do.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDBENCHSTUB', secretAccessKey: 'bench-stub-secret' };

type RequestHandler = NonNullable<SQSClientConfig['requestHandler']>;

/** The parts of a smithy HttpRequest the stubs read. */
interface StubRequest {
  headers: Record<string, string>;
  body?: unknown;
}

/** A request handler answering JSON-protocol calls by their `x-amz-target` operation. */
function jsonProtocolHandler(
  contentType: string,
  answer: (operation: string, input: Record<string, unknown>) => Record<string, unknown>,
): RequestHandler {
  const handler = {
    metadata: { handlerProtocol: 'stub' },
    async handle(request: StubRequest) {
      const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      // The SDK hands the JSON body over as a string or as bytes (a Uint8Array subclass), depending on the protocol.
      const text =
        typeof request.body === 'string'
          ? request.body
          : request.body instanceof Uint8Array
            ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8')
            : '{}';
      const input = JSON.parse(text) as Record<string, unknown>;
      const body = Buffer.from(JSON.stringify(answer(operation, input)), 'utf8');
      return {
        response: {
          statusCode: 200,
          reason: 'OK',
          headers: { 'content-type': contentType, 'content-length': String(body.length), 'x-amzn-requestid': 'stub' },
          body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
  return handler as unknown as RequestHandler;
}

/** An SQS client whose SendMessage is answered in memory; `sent` counts the messages and their payload bytes. */
export interface StubbedSqs {
  readonly client: SQSClient;
  readonly sent: { messages: number; bodyBytes: number };
}

/** An SQS client that answers SendMessage with a valid response (the body's MD5, a message id) and no socket. */
export function stubbedSqs(): StubbedSqs {
  const sent = { messages: 0, bodyBytes: 0 };
  const client = new SQSClient({
    region: REGION,
    credentials: CREDENTIALS,
    requestHandler: jsonProtocolHandler('application/x-amz-json-1.0', (operation, input) => {
      if (operation !== 'SendMessage') throw new Error(`the SQS stub answers SendMessage only, not ${operation}`);
      const body = String(input.MessageBody ?? '');
      sent.messages += 1;
      sent.bodyBytes += Buffer.byteLength(body, 'utf8');
      return {
        MessageId: randomUUID(),
        MD5OfMessageBody: createHash('md5').update(body, 'utf8').digest('hex'),
        SequenceNumber: String(10_000_000_000_000_000_000n + BigInt(sent.messages)),
      };
    }),
  });
  return { client, sent };
}

/** A Secrets Manager client whose GetSecretValue answers `secretString`; `calls` counts the calls. */
export interface StubbedSecretsManager {
  readonly client: SecretsManagerClient;
  readonly calls: { getSecretValue: number };
}

export function stubbedSecretsManager(secretString: string): StubbedSecretsManager {
  const calls = { getSecretValue: 0 };
  const client = new SecretsManagerClient({
    region: REGION,
    credentials: CREDENTIALS,
    requestHandler: jsonProtocolHandler('application/x-amz-json-1.1', (operation, input) => {
      if (operation !== 'GetSecretValue') throw new Error(`the Secrets Manager stub answers GetSecretValue only`);
      calls.getSecretValue += 1;
      const name = String(input.SecretId ?? 'secret');
      return {
        ARN: `arn:aws:secretsmanager:${REGION}:000000000000:secret:${name}-AbCdEf`,
        Name: name,
        SecretString: secretString,
        VersionId: '00000000-0000-0000-0000-000000000000',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_760_000_000,
      };
    }),
  });
  return { client, calls };
}
