/**
 * Plain counters kept by the modules on hot paths and read by /metrics at scrape time, so a
 * counted event costs `n += 1`: no label hashing, no allocation. Nothing here imports prom-client.
 */

/** Lookups of one in-memory cache. A remembered "not found" is a hit: it spared a query. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries held now (read at scrape time). */
  readonly entries: number;
}

export function cacheStats(entries: () => number): CacheStats {
  return { hits: 0, misses: 0, get entries() { return entries(); } };
}

/** Upper bounds (seconds) of the gateway check's latency histogram: a cached decision takes well under a millisecond. */
export const GATEWAY_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** /gateway/check's decisions and latency, counted without allocating (thousands of calls a second). */
export class GatewayMeter {
  /** Decisions by `status * 10_000 + code`: a number key, so counting one allocates nothing. */
  readonly decisions = new Map<number, number>();
  /** Observations per bucket, not cumulative; the last slot is above every bound (+Inf). */
  readonly buckets = new Float64Array(GATEWAY_LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  decision(status: number, code: number): void {
    const key = status * 10_000 + code;
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < GATEWAY_LATENCY_BUCKETS.length && seconds > GATEWAY_LATENCY_BUCKETS[i]!) i += 1;
    this.buckets[i]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}
