/**
 * JSON Schemas (draft 2020-12) of the run-folder files. The .schema.json files beside this module are generated
 * from these objects (`npm run schemas`) for other tools; a test keeps them identical.
 */
const num = { type: 'number' } as const;
const nonNeg = { type: 'number', minimum: 0 } as const;
const countAndTotal = {
  type: 'object',
  required: ['count', 'totalMs'],
  properties: { count: { type: 'integer', minimum: 0 }, totalMs: nonNeg },
} as const;
const str = { type: 'string' } as const;

const latencyMs = {
  type: 'object',
  required: ['p50', 'p90', 'p95', 'p99', 'max'],
  properties: { p50: nonNeg, p90: nonNeg, p95: nonNeg, p99: nonNeg, max: nonNeg },
} as const;

const requestStats = {
  type: 'object',
  required: ['requests', 'rps', 'latencyMs', 'non2xx', 'errors'],
  properties: {
    requests: { type: 'integer', minimum: 0 },
    rps: nonNeg,
    latencyMs,
    non2xx: { type: 'integer', minimum: 0 },
    errors: { type: 'integer', minimum: 0 },
    blockedMsPerRequest: nonNeg,
    queriesPerRequest: nonNeg,
    waitedMsPerRequest: nonNeg,
    cpuMsPerRequest: nonNeg,
  },
} as const;

const offloadPoolCounts = {
  type: 'object',
  required: ['size', 'calls', 'queued', 'queuedMs'],
  properties: { size: { type: 'integer', minimum: 1 }, calls: { type: 'integer', minimum: 0 }, queued: { type: 'integer', minimum: 0 }, queuedMs: nonNeg },
} as const;

const processSummary = {
  type: 'object',
  required: ['pid', 'role', 'requests', 'rps', 'blocks', 'blockedMs', 'blockedMsPerRequest', 'waitedMsPerRequest'],
  properties: {
    pid: { type: 'integer' },
    role: { enum: ['server', 'primary', 'other'] },
    requests: { type: 'integer', minimum: 0 },
    rps: nonNeg,
    blocks: { type: 'integer', minimum: 0 },
    blockedMs: nonNeg,
    blockedMsPerRequest: nonNeg,
    waitedMsPerRequest: nonNeg,
    eventLoop: {
      type: 'object',
      required: ['delayMs', 'utilization'],
      properties: {
        delayMs: { type: 'object', required: ['p50', 'p99', 'max'], properties: { p50: nonNeg, p99: nonNeg, max: nonNeg } },
        utilization: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    rssMb: { type: 'object', required: ['p50', 'max'], properties: { p50: nonNeg, max: nonNeg } },
  },
} as const;

const threadSummary = {
  type: 'object',
  required: ['pid', 'threadId', 'blocks', 'blockedMs', 'workItems', 'functions', 'cpuProfile'],
  properties: {
    pid: { type: 'integer' },
    threadId: { type: 'integer', minimum: 0 },
    blocks: { type: 'integer', minimum: 0 },
    blockedMs: nonNeg,
    workItems: { type: 'integer', minimum: 0 },
    functions: {
      type: 'array',
      items: { type: 'object', required: ['topFrame', 'blocks', 'blockedMs'], properties: { topFrame: str, blocks: { type: 'integer', minimum: 0 }, blockedMs: nonNeg } },
    },
    eventLoop: processSummary.properties.eventLoop,
    cpuProfile: { type: 'boolean' },
  },
} as const;

const cacheCounts = {
  type: 'object',
  required: ['hits', 'misses', 'stale', 'hitRatio'],
  properties: {
    hits: { type: 'integer', minimum: 0 },
    misses: { type: 'integer', minimum: 0 },
    stale: { type: 'integer', minimum: 0 },
    hitRatio: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const;

const cacheSummary = {
  type: 'object',
  required: ['hits', 'misses', 'stale', 'hitRatio'],
  properties: {
    ...cacheCounts.properties,
    errors: { type: 'integer', minimum: 0 },
    byRoute: { type: 'object', additionalProperties: cacheCounts },
  },
} as const;

export const summarySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/summary.schema.json',
  title: 'looplens run summary (summary.json)',
  type: 'object',
  required: ['overall', 'routes', 'eventLoop', 'blocking'],
  properties: {
    overall: requestStats,
    routes: { type: 'object', additionalProperties: requestStats },
    eventLoop: {
      type: 'object',
      required: ['delayMs', 'utilization'],
      properties: {
        delayMs: {
          type: 'object',
          required: ['p50', 'p99', 'max'],
          properties: { p50: nonNeg, p99: nonNeg, max: nonNeg },
        },
        utilization: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    blocking: {
      type: 'object',
      required: ['count', 'totalMs', 'msPerRequest'],
      properties: { count: { type: 'integer', minimum: 0 }, totalMs: nonNeg, msPerRequest: nonNeg },
    },
    db: { type: 'object', required: ['queriesPerRequest'], properties: { queriesPerRequest: nonNeg } },
    cpu: {
      type: 'object',
      required: ['msPerRequest', 'scope', 'measuringShare'],
      properties: {
        msPerRequest: nonNeg,
        scope: { enum: ['window', 'run'] },
        measuringShare: { type: 'number', minimum: 0, maximum: 1 },
        chargedShare: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    lostContext: {
      type: 'object',
      required: ['share', 'orphanQueries', 'outsideRequestQueries', 'queries'],
      properties: {
        share: { type: 'number', minimum: 0, maximum: 1 },
        orphanQueries: { type: 'integer', minimum: 0 },
        outsideRequestQueries: { type: 'integer', minimum: 0 },
        queries: { type: 'integer', minimum: 0 },
      },
    },
    upstream: {
      type: 'object',
      required: ['calls', 'failures'],
      properties: { calls: { type: 'integer', minimum: 0 }, failures: { type: 'integer', minimum: 0 } },
    },
    spread: {
      type: 'object',
      additionalProperties: { type: 'array', items: num, minItems: 2, maxItems: 2 },
    },
    perRun: {
      type: 'object',
      additionalProperties: { type: 'array', items: num, minItems: 1 },
    },
    cache: cacheSummary,
    processes: { type: 'array', items: processSummary },
    threads: { type: 'array', items: threadSummary },
    offloadPool: {
      type: 'object',
      required: [...offloadPoolCounts.required, 'queuedShare', 'waitMsPerQueuedCall', 'meanWaiting'],
      properties: { ...offloadPoolCounts.properties, queuedShare: { type: 'number', minimum: 0, maximum: 1 }, waitMsPerQueuedCall: nonNeg, meanWaiting: nonNeg },
    },
    memory: {
      type: 'object',
      required: ['heapUsedMb', 'growthMbPer1kRequests', 'allocatedKbPerRequest', 'gc'],
      properties: {
        heapUsedMb: { anyOf: [{ type: 'null' }, { type: 'object', required: ['start', 'end'], properties: { start: nonNeg, end: nonNeg } }] },
        growthMbPer1kRequests: { type: ['number', 'null'] },
        allocatedKbPerRequest: { type: ['number', 'null'] },
        gc: {
          type: 'object',
          required: ['pauses', 'ms', 'share', 'longestPauseMs', 'longestPauseKind', 'byKind'],
          properties: {
            pauses: { type: 'integer', minimum: 0 },
            ms: nonNeg,
            share: nonNeg,
            longestPauseMs: nonNeg,
            longestPauseKind: { anyOf: [{ type: 'null' }, { enum: ['minor', 'major', 'incremental', 'weakcb'] }] },
            byKind: { type: 'object', additionalProperties: { type: 'object', required: ['count', 'ms'], properties: { count: { type: 'integer', minimum: 0 }, ms: nonNeg } } },
          },
        },
        routes: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            required: ['allocatedKbPerRequest', 'growthMbPer1kRequests'],
            properties: { allocatedKbPerRequest: { type: ['number', 'null'] }, growthMbPer1kRequests: { type: ['number', 'null'] } },
          },
        },
      },
    },
  },
} as const;

const frame = {
  type: 'object',
  required: ['functionName', 'url', 'lineNumber', 'columnNumber'],
  properties: {
    functionName: str,
    url: str,
    lineNumber: { type: 'integer' },
    columnNumber: { type: 'integer' },
    original: {
      type: 'object',
      required: ['url', 'lineNumber', 'columnNumber'],
      properties: { url: str, lineNumber: { type: 'integer' }, columnNumber: { type: 'integer' } },
    },
  },
} as const;

const nullableStr = { type: ['string', 'null'] } as const;

export const blockingSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/blocking.schema.json',
  title: 'looplens blocking events (blocking.json)',
  type: 'object',
  required: ['thresholdMs', 'events'],
  properties: {
    thresholdMs: nonNeg,
    events: {
      type: 'array',
      items: {
        type: 'object',
        required: ['startMs', 'durationMs', 'route', 'traceId', 'spanId', 'topFrame', 'frames'],
        properties: {
          id: str,
          found: { enum: ['timed', 'recovered'] },
          startMs: num,
          durationMs: nonNeg,
          route: nullableStr,
          traceId: nullableStr,
          spanId: nullableStr,
          workItem: str,
          topFrame: str,
          compiledTopFrame: str,
          frames: { type: 'array', items: frame },
        },
      },
    },
    descheduled: countAndTotal,
    armed: countAndTotal,
    droppedBlocks: { type: 'integer', minimum: 0 },
  },
} as const;

const loadSettings = {
  type: 'object',
  required: ['durationS', 'warmupS', 'connections'],
  properties: {
    durationS: nonNeg,
    warmupS: nonNeg,
    connections: { type: 'integer', minimum: 1 },
    rate: nonNeg,
    paths: { type: 'array', items: str },
    scenario: str,
    runs: { type: 'integer', minimum: 1 },
  },
} as const;

const timeWindow = { type: 'object', required: ['startMs', 'endMs'], properties: { startMs: num, endMs: num } } as const;

const profiler = { enum: ['none', '0x', 'doctor', 'flame', 'bubbleprof'] } as const;

export const runInfoSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/run.schema.json',
  title: 'looplens run description (run.json)',
  type: 'object',
  required: ['schemaVersion', 'id', 'command', 'profiler', 'load', 'node', 'platform', 'cpu', 'startedAt', 'complete'],
  properties: {
    schemaVersion: { const: 1 },
    id: str,
    command: { type: 'array', items: str },
    stage: str,
    profiler,
    load: loadSettings,
    workers: { type: 'integer', minimum: 1 },
    gitSha: str,
    node: str,
    platform: str,
    cpu: { type: 'object', required: ['model', 'cores'], properties: { model: str, cores: { type: 'integer' } } },
    memoryGiB: num,
    startedAt: str,
    endedAt: str,
    window: timeWindow,
    warmup: timeWindow,
    complete: { type: 'boolean' },
    reason: str,
    reasonCode: str,
    phase: str,
    profilerOutputs: { type: 'array', items: str },
    notes: { type: 'array', items: str },
  },
} as const;

export const labSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/lab.schema.json',
  title: 'looplens lab (lab.json)',
  type: 'object',
  required: ['id', 'startedAt', 'complete', 'settings', 'stages'],
  properties: {
    id: str,
    startedAt: str,
    endedAt: str,
    complete: { type: 'boolean' },
    reason: str,
    settings: {
      type: 'object',
      required: ['profiler', 'load'],
      properties: { profiler, load: loadSettings, workers: { type: 'integer' }, scale: num },
    },
    stages: {
      type: 'array',
      items: {
        type: 'object',
        required: ['stage', 'run', 'summary'],
        properties: { stage: str, run: str, workers: { type: 'integer', minimum: 1 }, summary: summarySchema },
      },
    },
    story: {
      type: 'object',
      required: ['name', 'title', 'stages'],
      properties: {
        name: str,
        title: str,
        stages: {
          type: 'array',
          items: { type: 'object', required: ['stage', 'changes'], properties: { stage: str, changes: str, workers: { type: 'integer', minimum: 1 } } },
        },
      },
    },
    recorded: {
      type: 'object',
      required: ['command', 'loadAverageStart'],
      properties: {
        command: { type: 'array', items: str },
        loadAverageStart: { type: 'array', items: num },
        loadAverageEnd: { type: 'array', items: num },
        postgres: str,
        redis: str,
        seed: { type: 'object', required: ['skipped', 'ms'], properties: { skipped: { type: 'boolean' }, ms: num } },
      },
    },
  },
} as const;

export const loadSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/load.schema.json',
  title: 'looplens load generator results (load.json)',
  type: 'object',
  required: ['overall', 'routes'],
  properties: {
    overall: requestStats,
    routes: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: [...requestStats.required, 'method', 'paths'],
        properties: { ...requestStats.properties, method: str, paths: { type: 'array', items: str }, histogram: str },
      },
    },
    cache: cacheSummary,
    memory: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pid', 'ppid', 'name', 'samples'],
        properties: {
          pid: { type: 'integer' },
          ppid: { type: 'integer' },
          name: str,
          samples: { type: 'array', items: { type: 'object', required: ['t', 'rssKb'], properties: { t: num, rssKb: nonNeg } } },
        },
      },
    },
    offloadPool: offloadPoolCounts,
  },
} as const;

export const listenSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/listen.schema.json',
  title: 'looplens listening servers (listen.json)',
  type: 'object',
  required: ['servers'],
  properties: {
    servers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pid', 'port', 'address', 'family', 'http', 'atMs'],
        properties: {
          pid: { type: 'integer', minimum: 0 },
          port: { type: 'integer', minimum: 1, maximum: 65535 },
          address: str,
          family: str,
          http: { type: 'boolean' },
          atMs: num,
        },
      },
    },
  },
} as const;

export const sourceMapsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://looplens.dev/schemas/sourcemaps.schema.json',
  title: 'looplens in-memory source maps (sourcemaps.json)',
  type: 'object',
  required: ['maps'],
  properties: {
    maps: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['version', 'sources', 'mappings'],
        properties: {
          version: { type: 'integer' },
          sources: { type: 'array', items: { type: ['string', 'null'] } },
          mappings: str,
          names: { type: 'array', items: str },
          sourceRoot: str,
          file: str,
        },
      },
    },
  },
} as const;

export const SCHEMA_FILES = {
  'summary.schema.json': summarySchema,
  'blocking.schema.json': blockingSchema,
  'run.schema.json': runInfoSchema,
  'lab.schema.json': labSchema,
  'load.schema.json': loadSchema,
  'listen.schema.json': listenSchema,
  'sourcemaps.schema.json': sourceMapsSchema,
} as const;
