// The JSON the query role answers: Jaeger's `/api` shapes (typed tags, processes `p1`…), plus
// skein's own additions (`errorCount` on links, the pipeline report).

export type TagType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

export interface KeyValue {
  key: string;
  type: TagType;
  value: string | number | boolean;
}

export interface Reference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface Log {
  timestamp: number; // µs since the epoch
  fields: KeyValue[];
}

export interface Process {
  serviceName: string;
  tags: KeyValue[];
}

export interface Span {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: Reference[];
  startTime: number; // µs since the epoch
  duration: number; // µs
  tags: KeyValue[];
  logs: Log[];
  processID: string;
  warnings: string[] | null;
}

export interface Trace {
  traceID: string;
  spans: Span[];
  processes: Record<string, Process>;
  warnings: string[] | null;
}

export interface Envelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: { code?: number; msg: string; traceID?: string }[] | null;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
  errorCount?: number;
}

export interface Operation {
  name: string;
  spanKind: string;
}

/** Jaeger's SPM answer (`/api/metrics/*`). */
export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  metrics: {
    labels: { name: string; value: string }[];
    metricPoints: { gaugeValue: { doubleValue: number | 'NaN' }; timestamp: string }[];
  }[];
}

// ---- skein's own endpoints (documented in docs/api.md) ----

/** Latency quantiles in µs; null when no call was measured. */
export interface Latency {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** GET /api/skein/graph?endTs=<ms>&lookback=<ms>: the service graph from analytics' documents. */
export interface ServiceGraph {
  /** Per service: spans it served (server and consumer kinds), of which errors. */
  services: { service: string; calls: number; errors: number }[];
  links: ({
    parent: string;
    child: string;
    calls: number;
    errors: number;
    /** Traces with a call over this link, slowest first (from analytics' operation links). */
    exemplarTraceIds?: string[];
  } & Latency)[];
}

export interface OperationRef {
  service: string;
  operation: string;
}

/**
 * GET /api/skein/graph/operations?endTs=<ms>&lookback=<ms>&service=<name>: operation-level links
 * (parent service:operation → child service:operation) touching the service.
 */
export interface OperationGraph {
  operations: (OperationRef & { calls: number; errors: number })[];
  links: ({ parent: OperationRef; child: OperationRef; calls: number; errors: number } & Latency)[];
}

/** GET /api/skein/pipeline: the pipeline's own health, read from Kafka, Elasticsearch and collectors. */
export interface PipelineReport {
  generatedAt: string; // RFC 3339
  kafka: {
    brokers: string;
    reachable: boolean;
    error: string | null;
    spansTopic: string;
    partitions: number;
    groups: ConsumerGroupReport[];
    deadLetters: {
      topic: string;
      records: number; // records in the topic now (end − start offsets, summed)
      latest: DeadLetter[]; // newest first, at most 10
    };
  };
  elasticsearch: {
    url: string;
    reachable: boolean;
    error: string | null;
    status: 'green' | 'yellow' | 'red' | null;
    indices: { name: string; docs: number; bytes: number; health: string }[];
  };
  analytics: {
    group: string;
    /** Per partition: the watermark of its latest checkpoint (record time analytics has reached). */
    watermarks: { partition: number; watermark: string | null; behindSeconds: number | null }[];
  };
  receivers: {
    /** The collectors' /metrics scraped; unreachable ones say why. */
    sources: { url: string; reachable: boolean; error: string | null }[];
    /** Counters since each collector started, summed over sources: the UI derives rates. */
    transports: { transport: string; received: number; accepted: number; refused: number }[];
    refusedByReason: { reason: string; spans: number }[];
  };
}

export interface ConsumerGroupReport {
  group: string;
  role: 'ingester' | 'analytics';
  state: string; // Kafka's group state: Stable, Empty, PreparingRebalance, Dead, ...
  members: number;
  totalLag: number;
  maxLagSeconds: number | null;
  partitions: {
    partition: number;
    committed: number | null; // null: the group never committed on it
    highWatermark: number;
    lag: number; // records behind
    lagSeconds: number | null; // age of the oldest record not yet committed; 0 when caught up
  }[];
}

export interface DeadLetter {
  partition: number;
  offset: number;
  timestamp: string; // RFC 3339
  error: string; // skein.error
  errorKind: string; // skein.error-kind: decode | rejected
  originPartition: number | null;
  originOffset: number | null;
}
