/**
 * Live export without the OpenTelemetry SDK's tracing (the production preset, or LOOPLENS_TRACING=0) to
 * OTEL_EXPORTER_OTLP_ENDPOINT, through the SDK's own OTLP/HTTP exporters (JSON; the other OTEL_EXPORTER_OTLP_*
 * variables apply): every block as one log record (event name BLOCKED_EVENT, its route, function, duration, stack and
 * ids; the record's trace context is the sampled request's span, else the incoming trace id is an attribute), the
 * loop's metrics every OTEL_METRIC_EXPORT_INTERVAL ms (default 10 s) under their semantic-convention names, and
 * looplens' blocked time by route and function. Loaded only when an endpoint is set; nothing here runs per request:
 * blocks are exported as their stacks are resolved (start.ts: every LOOPLENS_ROTATE_S, and at exit).
 * Resource: service.name, service.instance.id (host/pid, /thread in a worker thread), process.pid — how a collector
 * tells a fleet's instances apart.
 */
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { BlockingEvent, EventLoopSample } from '../profiles/contract/types.js';
import { BLOCKED_EVENT, BLOCKED_EVENT_FIELDS as F, BLOCKED_LOG_ATTRIBUTES as A, LOOP_METRICS } from '../profiles/contract/semconv.js';

export interface LiveExport {
  /** One resolved block (its stack known). */
  block(event: BlockingEvent): void;
  /** Sends what is batched (logs, and the metrics as of now), bounded in time. */
  flush(timeoutMs: number): Promise<void>;
}

export interface ExportOptions {
  serviceName: string;
  /** The latest event-loop sample (EventLoopSampler.last). */
  loop(): EventLoopSample | null;
}

const DELAY_KEYS = ['min', 'max', 'mean', 'p50', 'p90', 'p99'] as const;

/** "GET /users/:id" → method and route; null when the block ran in no request. */
function splitRoute(route: string | null): { method: string; route: string } | null {
  if (!route) return null;
  const i = route.indexOf(' ');
  return i < 0 ? null : { method: route.slice(0, i), route: route.slice(i + 1) };
}

export function startExport(options: ExportOptions): LiveExport {
  const instance = `${hostname()}/${process.pid}${threadId ? `/${threadId}` : ''}`;
  const resource = resourceFromAttributes({ 'service.name': options.serviceName, 'service.instance.id': instance, 'process.pid': process.pid });
  const logs = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })] });
  const logger = logs.getLogger('looplens');
  const interval = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL) || 10_000;
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) });
  const meters = new MeterProvider({ resource, readers: [reader] });
  const meter = meters.getMeter('looplens');
  for (const key of DELAY_KEYS) {
    meter
      .createObservableGauge(`${LOOP_METRICS.delayPrefix}.${key}`, { unit: 's', description: `Event loop delay ${key} over the last second` })
      .addCallback((result) => {
        const s = options.loop();
        if (s) result.observe(s.delayMs[key] / 1000);
      });
  }
  meter
    .createObservableGauge(LOOP_METRICS.utilization, { unit: '1', description: 'Event loop utilization over the last second' })
    .addCallback((result) => {
      const s = options.loop();
      if (s) result.observe(s.utilization);
    });
  const blockedTime = meter.createCounter(LOOP_METRICS.blockedTime, { unit: 's', description: 'Time the event loop was blocked, by the route and function that blocked it' });
  const blocks = meter.createCounter(LOOP_METRICS.blocks, { unit: '{block}', description: 'Blocks of the event loop, by route and function' });

  let flushing: Promise<void> | null = null;
  return {
    block(e) {
      const r = splitRoute(e.route);
      const attributes: Record<string, string | number> = { [A.function]: e.topFrame };
      if (r) {
        attributes[A.method] = r.method;
        attributes[A.route] = r.route;
      }
      if (e.workItem) attributes[A.workItem] = e.workItem;
      blockedTime.add(e.durationMs / 1000, attributes);
      blocks.add(1, attributes);
      const record: Record<string, string | number> = {
        ...attributes,
        [F.durationMs]: e.durationMs,
        [F.topFrame]: e.topFrame,
        [F.blockId]: e.id ?? '',
        [F.stack]: e.frames.map((f) => `at ${f.functionName || '(anonymous)'} (${f.url}:${f.lineNumber})`).join('\n'),
      };
      const ctx =
        e.traceId && e.spanId
          ? trace.setSpanContext(ROOT_CONTEXT, { traceId: e.traceId, spanId: e.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true })
          : ROOT_CONTEXT;
      if (e.traceId && !e.spanId) record[A.traceId] = e.traceId;
      logger.emit({ eventName: BLOCKED_EVENT, body: BLOCKED_EVENT, attributes: record, timestamp: e.startMs, context: ctx });
    },
    async flush(timeoutMs) {
      // one flush at a time, and a second caller waits for it: the SDK's processor returns at once from a forceFlush
      // made while another runs, and the process would end before the first one's records went out
      flushing ??= Promise.allSettled([logs.forceFlush(), meters.forceFlush()]).then(() => {
        flushing = null;
      });
      await Promise.race([flushing, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}
