/**
 * The sink of processed events: a custom EventBridge bus. Product teams subscribe with rules on it (detail-type =
 * Stripe event type), so new consumers never touch the pipeline. Optionally archived, so a consumer that was down
 * or buggy can replay what it missed.
 */
import { type Duration, Stack } from 'aws-cdk-lib';
import { type Archive, EventBus } from 'aws-cdk-lib/aws-events';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Props of an EventSink. */
export interface EventSinkProps {
  /** Explicit bus name (consumers in other stacks and accounts reference it by name). */
  readonly eventBusName: string;
  /** Archive every event on the bus for this long, for replay. @default - no archive */
  readonly archiveRetention?: Duration;
}

/** The EventBridge bus processed Stripe events are published to. */
export class EventSink extends Construct {
  /** The custom bus (`<appName>-events`). */
  readonly bus: EventBus;
  /** The archive of the bus, when `archiveRetention` is set. */
  readonly archive?: Archive;

  constructor(scope: Construct, id: string, props: EventSinkProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName,
      description: 'Processed Stripe events (detail-type = Stripe event type, detail = the freshly fetched object)',
    });
    if (props.archiveRetention !== undefined && props.archiveRetention.toDays() > 0) {
      this.archive = this.bus.archive('Archive', {
        description: `Every event on ${props.eventBusName}, for replay`,
        eventPattern: { account: [Stack.of(this).account] },
        retention: props.archiveRetention,
      });
    }
  }

  /** Lets `grantee` publish to the bus (events:PutEvents on this bus only). */
  grantPublish(grantee: IGrantable): Grant {
    return this.bus.grantPutEventsTo(grantee);
  }
}
