/**
 * A Secrets Manager stand-in on 127.0.0.1 that speaks the service's JSON 1.1 protocol over HTTP (what the SDK and
 * the ingress's aws4 client send), for tests and the bench: GetSecretValue and PutSecretValue on secrets held in
 * memory. It checks each request's SigV4 signature against the credentials it was given, so a client that signs
 * wrongly fails here as it would on AWS.
 *
 * `failNext` makes the next calls answer an error (a 500, a throttle), to exercise a client's retries.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import aws4 from 'aws4';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './stand-ins';

export interface SecretsManagerStub {
  readonly endpoint: string;
  /** Calls answered, by operation (failed ones included). */
  readonly calls: Record<string, number>;
  setSecret(id: string, value: string): void;
  /** The next `count` calls answer `status` with the error `code`. */
  failNext(count: number, status: number, code: string): void;
  close(): Promise<void>;
}

interface Failure {
  status: number;
  code: string;
}

/**
 * Whether a request's SigV4 signature is the one `credentials` give for what arrived (method, path, signed headers,
 * body): what AWS checks first. Shared by the stand-ins that check signatures.
 */
export function sigV4Valid(
  req: IncomingMessage,
  body: string,
  opts: { service: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } },
): boolean {
  const given = req.headers.authorization ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(given)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const expected = aws4.sign(
    {
      host: req.headers.host,
      path: req.url,
      method: req.method,
      service: opts.service,
      region: opts.region,
      body,
      headers,
    },
    opts.credentials,
  ).headers as Record<string, string>;
  return given !== '' && expected.Authorization === given;
}

export async function startSecretsManagerStub(
  opts: { credentials?: { accessKeyId: string; secretAccessKey: string }; region?: string } = {},
): Promise<SecretsManagerStub> {
  const credentials = opts.credentials ?? LOCAL_CREDENTIALS;
  const region = opts.region ?? LOCAL_REGION;
  const secrets = new Map<string, { value: string; versionId: string }>();
  const calls: Record<string, number> = {};
  const failures: Failure[] = [];

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    answer(res, status, { __type: code, message });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target;
      calls[operation] = (calls[operation] ?? 0) + 1;
      if (!sigV4Valid(req, body, { service: 'secretsmanager', region, credentials })) {
        return error(res, 403, 'InvalidSignatureException', 'The request signature we calculated does not match');
      }
      const failure = failures.shift();
      if (failure) return error(res, failure.status, failure.code, `injected ${failure.code}`);
      let input: { SecretId?: string; SecretString?: string };
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        return error(res, 400, 'SerializationException', 'body is not JSON');
      }
      const id = input.SecretId ?? '';
      const arn = `arn:aws:secretsmanager:${region}:000000000000:secret:${id}-AbCdEf`;
      if (operation === 'GetSecretValue') {
        const secret = secrets.get(id);
        if (!secret)
          return error(res, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return answer(res, 200, {
          ARN: arn,
          Name: id,
          SecretString: secret.value,
          VersionId: secret.versionId,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: Math.floor(Date.now() / 1000),
        });
      }
      if (operation === 'PutSecretValue') {
        const versionId = randomUUID();
        secrets.set(id, { value: input.SecretString ?? '', versionId });
        return answer(res, 200, { ARN: arn, Name: id, VersionId: versionId, VersionStages: ['AWSCURRENT'] });
      }
      return error(res, 400, 'UnknownOperationException', `the stand-in does not answer ${operation}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    setSecret(id, value) {
      secrets.set(id, { value, versionId: randomUUID() });
    },
    failNext(count, status, code) {
      for (let i = 0; i < count; i++) failures.push({ status, code });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
