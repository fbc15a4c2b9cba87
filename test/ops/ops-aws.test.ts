/**
 * The operator CLI's AWS target. fauxqs has no StartMessageMoveTask / ListMessageMoveTasks, so SQS is mocked here
 * (aws-sdk-client-mock) and only here, with CloudFormation (no stand-in exists for either call).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runOps } from '../../ops/cli';
import { fromStackOutputs, type TargetDeps } from '../../ops/target';
import { synthRegionalStack } from '../infra/helpers';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/stripe-events.fifo';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/stripe-events-dlq.fifo';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:stripe-events.fifo';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:stripe-events-dlq.fifo';

const sqsMock = mockClient(SQSClient);
const cfnMock = mockClient(CloudFormationClient);

beforeEach(() => {
  sqsMock.reset();
  cfnMock.reset();
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: QUEUE_URL }).resolves({ Attributes: { QueueArn: QUEUE_ARN } });
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({ Attributes: { QueueArn: DLQ_ARN } });
});
afterEach(() => {
  sqsMock.reset();
});

/** No local pipeline running; no AWS settings in the environment unless given. */
async function ops(argv: string[], deps: Partial<TargetDeps> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(
    argv,
    { out: (t) => out.push(t), err: (t) => err.push(t) },
    { findRunning: async () => undefined, env: {}, ...deps },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const awsFlags = ['--region', 'eu-west-1', '--queue-url', QUEUE_URL, '--dlq-url', DLQ_URL, '--table', 'idem'];

describe('npm run ops, against AWS', () => {
  it('dlq redrive starts an SQS message move task from the DLQ to the event queue', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-123' });

    const res = await ops(['dlq', 'redrive', '--rate', '10', ...awsFlags]);

    expect(res.code).toBe(0);
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).toEqual([
      { SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN, MaxNumberOfMessagesPerSecond: 10 },
    ]);
    expect(res.out).toContain('task-123');
    expect(res.err).toContain('target: AWS eu-west-1');
  });

  it('dlq redrive-status lists the move tasks of the DLQ', async () => {
    sqsMock.on(ListMessageMoveTasksCommand).resolves({
      Results: [
        {
          Status: 'RUNNING',
          ApproximateNumberOfMessagesMoved: 3,
          ApproximateNumberOfMessagesToMove: 7,
          StartedTimestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
          SourceArn: DLQ_ARN,
        },
      ],
    });

    const res = await ops(['dlq', 'redrive-status', '--json', ...awsFlags]);

    expect(res.code).toBe(0);
    expect(sqsMock.commandCalls(ListMessageMoveTasksCommand)[0]?.args[0].input).toMatchObject({ SourceArn: DLQ_ARN });
    expect(JSON.parse(res.out)).toEqual([
      { status: 'RUNNING', moved: 3, toMove: 7, startedAt: '2026-01-02T03:04:05.000Z' },
    ]);
  });

  it("takes the queues and table from the regional stack's own outputs with --stack", async () => {
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-from-stack' });
    // The output ids the RegionalStack really declares, with the values CloudFormation would resolve them to.
    const values: Record<string, string> = {
      EventQueueUrl: QUEUE_URL,
      DeadLetterQueueUrl: DLQ_URL,
      IdempotencyTableName: 'stripe-webhooks-idempotency',
      ApiKeySecretName: 'stripe-webhooks/stripe-api-key',
    };
    const declared = Object.keys(synthRegionalStack().template.findOutputs('*'));
    expect(declared).toEqual(expect.arrayContaining(Object.keys(values)));
    const outputs = Object.fromEntries(declared.map((k) => [k, values[k] ?? `value-of-${k}`]));
    const asked: Array<[string, string | undefined]> = [];

    const res = await ops(['dlq', 'redrive', '--stack', 'stripe-webhooks-eu-west-1', '--region', 'eu-west-1'], {
      stackOutputs: async (stack, region) => {
        asked.push([stack, region]);
        return outputs;
      },
    });

    expect(res.code).toBe(0);
    expect(asked).toEqual([['stripe-webhooks-eu-west-1', 'eu-west-1']]);
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toMatchObject({
      SourceArn: DLQ_ARN,
      DestinationArn: QUEUE_ARN,
    });
    expect(fromStackOutputs(outputs)).toEqual({
      queueUrl: QUEUE_URL,
      dlqUrl: DLQ_URL,
      tableName: 'stripe-webhooks-idempotency',
      secretId: 'stripe-webhooks/stripe-api-key',
    });
  });

  it('says what is missing when there is neither a local pipeline nor AWS settings', async () => {
    const res = await ops(['dlq', 'list']);
    expect(res.code).toBe(1);
    expect(res.err).toContain('--queue-url / QUEUE_URL');
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('--stack reads the queue URLs from the stack outputs through CloudFormation DescribeStacks', async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: 'stripe-webhooks-eu-west-1' }).resolves({
      Stacks: [
        {
          StackName: 'stripe-webhooks-eu-west-1',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'EventQueueUrl', OutputValue: QUEUE_URL },
            { OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ_URL },
            { OutputKey: 'IdempotencyTableName', OutputValue: 'idem' },
          ],
        },
      ],
    });
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-456' });

    const res = await ops(['dlq', 'redrive', '--stack', 'stripe-webhooks-eu-west-1', '--region', 'eu-west-1']);

    expect(res.code).toBe(0);
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).toEqual([
      { SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN },
    ]);
  });
});

describe('stack outputs', () => {
  it('tells the DLQ URL from the queue URL whatever prefix CDK gave the output ids', () => {
    expect(
      fromStackOutputs({
        RegionalDeadLetterQueueUrl9F: DLQ_URL,
        RegionalEventQueueUrl1A: QUEUE_URL,
        TableName: 'idem',
        Unrelated: 'x',
      }),
    ).toEqual({ dlqUrl: DLQ_URL, queueUrl: QUEUE_URL, tableName: 'idem' });
  });
});
