// One benchmark row: autocannon (in this process, never the server's) against one request, with a
// warm-up whose figures are dropped. Latency percentiles come from every response's own timing
// (autocannon's histogram rounds to whole milliseconds).
import autocannon from 'autocannon';
import { cpuMeter } from './cpu.mjs';

// The monotonic clock V8's CPU profiles are stamped with, in µs: profiles can be cut to a row.
const hrMicros = () => Number(process.hrtime.bigint() / 1000n);
const round2 = (n) => Math.round(n * 100) / 100;
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);

/**
 * `request`: {url, method?, headers?, body?} or `requests`: several, which every connection takes
 * in turn. Resolves with requests/s (mean over the measured time), p50/p99 latency in ms,
 * the status codes seen, how many answers were not 200 and how many requests failed outright, and
 * the CPU used meanwhile by the server (`serverPid`), this process and the rest of the machine,
 * and the measured `window` ([start, end] on the monotonic clock, µs).
 */
export async function measure({ url, method = 'GET', headers, body, requests, duration, warmup, connections, serverPid }) {
  const latencies = [];
  const instance = autocannon({
    url, method, headers, body, requests, duration, connections, pipelining: 1,
    ...(warmup > 0 ? { warmup: { duration: warmup, connections } } : {}),
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => { latencies.push(responseTime); });
  let cpu = () => null;
  let startedAt;
  instance.once('start', () => { cpu = cpuMeter(serverPid); startedAt = hrMicros(); }); // the measured run, after the warm-up
  const result = await instance;
  const cpuPercent = cpu();
  const window = [startedAt, hrMicros()];
  latencies.sort((a, b) => a - b);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  const answered = Object.values(statusCodes).reduce((sum, n) => sum + n, 0);
  return {
    // Responses over the measured time (autocannon's own mean of per-second samples counts a
    // last, partial second as a whole one).
    requestsPerSecond: Math.round(answered / result.duration),
    p50Ms: round2(percentile(latencies, 0.5)),
    p99Ms: round2(percentile(latencies, 0.99)),
    requests: answered,
    statusCodes,
    non200: answered - (statusCodes['200'] ?? 0),
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    cpuPercent,
    // Throughput per second of the server's own CPU time: what one core would give uncontended.
    requestsPerServerCpuSecond: cpuPercent?.server ? Math.round(answered / result.duration / (cpuPercent.server / 100)) : null,
    window,
  };
}
