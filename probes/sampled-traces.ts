/**
 * The production preset's traces: each sampled request (request-identity.ts) as one OTLP server span, the blocks it
 * ran as BLOCKED_EVENT events inside it — traces.otlp.json, read by the contract's trace reader like any other.
 * Only the method, the route or path (no query string), the status code and the ids are written: no header, no body.
 */
import type { BlockingEvent } from '../profiles/contract/types.js';
import type { OtlpKeyValue, OtlpSpan, OtlpTraces } from '../profiles/contract/otlp.js';
import { BLOCKED_EVENT, BLOCKED_EVENT_FIELDS as F } from '../profiles/contract/semconv.js';
import type { SampledSpan } from './request-identity.js';

const nanos = (epochMs: number): string => (BigInt(Math.round(epochMs * 1000)) * 1000n).toString();
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): OtlpKeyValue => ({ key, value: { intValue: value } });

export function sampledSpan(s: SampledSpan, events: readonly BlockingEvent[]): OtlpSpan {
  const t = s.token;
  const attributes: OtlpKeyValue[] = [str('http.request.method', t.method), str('url.path', t.path)];
  if (t.route !== null) attributes.push(str('http.route', t.route));
  if (s.statusCode) attributes.push(int('http.response.status_code', s.statusCode));
  const endMs = Math.max(s.endEpochMs, t.startEpochMs);
  return {
    traceId: t.traceId!,
    spanId: t.spanId!,
    ...(t.parentSpanId ? { parentSpanId: t.parentSpanId } : {}),
    name: `${t.method} ${t.route ?? t.path}`,
    kind: 2,
    startTimeUnixNano: nanos(t.startEpochMs),
    endTimeUnixNano: nanos(endMs),
    attributes,
    events: events.map((e) => ({
      name: BLOCKED_EVENT,
      timeUnixNano: nanos(Math.min(endMs, Math.max(t.startEpochMs, e.startMs))),
      attributes: [
        { key: F.durationMs, value: { doubleValue: e.durationMs } },
        str(F.topFrame, e.topFrame),
        str(F.blockId, e.id ?? ''),
      ],
    })),
    status: { code: s.statusCode >= 500 ? 2 : 0 },
  };
}

/** An ExportTraceServiceRequest of the sampled spans, each with the blocks charged to it (matched by span id). */
export function sampledSpansOtlp(spans: readonly SampledSpan[], serviceName: string, blocks: readonly BlockingEvent[]): OtlpTraces {
  const bySpan = new Map<string, BlockingEvent[]>();
  for (const b of blocks) {
    if (!b.spanId) continue;
    const list = bySpan.get(b.spanId);
    if (list) list.push(b);
    else bySpan.set(b.spanId, [b]);
  }
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', serviceName), int('process.pid', process.pid)] },
        scopeSpans: [{ scope: { name: 'looplens.production' }, spans: spans.map((s) => sampledSpan(s, bySpan.get(s.token.spanId!) ?? [])) }],
      },
    ],
  };
}
