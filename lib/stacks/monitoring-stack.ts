/**
 * `<appName>-monitoring`, in us-east-1: the Route 53 health check alarms of an app whose primary region is not
 * us-east-1 (Route 53 publishes HealthCheckStatus there only, and an alarm watches metrics of its own region). It
 * holds those alarms and their topic, nothing else; the health check ids come from the regional stacks through CDK's
 * cross-region references (lib/stacks/cross-region-references.ts), so it deploys after them.
 */
import { Aspects, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StripeWebhooksConfig } from '../config';
import { AppWideAcknowledgements } from '../constructs/app-wide-acknowledgements';
import { HealthCheckAlarms, type RegionHealthCheck, ROUTE53_METRICS_REGION } from '../constructs/health-check-alarms';
import { finishCrossRegionReferences } from './cross-region-references';

/** Props of MonitoringStack. */
export interface MonitoringStackProps extends StackProps {
  readonly config: StripeWebhooksConfig;
  /** Every region's health check. */
  readonly healthChecks: readonly RegionHealthCheck[];
}

/** The health check alarms (and their topic) of an app without a us-east-1 primary. */
export class MonitoringStack extends Stack {
  readonly healthCheckAlarms: HealthCheckAlarms;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    const { config, healthChecks, ...stackProps } = props;
    super(scope, id, {
      description: `Stripe webhooks (${config.appName}): Route 53 health check alarms (metrics live in ${ROUTE53_METRICS_REGION})`,
      crossRegionReferences: true,
      ...stackProps,
      env: { ...stackProps.env, region: ROUTE53_METRICS_REGION },
    });
    this.healthCheckAlarms = new HealthCheckAlarms(this, 'HealthCheckAlarms', {
      appName: config.appName,
      healthChecks,
      runbookBaseUrl: config.alarms.runbookBaseUrl,
      ...(config.alarms.email ? { email: config.alarms.email } : {}),
      removalPolicy:
        config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    Aspects.of(this).add(new AppWideAcknowledgements());
    finishCrossRegionReferences(this);
  }
}
