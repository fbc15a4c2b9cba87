/**
 * The CloudWatch namespace of every custom metric the Lambdas emit (EMF through Powertools Metrics). The alarms and
 * the dashboard read the same constant, and NodeFunction sets POWERTOOLS_METRICS_NAMESPACE to it, so a metric and
 * the alarm on it cannot drift apart.
 *
 * Powertools adds a `service` dimension (POWERTOOLS_SERVICE_NAME, which NodeFunction sets to the function name) to
 * every metric; WebhookRejected adds `Reason`, ProcessingFailed `Kind`, RotationFailed `Secret`.
 */
export const METRICS_NAMESPACE = 'StripeWebhooks';
