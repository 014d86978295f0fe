/**
 * The one trace reader: a run's spans, from traces.otlp.json (the probes' primary output, or any OpenTelemetry
 * export) or, when that is missing or empty, traces.jaeger.json — one `Span` shape, times in epoch milliseconds.
 * Nothing else in looplens turns trace files into spans.
 */
import { otlpId, otlpTimeMs, plainValue, spanKind, type OtlpKeyValue, type OtlpTraces, type SpanKind } from './otlp.js';
import { hasFile, readJaeger, readOtlpTraces } from './read.js';
import { RUN_FILES, type JaegerFile, type JaegerTag } from './types.js';

export type AttrValue = string | number | boolean | (string | number | boolean)[];

export interface SpanEvent {
  name: string;
  /** Epoch milliseconds (fractional). */
  timeMs: number;
  attributes: Record<string, AttrValue>;
}

export interface Span {
  /** Lowercase hex. */
  traceId: string;
  spanId: string;
  /** null for a root span. */
  parentId: string | null;
  name: string;
  kind: SpanKind;
  /** Epoch milliseconds (fractional, exact to the microsecond). */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  events: SpanEvent[];
  /** The span's status was ERROR. */
  error: boolean;
  /** service.name of the process that recorded it. */
  service: string;
  /** process.pid of the process that recorded it (a resource attribute), null when not recorded. */
  pid: string | null;
}

export interface TraceSet {
  spans: Span[];
  /** The file the spans came from, or null when the run has no spans. */
  source: (typeof RUN_FILES)['tracesOtlp'] | (typeof RUN_FILES)['tracesJaeger'] | null;
  /** Spans the probes dropped past LOOPLENS_MAX_SPANS, when the file read says (traces.jaeger.json does); else null. */
  droppedSpans: number | null;
}

function attrValue(v: unknown): AttrValue {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : (x as string | number | boolean)));
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return v as string | number | boolean;
}

function otlpAttrs(list: OtlpKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = attrValue(plainValue(kv.value));
  return out;
}

/** Spans from an OTLP/JSON trace export (`{ resourceSpans: [{ resource, scopeSpans: [{ spans }] }] }`). */
export function spansFromOtlp(doc: OtlpTraces | unknown): Span[] {
  const out: Span[] = [];
  const resourceSpans = (doc as OtlpTraces | null)?.resourceSpans;
  if (!Array.isArray(resourceSpans)) return out;
  for (const rs of resourceSpans) {
    const resource = otlpAttrs(rs.resource?.attributes);
    const service = String(resource['service.name'] ?? 'unknown_service');
    const pid = resource['process.pid'] === undefined ? null : String(resource['process.pid']);
    for (const ss of rs.scopeSpans ?? []) {
      for (const raw of ss.spans ?? []) {
        out.push({
          traceId: otlpId(raw.traceId),
          spanId: otlpId(raw.spanId),
          parentId: raw.parentSpanId ? otlpId(raw.parentSpanId) || null : null,
          name: String(raw.name ?? ''),
          kind: spanKind(raw.kind),
          startMs: otlpTimeMs(raw.startTimeUnixNano),
          endMs: otlpTimeMs(raw.endTimeUnixNano),
          attributes: otlpAttrs(raw.attributes),
          events: (raw.events ?? []).map((e) => ({ name: String(e.name ?? ''), timeMs: otlpTimeMs(e.timeUnixNano), attributes: otlpAttrs(e.attributes) })),
          error: raw.status?.code === 2,
          service,
          pid,
        });
      }
    }
  }
  return out;
}

function jaegerTags(tags: JaegerTag[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const t of tags ?? []) out[t.key] = t.value;
  return out;
}

/**
 * Spans from the Jaeger UI JSON file (times in microseconds, kind in the `span.kind` tag, status in `otel.status_code`
 * or `error`, a span log's name in its `event` field). The tags the OTLP → Jaeger conversion adds (span.kind,
 * otel.scope.*, otel.status_*, error) are not span attributes and are left out.
 */
export function spansFromJaeger(doc: JaegerFile): Span[] {
  const out: Span[] = [];
  for (const trace of doc.data ?? []) {
    for (const s of trace.spans ?? []) {
      const tags = jaegerTags(s.tags);
      const kind = spanKind(tags['span.kind']);
      const error = tags['otel.status_code'] === 'ERROR' || tags.error === true || tags.error === 'true';
      for (const k of ['span.kind', 'otel.scope.name', 'otel.scope.version', 'otel.status_code', 'otel.status_description', 'error']) delete tags[k];
      const parent = (s.references ?? []).find((r) => r.refType === 'CHILD_OF') ?? (s.references ?? [])[0];
      const process = trace.processes?.[s.processID];
      const pidTag = process?.tags?.find((t) => t.key === 'process.pid')?.value;
      out.push({
        traceId: s.traceID.toLowerCase(),
        spanId: s.spanID.toLowerCase(),
        parentId: parent ? parent.spanID.toLowerCase() : null,
        name: s.operationName,
        kind,
        startMs: s.startTime / 1000,
        endMs: (s.startTime + s.duration) / 1000,
        attributes: tags,
        events: (s.logs ?? []).map((l) => {
          const fields = jaegerTags(l.fields);
          const name = String(fields.event ?? '');
          delete fields.event;
          return { name, timeMs: l.timestamp / 1000, attributes: fields };
        }),
        error,
        service: process?.serviceName ?? 'unknown_service',
        pid: pidTag === undefined ? null : String(pidTag),
      });
    }
  }
  return out;
}

/**
 * A run folder's spans: traces.otlp.json when it holds any, else traces.jaeger.json; none (source null) when neither
 * file is there. A file that is there but unreadable throws RunFolderError naming it.
 */
export function readTraces(dir: string): TraceSet {
  if (hasFile(dir, 'tracesOtlp')) {
    const spans = spansFromOtlp(readOtlpTraces(dir));
    if (spans.length > 0) return { spans, source: RUN_FILES.tracesOtlp, droppedSpans: null };
  }
  if (hasFile(dir, 'tracesJaeger')) {
    const jaeger = readJaeger(dir);
    const spans = spansFromJaeger(jaeger);
    return { spans, source: spans.length ? RUN_FILES.tracesJaeger : null, droppedSpans: jaeger.looplens?.droppedSpans ?? 0 };
  }
  return { spans: [], source: null, droppedSpans: null };
}
