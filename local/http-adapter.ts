/**
 * The local stand-in for API Gateway: a node:http server on 127.0.0.1 that turns each request into an HTTP API
 * (payload format 2.0) event for the ingress handler and writes back what it returns.
 *
 * Like API Gateway it lower-cases header names, joins a repeated header with commas, hands a JSON or text body over
 * as a string and any other body base64-encoded with `isBase64Encoded: true`, and refuses bodies over 10 MB
 * itself (413). It does not route: the ingress handler answers unknown paths with 404 itself.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** API Gateway's own payload limit. */
const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface HttpAdapter {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves a request itself (e.g. the local console's pages) and returns true, or returns false to pass it on. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export async function startHttpAdapter(opts: {
  port?: number;
  handler: HttpHandler;
  /** Asked first for every request: local-only routes that are no part of API Gateway. */
  raw?: RawHandler;
}): Promise<HttpAdapter> {
  const server: Server = createServer((req, res) => {
    if (opts.raw?.(req, res)) return;
    handle(req, res, opts.handler).catch((err: unknown) => {
      // The handler itself threw: API Gateway answers 500 with this body when a Lambda integration fails.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      }
      console.error('ingress handler threw:', err instanceof Error ? err.message : err);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, handler: HttpHandler): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > API_GATEWAY_MAX_BODY) {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
      req.destroy();
      return;
    }
    chunks.push(chunk as Buffer);
  }
  if (!requestUrl(req.url)) {
    // A request target no URL parser accepts: API Gateway refuses it before any integration runs.
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Bad Request' }));
    return;
  }
  const result = await handler(toEvent(req, Buffer.concat(chunks)));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  const body = result.body ?? '';
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
}

/**
 * The URL of a request target: origin-form (`/path?query`, the usual) or absolute-form (`http://host/path`).
 * Resolving an origin-form target against a base, as `new URL(target, base)` does, would read `//x/y` as host `x`
 * and path `/y` (and throw on `//[`): it is prefixed with the origin instead, so `//x/y` stays a path.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  const t = target ?? '/';
  try {
    return t.startsWith('/') ? new URL(`http://localhost${t}`) : new URL(t);
  } catch {
    return undefined;
  }
}

/** Builds an API Gateway HTTP API (2.0) event from a node request. */
export function toEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = requestUrl(req.url);
  if (!url) throw new TypeError(`not a request target: ${req.url}`);
  const headers: Record<string, string> = {};
  // rawHeaders keeps repeats; API Gateway joins a repeated header's values with commas.
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const now = new Date();
  const text = isTextual(headers['content-type']);
  return {
    version: '2.0',
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${url.pathname}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0
      ? text
        ? { body: body.toString('utf8'), isBase64Encoded: false }
        : { body: body.toString('base64'), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  };
}
