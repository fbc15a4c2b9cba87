/**
 * One cold path, in the fresh Node process bench/cold-path.ts starts for it: import a Lambda module, then run its
 * handler once on the event in COLD_PATH_EVENT, as Lambda does for a cold start's first request. Prints the wall and
 * CPU milliseconds of each part (CPU: process.cpuUsage, user + system, every thread of this process) and the answer.
 *
 * Usage: node cold-path-child.mjs <file URL of the module>
 */
const moduleUrl = process.argv[2];
const event = JSON.parse(process.env.COLD_PATH_EVENT ?? 'null');
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'cold-path',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cold-path',
  memoryLimitInMB: '256',
  awsRequestId: '00000000-0000-4000-8000-000000000000',
  logGroupName: '/aws/lambda/cold-path',
  logStreamName: 'cold-path',
  getRemainingTimeInMillis: () => 10_000,
  done() {},
  fail() {},
  succeed() {},
};
const cpuMs = (c) => (c.user + c.system) / 1000;

const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(moduleUrl);
const t1 = performance.now();
const c1 = process.cpuUsage();
const answer = await mod.handler(event, context);
const t2 = performance.now();
const c2 = process.cpuUsage();

process.stdout.write(
  `\n${JSON.stringify({
    importMs: t1 - t0,
    importCpuMs: cpuMs(c1) - cpuMs(c0),
    requestMs: t2 - t1,
    requestCpuMs: cpuMs(c2) - cpuMs(c1),
    answer,
  })}\n`,
);
// Keep-alive sockets would hold the process open; Lambda freezes it instead.
process.exit(0);
