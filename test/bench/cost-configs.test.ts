/**
 * The cost model over the two synthesized templates the bench prices (bench/cost.ts COST_CONFIGS): the default
 * config and config/lean.example.json. What each line depends on is read from the template, so a config change
 * shows up in the figures without anyone editing the model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COST_CONFIGS, loadPrices } from '../../bench/cost';
import { costPerMillion, logBytesPerEvent, type Usage } from '../../bench/cost-model';
import { readDeployment, synthTemplate, type Template } from '../../bench/deployment';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

const prices = loadPrices();
const usage: Usage = {
  webhookBytes: 1_500,
  ingressBilledMs: 3,
  processorBilledMs: 150,
  recordsPerInvocation: 9,
  sqsMessageBytes: 1_900,
  eventBridgeEntryBytes: 1_500,
  dynamoWritesPerEvent: 2,
  dynamoItemBytes: 200,
  logBytesPerEvent: { ingress: 280, processor: 120, apiAccess: 205 },
  monthlyWebhooks: 1_000_000,
};

const templates = Object.fromEntries(
  COST_CONFIGS.map((c) => [
    c.name,
    synthTemplate(c.file ? JSON.parse(readFileSync(join(PROJECT_ROOT, c.file), 'utf8')) : {}),
  ]),
) as Record<(typeof COST_CONFIGS)[number]['name'], Template>;

const component = (lines: { component: string; dollars: number }[], prefix: string) =>
  lines.find((l) => l.component.startsWith(prefix))?.dollars;

/** Whether the template's function named *suffix has active tracing, read straight from its properties. */
function tracedInTemplate(template: Template, suffix: string): boolean {
  const fn = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.FunctionName).endsWith(suffix),
  );
  return (fn?.Properties?.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active';
}

describe('the cost of the two configurations, each from its own template', () => {
  const deployed = { default: readDeployment(templates.default), lean: readDeployment(templates.lean) };

  it('reads the default as an HTTP API with access logs and an EventBridge sink', () => {
    expect(deployed.default).toMatchObject({ api: 'http', apiAccessLogs: true, eventSink: true });
  });

  it('reads the lean config as a function URL without access log or sink', () => {
    expect(deployed.lean).toMatchObject({ api: 'function-url', apiAccessLogs: false, eventSink: false });
  });

  it('prices no API Gateway and no PutEvents for the lean config, and the same for the rest', () => {
    const full = costPerMillion(deployed.default, usage, prices);
    const lean = costPerMillion(deployed.lean, usage, prices);
    expect(component(full.lines, 'API Gateway (HTTP API)')).toBeCloseTo(1.0);
    expect(component(full.lines, 'EventBridge')).toBeCloseTo(1.0);
    expect(component(lean.lines, 'API Gateway')).toBeUndefined();
    expect(component(lean.lines, 'EventBridge')).toBeUndefined();
    expect(component(lean.lines, 'Lambda function URL')).toBe(0);
    for (const shared of ['Lambda ingress', 'Lambda processor', 'SQS', 'DynamoDB', 'Secrets Manager']) {
      expect(component(lean.lines, shared)).toBeCloseTo(component(full.lines, shared)!, 9);
    }
    const accessLogDollars =
      ((1e6 * usage.logBytesPerEvent.apiAccess) / 1024 ** 3) * prices.cloudWatchLogs.ingestionPerGB;
    expect(full.total - lean.total).toBeCloseTo(2.0 + accessLogDollars, 6);
  });

  it('counts the access log bytes only where the template has an access-logged stage', () => {
    expect(logBytesPerEvent(deployed.default, usage).apiAccess).toBe(205);
    expect(logBytesPerEvent(deployed.lean, usage).apiAccess).toBe(0);
  });

  it('bills X-Ray exactly when the template turns tracing on', () => {
    for (const name of ['default', 'lean'] as const) {
      const template = templates[name];
      const shape = deployed[name];
      expect(shape.ingress.tracing).toBe(tracedInTemplate(template, '-ingress'));
      expect(shape.processor.tracing).toBe(tracedInTemplate(template, '-processor'));
      const xray = costPerMillion(shape, usage, prices).xray.dollars;
      expect(xray > 0).toBe(shape.ingress.tracing || shape.processor.tracing);
    }
  });
});
