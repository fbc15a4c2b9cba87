/**
 * The library as a consumer gets it: `npm pack` (which builds dist/), a fresh CDK app in a temporary folder that
 * installs the tarball with aws-cdk-lib, constructs, TypeScript and @types/node (from the npm cache when they are there), type-checks
 * an app that uses StripeWebhooks with a handler Lambda against the shipped declarations, and synthesizes it offline
 * with the CDK CLI. Nothing of this repository is on the consumer's module path but the tarball.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

const work = mkdtempSync(join(tmpdir(), 'stripe-webhooks-consumer-'));
const appDir = join(work, 'app');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function installedVersion(pkg: string): string {
  return (
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

/** The environment of a child process with no AWS settings or credentials at all. */
function envWithoutAws(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')),
  );
}

/** Runs a command; a failure shows its output (a tsc or synth error is the point of this test). */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      env: envWithoutAws(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

const PACKAGE_NAME = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string }).name;

/** The consumer's app: what docs/library.md shows. */
const APP_TS = `import { App, Duration, Stack } from 'aws-cdk-lib';
import { Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { StripeWebhooks } from '${PACKAGE_NAME}';

const app = new App();
const stack = new Stack(app, 'Payments', { env: { region: 'eu-west-1' } });
const webhooks = new StripeWebhooks(stack, 'Stripe', { appName: 'payments', removalPolicy: 'destroy' });
const fulfil = new Function(stack, 'Fulfil', {
  runtime: Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: Code.fromInline('exports.handler = async (input) => ({ fulfilled: input.event.id })'),
  timeout: Duration.seconds(10),
});
webhooks.addHandler({ name: 'fulfil', eventTypes: ['checkout.session.completed'], handler: fulfil });
// The consumer's own alarm wiring reads the typed properties.
const urls: string[] = [webhooks.queue.queueUrl, webhooks.deadLetterQueue.queueUrl, webhooks.webhookUrl];
const topic: string = webhooks.alarmTopic.topicArn;
const table: string = webhooks.table.tableName;
// undefined with eventSink.enabled: false.
const bus: string | undefined = webhooks.eventBus?.eventBusName;
void [urls, topic, table, bus];
`;

/** A Node handler Lambda written against \`<package>/runtime\`, type-checked like the app. */
const HANDLER_TS = `import { PermanentHandlerError, stripeHandler } from '${PACKAGE_NAME}/runtime';

export const handler = stripeHandler<{ id: string; payment_status?: string }>(async ({ object, idempotencyKey }) => {
  if (!object) throw new PermanentHandlerError('no session');
  return { session: object.id, paid: object.payment_status === 'paid', idempotencyKey };
});
`;

let template: Template;
let assetDirs: string[];

beforeAll(() => {
  run('npm', ['pack', '--pack-destination', work, '--silent'], PROJECT_ROOT);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');
  run('mkdir', ['-p', appDir], work);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(
    join(appDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        // aws-cdk-lib's declarations use Disposable; the consumer's declarations are checked in full (no skipLibCheck).
        lib: ['ES2022', 'ESNext.Disposable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        outDir: '.',
      },
      files: ['app.ts', 'handler.ts'],
    }),
  );
  writeFileSync(join(appDir, 'app.ts'), APP_TS);
  writeFileSync(join(appDir, 'handler.ts'), HANDLER_TS);
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--silent',
      join(work, tarball),
      `aws-cdk-lib@${installedVersion('aws-cdk-lib')}`,
      `constructs@${installedVersion('constructs')}`,
      `typescript@${installedVersion('typescript')}`,
      `@types/node@${installedVersion('@types/node')}`,
    ],
    appDir,
  );
  run(process.execPath, [join(appDir, 'node_modules/typescript/bin/tsc'), '-p', '.'], appDir);
  run(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--app', 'node app.js', '-o', 'cdk.out', '--quiet'],
    appDir,
  );
  template = Template.fromJSON(JSON.parse(readFileSync(join(appDir, 'cdk.out', 'Payments.template.json'), 'utf8')));
  assetDirs = readdirSync(join(appDir, 'cdk.out')).filter((d) => d.startsWith('asset.'));
});

describe('a fresh CDK app using the packed library', () => {
  it('installs no Lambda sources and none of the Lambdas runtime dependencies', () => {
    const installed = join(appDir, 'node_modules', PACKAGE_NAME);
    expect(existsSync(join(installed, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(installed, 'lambdas'))).toBe(false);
    for (const dep of ['stripe', '@aws-sdk/client-sqs', '@middy/core', 'esbuild']) {
      expect(existsSync(join(appDir, 'node_modules', dep)), dep).toBe(false);
    }
  });

  it("synthesizes one region's pipeline in the consumer's stack", () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'payments-events.fifo', FifoQueue: true });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'payments-events-dlq.fifo', FifoQueue: true });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: 'payments-idempotency' });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'payments-events' });
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payments-processor',
      Handler: 'index.handler',
      Code: { S3Key: Match.stringLikeRegexp('\\.zip$') },
    });
  });

  it('lets the processor invoke the handler Lambda, and only it', () => {
    const fns = template.findResources('AWS::Lambda::Function');
    const fulfilId = Object.keys(fns).find((id) => id.startsWith('Fulfil'));
    const processor = Object.entries(fns).find(
      ([, f]) => (f as { Properties: { FunctionName?: string } }).Properties.FunctionName === 'payments-processor',
    );
    expect(fulfilId).toBeDefined();
    const roleId = (processor![1] as { Properties: { Role: { 'Fn::GetAtt': [string] } } }).Properties.Role[
      'Fn::GetAtt'
    ][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .map(
        (p) =>
          p as {
            Properties: {
              Roles: { Ref: string }[];
              PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] };
            };
          },
      )
      .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st) => [st.Action].flat().includes('lambda:InvokeFunction'));
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0]!.Resource)).toContain(fulfilId!);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'payments-handler-fulfil-errors' });
  });

  it('runs a handler written against ./runtime through the contract', async () => {
    const { handler } = (await import(join(appDir, 'handler.js'))) as { handler: (input: unknown) => Promise<unknown> };
    const input = {
      version: 1,
      handler: 'fulfil',
      event: {
        id: 'evt_1',
        type: 'checkout.session.completed',
        livemode: false,
        created: 1,
        objectRef: null,
        source: 'webhook',
      },
      object: { id: 'cs_1', payment_status: 'paid' },
      objectOrigin: 'fetched',
      idempotencyKey: 'evt_1',
      attempt: 1,
    };
    expect(await handler(input)).toEqual({ session: 'cs_1', paid: true, idempotencyKey: 'evt_1' });
    await expect(handler({ ...input, object: null })).rejects.toMatchObject({ name: 'PermanentHandlerError' });
  });

  it('ships each Lambda as a prebuilt bundle (index.mjs), built from nothing at the consumer', () => {
    const bundles = assetDirs.filter((d) => existsSync(join(appDir, 'cdk.out', d, 'index.mjs')));
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => (f as { Properties: { Handler?: string } }).Properties.Handler === 'index.handler',
    );
    expect(fns.length).toBeGreaterThanOrEqual(4);
    expect(bundles.length).toBeGreaterThanOrEqual(4);
  });

  it('loads from a CommonJS consumer too (require of the ESM package)', () => {
    const out = run(process.execPath, ['-e', `console.log(typeof require('${PACKAGE_NAME}').StripeWebhooks)`], appDir);
    expect(out.trim()).toBe('function');
  });
});
