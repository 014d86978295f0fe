/**
 * OTLP JSON (ExportTraceServiceRequest, as in traces.otlp.json) → the Jaeger UI's JSON-file format
 * (traces.jaeger.json): times in µs, parent links as CHILD_OF references, one process per service.
 * Pure; no OpenTelemetry SDK needed, so other parts of looplens can convert a saved OTLP file too.
 */
import type { JaegerFile, JaegerSpan, JaegerTag, JaegerTrace } from '../../profiles/contract/types.js';

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
type OtlpTime = number | string | { low: number; high: number };
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: OtlpTime;
  endTimeUnixNano: OtlpTime;
  attributes?: OtlpKeyValue[];
  events?: { timeUnixNano: OtlpTime; name: string; attributes?: OtlpKeyValue[] }[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
}
export interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[];
  }[];
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function toUs(t: OtlpTime): number {
  if (typeof t === 'object') return Number(((BigInt(t.high >>> 0) << 32n) | BigInt(t.low >>> 0)) / 1000n);
  return Number(BigInt(t) / 1000n);
}

function plain(v: OtlpAnyValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

export function jaegerTag(key: string, v: OtlpAnyValue | undefined): JaegerTag {
  if (v?.stringValue !== undefined) return { key, type: 'string', value: v.stringValue };
  if (v?.boolValue !== undefined) return { key, type: 'bool', value: v.boolValue };
  if (v?.intValue !== undefined) return { key, type: 'int64', value: Number(v.intValue) };
  if (v?.doubleValue !== undefined) return { key, type: 'float64', value: v.doubleValue };
  return { key, type: 'string', value: JSON.stringify(plain(v)) };
}

const tags = (kvs: OtlpKeyValue[] | undefined): JaegerTag[] => (kvs ?? []).map((kv) => jaegerTag(kv.key, kv.value));

export function otlpToJaeger(otlp: OtlpTraces): JaegerFile {
  const traces = new Map<string, { spans: JaegerSpan[]; processes: JaegerTrace['processes']; byResource: Map<string, string> }>();
  const pending: { span: OtlpSpan; jaeger: JaegerSpan }[] = [];
  for (const rs of otlp.resourceSpans ?? []) {
    const resourceTags = tags(rs.resource?.attributes);
    const serviceName = String(resourceTags.find((t) => t.key === 'service.name')?.value ?? 'unknown_service');
    const processTags = resourceTags.filter((t) => t.key !== 'service.name');
    const resourceKey = JSON.stringify(resourceTags);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        let trace = traces.get(span.traceId);
        if (!trace) traces.set(span.traceId, (trace = { spans: [], processes: {}, byResource: new Map() }));
        let processID = trace.byResource.get(resourceKey);
        if (!processID) {
          processID = `p${trace.byResource.size + 1}`;
          trace.byResource.set(resourceKey, processID);
          trace.processes[processID] = { serviceName, tags: processTags };
        }
        const start = toUs(span.startTimeUnixNano);
        const spanTags = tags(span.attributes);
        spanTags.push({ key: 'span.kind', type: 'string', value: KINDS[span.kind ?? 0] ?? 'unspecified' });
        if (ss.scope?.name) spanTags.push({ key: 'otel.scope.name', type: 'string', value: ss.scope.name });
        if (ss.scope?.version) spanTags.push({ key: 'otel.scope.version', type: 'string', value: ss.scope.version });
        const code = span.status?.code ?? 0;
        if (code === 2) {
          spanTags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
          spanTags.push({ key: 'error', type: 'bool', value: true });
          if (span.status?.message) spanTags.push({ key: 'otel.status_description', type: 'string', value: span.status.message });
        } else if (code === 1) {
          spanTags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
        }
        const jaeger: JaegerSpan = {
          traceID: span.traceId,
          spanID: span.spanId,
          operationName: span.name,
          references: [],
          startTime: start,
          duration: Math.max(0, toUs(span.endTimeUnixNano) - start),
          tags: spanTags,
          logs: (span.events ?? []).map((e) => ({
            timestamp: toUs(e.timeUnixNano),
            fields: [{ key: 'event', type: 'string', value: e.name } as JaegerTag, ...tags(e.attributes)],
          })),
          processID,
          warnings: null,
        };
        trace.spans.push(jaeger);
        pending.push({ span, jaeger });
      }
    }
  }
  // References only to spans inside the file: a parent that was not recorded (remote, still open at exit, or
  // dropped) becomes a warning, so the Jaeger UI never shows a dangling link.
  const known = new Set<string>();
  for (const { span } of pending) known.add(`${span.traceId}/${span.spanId}`);
  for (const { span, jaeger } of pending) {
    if (span.parentSpanId) {
      if (known.has(`${span.traceId}/${span.parentSpanId}`)) {
        jaeger.references.push({ refType: 'CHILD_OF', traceID: span.traceId, spanID: span.parentSpanId });
      } else {
        jaeger.warnings = [`parent span ${span.parentSpanId} is not in this file`];
      }
    }
    for (const link of span.links ?? []) {
      if (known.has(`${link.traceId}/${link.spanId}`) && link.traceId === span.traceId) {
        jaeger.references.push({ refType: 'FOLLOWS_FROM', traceID: link.traceId, spanID: link.spanId });
      }
    }
  }
  const data: JaegerTrace[] = [];
  for (const [traceID, t] of traces) {
    t.spans.sort((a, b) => a.startTime - b.startTime);
    data.push({ traceID, spans: t.spans, processes: t.processes });
  }
  return { data };
}
