// Prometheus metrics, one registry per server instance (so several can live in one process, as in tests).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'http_server_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Time from request to response, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly sessionsIngested = new Counter({
    name: 'sessions_ingested_total',
    help: 'Session summaries committed (inserted or replaced or acknowledged as older).',
    registers: [this.registry],
  });
  readonly sessionsRejected = new Counter({
    name: 'sessions_rejected_total',
    help: 'Session ingestion requests refused, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly dbWriteBatchSize = new Histogram({
    name: 'db_write_batch_size',
    help: 'Sessions per group-committed transaction.',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [this.registry],
  });
  readonly dbQueryDuration = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'Database operation time, by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  /** Reads the live tracker's size at scrape time (set by whoever owns the tracker). */
  openPlaysSource: () => number = () => 0;
  readonly livePlaysOpen = new Gauge({
    name: 'live_play_sessions_open',
    help: 'Play sessions open in the live tracker, all apps.',
    registers: [this.registry],
    collect: () => {
      this.livePlaysOpen.set(this.openPlaysSource());
    },
  });
  readonly playEventsRejected = new Counter({
    name: 'webhook_events_rejected_total',
    help: 'Webhook events refused, by reason (invalid, open_plays_cap, app_open_plays_cap, events_per_minute).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
