/**
 * The handler Lambdas of a StripeWebhooks pipeline (`addHandler`): what the processor invokes after
 * fetch-before-process, under the contract of lambdas/handler-lambdas/contract.ts. For each handler: synth-time
 * checks (name, event types the pipeline subscribes to, a timeout that fits the processor's), the one permission the
 * processor needs (lambda:InvokeFunction on exactly the registered functions), a log group of its own with the
 * pipeline's retention, an alarm on its errors and a dashboard row.
 *
 * Timeouts: a handler's invocation must end inside the processor's (the processor starts none with less than the
 * handler's timeout left), and the queue's visibility timeout (6x the processor's, EventQueue) covers a processor
 * invocation whatever its handlers do, so a message is never handed out again while its handlers still run.
 */
import { Duration, Lazy, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { GraphWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnFunction, type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  HANDLER_TIMEOUT_MARGIN_SECONDS,
  type HandlerTarget,
  matchesEventType,
} from '../../lambdas/processor/handler-lambdas';
import type { Alarms } from './alarms';
import type { StripeWebhooksDashboard } from './dashboard';
import type { Processor } from './processor';

/** What `StripeWebhooks.addHandler` takes. */
export interface AddHandlerOptions {
  /** The Lambda function to invoke, in any runtime (see docs/handler-lambdas.md for the contract). */
  readonly handler: IFunction;
  /**
   * Event types it receives: exact types (`checkout.session.completed`), `prefix.*` (`invoice.*`) or `*`. Each must
   * match a type the pipeline subscribes to (`eventTypes`).
   */
  readonly eventTypes: readonly string[];
  /**
   * Its name in logs, metrics, alarms and DLQ reasons: letters, digits, `-` and `_`, 1..40 characters, unique.
   * @default - the handler's construct id
   */
  readonly name?: string;
  /**
   * The handler's timeout, needed when `handler` is not a lambda.Function of this app (an imported function).
   * @default - the function's own timeout
   */
  readonly timeout?: Duration;
}

/** One registered handler. */
export interface RegisteredHandler {
  readonly name: string;
  readonly function: IFunction;
  readonly eventTypes: readonly string[];
  readonly timeout: Duration;
  /** Its log group, when this construct created it (a lambda.Function without its own log group). */
  readonly logGroup?: LogGroup;
}

export interface HandlerLambdasProps {
  readonly appName: string;
  readonly processor: Processor;
  readonly processorTimeout: Duration;
  /** The event types the pipeline subscribes to. */
  readonly subscribedTypes: readonly string[];
  readonly alarms: Alarms;
  readonly dashboard: StripeWebhooksDashboard;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/** Most characters HANDLER_LAMBDAS may take (estimated at synth: function ARNs are tokens then). */
export const MAX_HANDLER_LAMBDAS_CHARS = 3_000;
/** The length of a function ARN in the estimate (`arn:aws:lambda:<region>:<account>:function:<64 chars>`). */
const ARN_CHARS = 120;

const NAME = /^[A-Za-z0-9_-]{1,40}$/;
const EVENT_TYPE = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

/** The handler Lambdas of one pipeline. */
export class HandlerLambdas extends Construct {
  readonly handlers: RegisteredHandler[] = [];
  private readonly props: HandlerLambdasProps;

  constructor(scope: Construct, id: string, props: HandlerLambdasProps) {
    super(scope, id);
    this.props = props;
    const stack = Stack.of(this);
    props.processor.function.addEnvironment(
      'HANDLER_LAMBDAS',
      Lazy.string({
        produce: () =>
          stack.toJsonString(
            this.handlers.map(
              (h): HandlerTarget => ({
                name: h.name,
                functionName: h.function.functionArn,
                eventTypes: h.eventTypes,
                timeoutMs: h.timeout.toMilliseconds(),
              }),
            ),
          ),
      }),
    );
  }

  /** Registers a handler; throws an Error naming the handler and the fix when it cannot work. */
  add(options: AddHandlerOptions): RegisteredHandler {
    const name = options.name ?? options.handler.node.id;
    const fail = (problem: string): never => {
      throw new Error(`addHandler ${name}: ${problem}`);
    };
    if (!NAME.test(name)) fail('the name must be 1..40 letters, digits, "-" or "_" (pass `name`)');
    if (this.handlers.some((h) => h.name === name)) fail('a handler of that name is already registered');
    if (options.eventTypes.length === 0) fail('eventTypes must list at least one event type');
    for (const type of options.eventTypes) {
      if (!EVENT_TYPE.test(type)) fail(`${type} is not an event type, "prefix.*" or "*"`);
      const subscribed = this.props.subscribedTypes.some(
        (s) => s === '*' || matchesEventType([type], s) || matchesEventType([s], type),
      );
      if (!subscribed) {
        fail(`${type} matches none of the event types the pipeline subscribes to (eventTypes): add it there`);
      }
    }
    const fnTimeout = options.handler instanceof LambdaFunction ? options.handler.timeout : undefined;
    const timeout =
      options.timeout ?? fnTimeout ?? (options.handler instanceof LambdaFunction ? Duration.seconds(3) : undefined);
    if (timeout === undefined) fail('pass `timeout`: the timeout of an imported function is not known at synth');
    const seconds = (timeout as Duration).toSeconds();
    const budget = this.props.processorTimeout.toSeconds();
    if (seconds + HANDLER_TIMEOUT_MARGIN_SECONDS > budget) {
      fail(
        `its timeout (${seconds} s) must leave ${HANDLER_TIMEOUT_MARGIN_SECONDS} s of the processor's (${budget} s): ` +
          `set processor.timeoutSeconds to at least ${seconds + HANDLER_TIMEOUT_MARGIN_SECONDS} (the queue's visibility timeout follows, 6x)`,
      );
    }
    const registered: RegisteredHandler = {
      name,
      function: options.handler,
      eventTypes: [...options.eventTypes],
      timeout: timeout as Duration,
      ...this.ownLogGroup(name, options.handler),
    };
    this.handlers.push(registered);
    const estimate = this.handlers.reduce(
      (n, h) => n + ARN_CHARS + h.name.length + h.eventTypes.join('","').length + 70,
      2,
    );
    if (estimate > MAX_HANDLER_LAMBDAS_CHARS) {
      fail(
        `too many handlers for the processor's environment (about ${estimate} of ${MAX_HANDLER_LAMBDAS_CHARS} characters): combine some`,
      );
    }
    // Exactly this function (and its versions and aliases), for the processor only.
    options.handler.grantInvoke(this.props.processor.function);
    this.props.alarms.addHandlerErrorsAlarm(name, options.handler);
    this.props.dashboard.dashboard.addWidgets(
      new GraphWidget({
        title: `Handler ${name}: invocations, errors, p99 duration`,
        width: 24,
        left: [
          options.handler.metricInvocations({ statistic: 'Sum' }),
          options.handler.metricErrors({ statistic: 'Sum' }),
        ],
        right: [options.handler.metricDuration({ statistic: 'p99' })],
      }),
    );
    return registered;
  }

  /**
   * A log group of its own for a lambda.Function of this app that has none configured
   * (`/stripe-webhooks/<appName>/handler/<name>`, the pipeline's retention), so its logs are kept as long as the
   * pipeline's and found by name; a function with its own log group, or an imported one, keeps what it has.
   */
  private ownLogGroup(name: string, fn: IFunction): { logGroup?: LogGroup } {
    if (!(fn instanceof LambdaFunction)) return {};
    const cfn = fn.node.defaultChild;
    if (!(cfn instanceof CfnFunction)) return {};
    const current = cfn.loggingConfig;
    if (Token.isUnresolved(current)) return {};
    const config = (current ?? {}) as CfnFunction.LoggingConfigProperty;
    if (config.logGroup !== undefined) return {};
    const logGroup = new LogGroup(this, `LogGroup-${name}`, {
      logGroupName: `/stripe-webhooks/${this.props.appName}/handler/${name}`,
      retention: this.props.logRetention,
      removalPolicy: this.props.logRemovalPolicy,
    });
    cfn.loggingConfig = { ...config, logGroup: logGroup.logGroupName };
    logGroup.grantWrite(fn);
    return { logGroup };
  }
}
