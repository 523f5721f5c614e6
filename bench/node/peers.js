// The peer EMF libraries doing fitwatch's benchmark work: one namespace,
// dimension TrainingJobName, 8 metrics (units set, 2 high resolution),
// 2 properties, one flushed EMF line per evaluation, to stdout (the caller
// sends it to /dev/null). Time is measured in the process after a warm-up.
//
// usage: node peers.js aws-embedded-metrics|powertools EVALUATIONS
// prints {"peer", "evaluations", "ns_per_evaluation", "peak_rss_kb"} on stderr.
'use strict';
process.env.AWS_EMF_ENVIRONMENT = 'Local';
process.env.POWERTOOLS_DEV = '';
const NAMES = ['TrainLoss', 'ValidationLoss', 'TrainAccuracy', 'ValidationAccuracy',
  'GeneralizationGap', 'RiseStreak', 'SinceBest', 'OverfittingDetected'];
const value = (i, m) => 0.25 + 0.001 * (i % 100) + m;

async function embeddedMetrics(n) {
  const { createMetricsLogger, Unit, StorageResolution, Configuration } = require('aws-embedded-metrics');
  Configuration.namespace = 'FitWatch';
  const log = createMetricsLogger();
  log.setNamespace('FitWatch');
  log.setDimensions({ TrainingJobName: 'bench' });
  const one = async (i) => {
    log.setProperty('epoch', i);
    log.setProperty('learning_rate', 0.001);
    for (let m = 0; m < NAMES.length; ++m) {
      log.putMetric(NAMES[m], value(i, m), m === 2 || m === 3 ? Unit.Percent : Unit.None,
        m < 2 ? StorageResolution.High : StorageResolution.Standard);
    }
    await log.flush();
  };
  return one;
}

async function powertools(n) {
  const { Metrics, MetricUnit, MetricResolution } = require('@aws-lambda-powertools/metrics');
  const metrics = new Metrics({ namespace: 'FitWatch', serviceName: 'bench' });
  const one = async (i) => {
    metrics.addDimension('TrainingJobName', 'bench');
    metrics.addMetadata('epoch', i);
    metrics.addMetadata('learning_rate', 0.001);
    for (let m = 0; m < NAMES.length; ++m) {
      metrics.addMetric(NAMES[m], m === 2 || m === 3 ? MetricUnit.Percent : MetricUnit.NoUnit,
        value(i, m), m < 2 ? MetricResolution.High : MetricResolution.Standard);
    }
    metrics.publishStoredMetrics();
  };
  return one;
}

async function main() {
  const peer = process.argv[2];
  const n = Number(process.argv[3] || 200000);
  const one = peer === 'powertools' ? await powertools(n) : await embeddedMetrics(n);
  const warmup = Math.min(20000, n);
  for (let i = 0; i < warmup; ++i) await one(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; ++i) await one(i);
  const ns = Number(process.hrtime.bigint() - start);
  process.stderr.write(JSON.stringify({
    peer, evaluations: n, ns_per_evaluation: ns / n, peak_rss_kb: process.resourceUsage().maxRSS,
  }) + '\n');
}
main();
