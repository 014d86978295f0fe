/**
 * OTLP/JSON (an ExportTraceServiceRequest, as in traces.otlp.json): its types and the decoding of its values, times
 * and ids, in one place for the trace reader (./traces.ts) and the Jaeger writer (./jaeger.ts). Dependency-free: the
 * probes load it inside the app.
 */

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
/** Nanoseconds since the epoch: a decimal string (OTLP/JSON), a number, or protobufjs' Long. */
export type OtlpTime = number | string | { low: number; high: number };
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 0–5 (unspecified, internal, server, client, producer, consumer) or "SPAN_KIND_SERVER"-style names. */
  kind?: number | string;
  startTimeUnixNano: OtlpTime;
  endTimeUnixNano: OtlpTime;
  attributes?: OtlpKeyValue[];
  events?: { timeUnixNano: OtlpTime; name: string; attributes?: OtlpKeyValue[] }[];
  links?: { traceId: string; spanId: string }[];
  /** code 0 unset, 1 ok, 2 error. */
  status?: { code?: number; message?: string };
}
export interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[];
  }[];
}

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';
export const SPAN_KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/** A span kind given as a number, "SPAN_KIND_SERVER" or "server". */
export function spanKind(kind: unknown): SpanKind {
  if (typeof kind === 'number') return SPAN_KINDS[kind] ?? 'unspecified';
  const k = String(kind ?? '').toLowerCase().replace(/^span_kind_/, '');
  return (SPAN_KINDS as readonly string[]).includes(k) ? (k as SpanKind) : 'unspecified';
}

/** Attribute values as plain JSON: arrays stay arrays, key-value lists become objects. */
export function plainValue(v: OtlpAnyValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plainValue);
  if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, plainValue(kv.value)]));
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function nanos(t: OtlpTime | undefined): bigint {
  if (t === undefined) return 0n;
  if (typeof t === 'object') return (BigInt(t.high >>> 0) << 32n) | BigInt(t.low >>> 0);
  if (typeof t === 'number') return BigInt(Math.round(t));
  try {
    return BigInt(t);
  } catch {
    return BigInt(Math.round(Number(t) || 0));
  }
}

/** Whole microseconds since the epoch (what the Jaeger file holds). */
export function otlpTimeUs(t: OtlpTime | undefined): number {
  return Number(nanos(t) / 1000n);
}

/** Epoch milliseconds, exact to the microsecond (Number(ns) / 1e6 alone loses ~256 ns). */
export function otlpTimeMs(t: OtlpTime | undefined): number {
  return otlpTimeUs(t) / 1000;
}

/** OTLP ids are hex in OTLP/JSON; an exporter that wrote protobuf-JSON may have base64: lowercase hex either way. */
export function otlpId(id: string | undefined): string {
  if (!id) return '';
  if (/^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}
