import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { reconcilerEnv } from '../../lambdas/reconciler/env';
import { DEFAULT_EVENT_TYPES } from '../../lib/config';
import { EventQueue } from '../../lib/constructs/event-queue';
import { IdempotencyTable } from '../../lib/constructs/idempotency-table';
import { Reconciler } from '../../lib/constructs/reconciler';
import { StripeSecrets } from '../../lib/constructs/stripe-secrets';
import {
  actionsOn,
  environmentOf,
  logicalId,
  NO_BUNDLING,
  onlyResource,
  statementsOfFunction,
  synthRegionalStack,
} from './helpers';

const { template, stack } = synthRegionalStack();
const FN = 'stripe-webhooks-reconciler';

function reconciler() {
  if (!stack.reconciler) throw new Error('the default config deploys the reconciler');
  return stack.reconciler;
}

describe('Reconciler schedule', () => {
  it('runs the function every 15 minutes through EventBridge Scheduler, with no retries', () => {
    const { props } = onlyResource(template, 'AWS::Scheduler::Schedule');
    expect(props).toMatchObject({
      Name: FN,
      ScheduleExpression: 'rate(15 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(reconciler().function), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [logicalId(reconciler().scheduleRole), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
      },
    });
  });

  it('takes the interval from the config', () => {
    const five = synthRegionalStack({ reconcile: { intervalMinutes: 5 } }).template;
    expect(onlyResource(five, 'AWS::Scheduler::Schedule').props.ScheduleExpression).toBe('rate(5 minutes)');
    const one = synthRegionalStack({ reconcile: { intervalMinutes: 1 } }).template;
    expect(onlyResource(one, 'AWS::Scheduler::Schedule').props.ScheduleExpression).toBe('rate(1 minute)');
  });

  it('invokes through a dedicated role that may invoke this function only (no versions or aliases)', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' } }],
      },
    });
    const roleId = logicalId(reconciler().scheduleRole);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{
      Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: unknown[] } };
    }>;
    const statements = policies
      .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(reconciler().function), 'Arn'] },
      },
    ]);
  });

  it('is not deployed when reconcile.enabled is false', () => {
    const off = synthRegionalStack({ reconcile: { enabled: false } });
    expect(off.stack.reconciler).toBeUndefined();
    off.template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    expect(
      Object.keys(off.template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: FN } })),
    ).toEqual([]);
  });
});

describe('Reconciler Lambda', () => {
  it("gets the table, queue, API key secret, pacing and the webhook endpoint's event types", () => {
    expect(environmentOf(template, FN)).toMatchObject({
      TABLE_NAME: { Ref: logicalId(stack.idempotencyTable.table) },
      QUEUE_URL: { Ref: logicalId(stack.eventQueue.queue) },
      STRIPE_API_KEY_SECRET_ID: 'stripe-webhooks/stripe-api-key',
      MAX_REQUESTS_PER_SECOND: '5',
      GRACE_SECONDS: '300',
      OVERLAP_SECONDS: '300',
      EVENT_TYPES: DEFAULT_EVENT_TYPES.join(','),
      // The lock outlives the 5-minute timeout.
      LOCK_SECONDS: '360',
    });
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: FN, Timeout: 300, MemorySize: 256 });
  });

  it('sets every required variable of lambdas/reconciler/env.ts', () => {
    const names = Object.keys(environmentOf(template, FN));
    const required = Object.entries(reconcilerEnv)
      .filter(([, spec]) => !('default' in spec) && !('optional' in spec && spec.optional))
      .map(([name]) => name);
    expect(required).toEqual(['TABLE_NAME', 'QUEUE_URL', 'DLQ_URL', 'STRIPE_API_KEY_SECRET_ID']);
    for (const name of required) expect(names).toContain(name);
  });

  it('reconciles every type when the endpoint subscribes to *, and takes pacing from the config', () => {
    const t = synthRegionalStack({
      eventTypes: ['*'],
      reconcile: { maxRequestsPerSecond: 2, graceSeconds: 600, overlapSeconds: 120 },
    }).template;
    const env = environmentOf(t, FN);
    expect(env).not.toHaveProperty('EVENT_TYPES');
    expect(env).toMatchObject({ MAX_REQUESTS_PER_SECOND: '2', GRACE_SECONDS: '600', OVERLAP_SECONDS: '120' });
  });

  it('reads any item of the table but writes only its lock and checkpoint items', () => {
    const statements = statementsOfFunction(template, FN);
    const tableId = logicalId(stack.idempotencyTable.table);
    expect(actionsOn(statements, tableId)).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const writes = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:UpdateItem'));
    expect(writes).toHaveLength(1);
    expect(writes[0]?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['reconciler#lock', 'reconciler#checkpoint'] },
    });
    const tableKey = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(stack.idempotencyTable.key)));
    expect(tableKey?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } });
  });

  it('may send to the event queue and its DLQ (events it must park) and read the API key, and nothing else', () => {
    const statements = statementsOfFunction(template, FN);
    expect(actionsOn(statements, logicalId(stack.eventQueue.queue))).toEqual(['sqs:SendMessage']);
    expect(actionsOn(statements, logicalId(stack.eventQueue.deadLetterQueue))).toEqual(['sqs:SendMessage']);
    expect(actionsOn(statements, logicalId(stack.secrets.apiKey))).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actionsOn(statements, logicalId(stack.secrets.webhookSecret))).toEqual([]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });
});

describe('Reconciler construct', () => {
  function parts() {
    const s = new Stack(new App({ context: NO_BUNDLING }), 'S');
    return {
      s,
      eventQueue: new EventQueue(s, 'Q', { namePrefix: 'x', processorTimeout: Duration.seconds(30) }),
      table: new IdempotencyTable(s, 'T', { tableName: 'x-idempotency', namePrefix: 'x' }),
      secrets: new StripeSecrets(s, 'Secrets', { appName: 'x' }),
    };
  }

  it('refuses an interval that is not whole minutes, and a timeout over 15 minutes', () => {
    const { s, ...rest } = parts();
    expect(() => new Reconciler(s, 'R', { appName: 'x', ...rest, interval: Duration.seconds(90) })).toThrow(
      /interval must be whole minutes/,
    );
    expect(() => new Reconciler(s, 'R2', { appName: 'x', ...rest, timeout: Duration.minutes(20) })).toThrow(
      /timeout must be 1..15 minutes/,
    );
  });
});
