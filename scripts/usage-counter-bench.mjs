// What counting costs on the hot path: the daily usage counter's `consume` in process (steady
// state, one busy subject and many subjects), against the whole of an authorized call
// (GET /openapi/v1/me through HTTP, which counts one call). Embedded database.
// Run with `npm run bench:usage` (builds first).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startPortico } from '../dist/src/server.js';

const CALLS = Number(process.env.CALLS ?? 1_000_000);
const HTTP_CALLS = Number(process.env.HTTP_CALLS ?? 3_000);
const CONCURRENCY = 16;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-bench-'));
const portico = await startPortico({ env: { PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORTICO_SECRET: 'bench-secret-0123456789-abcdefghijklmnop' } });
const { usage } = portico.services;

async function perCall(subjects, calls) {
  const quota = 1_000_000_000;
  const before = usage.stats.reservations;
  const started = performance.now();
  for (let i = 0; i < calls; i += 1) await usage.consume(subjects[i % subjects.length], quota);
  return { microseconds: ((performance.now() - started) * 1000) / calls, reservations: usage.stats.reservations - before };
}

async function json(pathname, body, token) {
  const res = await fetch(portico.url + pathname, {
    method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  });
  return res.json();
}

try {
  const one = [{ kind: 'application', id: randomUUID() }];
  const many = Array.from({ length: 1000 }, () => ({ kind: 'consumer', id: randomUUID() }));
  await perCall(one, 10_000); // warm-up
  const busy = await perCall(one, CALLS);
  const spread = await perCall(many, CALLS);

  await json('/api/v1/developers', { username: 'bench-merchant', password: 'bench-merchant-password' });
  const session = (await json('/api/v1/auth/login', { username: 'bench-merchant', password: 'bench-merchant-password' })).token;
  const app = await json('/api/v1/applications', { name: 'Bench' }, session);
  const { token } = await json('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret });
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < HTTP_CALLS) {
      next += 1;
      const res = await fetch(`${portico.url}/openapi/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`/openapi/v1/me answered ${res.status}`);
    }
  }));
  const callMicroseconds = ((performance.now() - started) * 1000) / HTTP_CALLS;

  console.table({
    'consume, one busy subject': { 'µs per call': busy.microseconds.toFixed(2), 'database round trips': busy.reservations, calls: CALLS },
    'consume, 1,000 subjects': { 'µs per call': spread.microseconds.toFixed(2), 'database round trips': spread.reservations, calls: CALLS },
    'authorized call through HTTP (1 / throughput)': { 'µs per call': callMicroseconds.toFixed(0), 'database round trips': '-', calls: HTTP_CALLS },
  });
  console.log(`counting is ${((busy.microseconds / callMicroseconds) * 100).toFixed(2)} % of an authorized call (target: at most 10 %)`);
} finally {
  await portico.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
