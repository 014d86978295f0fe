/**
 * The Jaeger UI's JSON-file format (traces.jaeger.json): written from OTLP/JSON (the probes convert their
 * traces.otlp.json at exit; any saved OTLP file converts the same way), and checked for the structure the Jaeger UI
 * needs. Times in µs, parent links as CHILD_OF references, one process per service. Dependency-free: the probes load
 * it inside the app. Reading spans back is ./traces.ts's job.
 */
import { otlpTimeUs, plainValue, spanKind, type OtlpAnyValue, type OtlpKeyValue, type OtlpSpan, type OtlpTraces } from './otlp.js';
import type { JaegerFile, JaegerSpan, JaegerTag, JaegerTrace } from './types.js';

export function jaegerTag(key: string, v: OtlpAnyValue | undefined): JaegerTag {
  if (v?.stringValue !== undefined) return { key, type: 'string', value: v.stringValue };
  if (v?.boolValue !== undefined) return { key, type: 'bool', value: v.boolValue };
  if (v?.intValue !== undefined) return { key, type: 'int64', value: Number(v.intValue) };
  if (v?.doubleValue !== undefined) return { key, type: 'float64', value: v.doubleValue };
  return { key, type: 'string', value: JSON.stringify(plainValue(v)) };
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
        const start = otlpTimeUs(span.startTimeUnixNano);
        const duration = Math.max(0, otlpTimeUs(span.endTimeUnixNano) - start);
        const spanTags = tags(span.attributes);
        spanTags.push({ key: 'span.kind', type: 'string', value: spanKind(span.kind) });
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
          duration,
          tags: spanTags,
          // The Jaeger UI hides a log stamped outside its span ("Events (0 of 1)"): a log is kept inside its span.
          logs: (span.events ?? []).map((e) => ({
            timestamp: Math.min(start + duration, Math.max(start, otlpTimeUs(e.timeUnixNano))),
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

/** Epoch microseconds between 2001 and 2286: a startTime outside this is in ms or ns, not µs. */
const MIN_EPOCH_US = 1e15;
const MAX_EPOCH_US = 1e16;

/**
 * Problems with a Jaeger file's structure, one line each ([] when it is sound): every span has a process of its
 * trace, every CHILD_OF reference resolves inside its trace, times are integers in epoch microseconds, and every log
 * lies inside its span (the Jaeger UI hides the others).
 */
export function checkJaegerFile(file: JaegerFile): string[] {
  const problems: string[] = [];
  if (!file || !Array.isArray(file.data)) return ['no "data" array'];
  for (const trace of file.data) {
    const where = `trace ${trace?.traceID}`;
    if (!trace || typeof trace.traceID !== 'string' || trace.traceID === '') {
      problems.push('a trace has no traceID');
      continue;
    }
    if (!Array.isArray(trace.spans) || trace.spans.length === 0) {
      problems.push(`${where}: no spans`);
      continue;
    }
    if (!trace.processes || typeof trace.processes !== 'object') {
      problems.push(`${where}: no processes`);
      continue;
    }
    const ids = new Set(trace.spans.map((s) => s.spanID));
    if (ids.size !== trace.spans.length) problems.push(`${where}: duplicate spanIDs`);
    for (const span of trace.spans) {
      const at = `${where} span ${span.spanID}`;
      if (span.traceID !== trace.traceID) problems.push(`${at}: traceID ${span.traceID} differs from its trace`);
      if (!span.processID || !trace.processes[span.processID]) problems.push(`${at}: process ${span.processID} not in processes`);
      else if (!trace.processes[span.processID].serviceName) problems.push(`${at}: process ${span.processID} has no serviceName`);
      if (!Number.isInteger(span.startTime) || span.startTime < MIN_EPOCH_US || span.startTime > MAX_EPOCH_US) {
        problems.push(`${at}: startTime ${span.startTime} is not epoch microseconds`);
      }
      if (!Number.isInteger(span.duration) || span.duration < 0) problems.push(`${at}: duration ${span.duration} is not whole microseconds`);
      if (!Array.isArray(span.tags)) problems.push(`${at}: tags is not an array`);
      if (!Array.isArray(span.logs)) problems.push(`${at}: logs is not an array`);
      for (const ref of span.references ?? []) {
        if (ref.refType !== 'CHILD_OF' && ref.refType !== 'FOLLOWS_FROM') problems.push(`${at}: unknown refType ${ref.refType}`);
        if (ref.refType === 'CHILD_OF' && (ref.traceID !== trace.traceID || !ids.has(ref.spanID))) {
          problems.push(`${at}: CHILD_OF ${ref.traceID}/${ref.spanID} does not resolve inside its trace`);
        }
      }
      for (const log of span.logs ?? []) {
        if (!Number.isInteger(log.timestamp) || log.timestamp < MIN_EPOCH_US || log.timestamp > MAX_EPOCH_US) {
          problems.push(`${at}: log timestamp ${log.timestamp} is not epoch microseconds`);
        } else if (log.timestamp < span.startTime || log.timestamp > span.startTime + span.duration) {
          problems.push(`${at}: log at ${log.timestamp} lies outside its span (${span.startTime}–${span.startTime + span.duration}): the Jaeger UI hides it`);
        }
      }
    }
  }
  return problems;
}
