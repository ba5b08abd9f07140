// Catalog search over 10,000 products on the embedded database: p50/p95 of GET /api/v1/products?q=
// through HTTP, as a visitor's search box calls it. Run with `npm run bench:catalog` (builds first).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startPortico } from '../dist/src/server.js';

const PRODUCTS = Number(process.env.PRODUCTS ?? 10_000);
const SEARCHES = Number(process.env.SEARCHES ?? 500);
const WORDS = ['chat', 'vision', 'speech', 'translate', 'embed', 'summary', 'agent', 'weather', 'finance', 'legal', 'medical', 'code',
  'search', 'image', 'video', 'music', 'retail', 'travel', 'support', 'analytics', 'forecast', 'document', 'invoice', 'security'];
const TYPES = ['model', 'mcp', 'agent'];
const pick = (i, k) => WORDS[(i * 7 + k * 13) % WORDS.length];

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-bench-'));
const portico = await startPortico({ env: { PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORTICO_SECRET: 'bench-secret-0123456789-abcdefghijklmnop' } });
try {
  const db = portico.context.db;
  for (let start = 0; start < PRODUCTS; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, PRODUCTS - start) }, (_, n) => {
      const i = start + n;
      return {
        slug: `bench-${i}`, name: `${pick(i, 1)} ${pick(i, 2)} ${i}`, type: TYPES[i % 3], category: pick(i, 3),
        description: `A ${pick(i, 4)} service for ${pick(i, 5)} and ${pick(i, 6)} teams.`, route_prefix: `/bench/${i}`,
      };
    });
    await db.insertInto('products').values(rows).execute();
  }
  const queries = Array.from({ length: SEARCHES }, (_, i) => (i % 3 === 0 ? pick(i, 1).slice(0, 4) : `${pick(i, 2)} ${pick(i, 4).slice(0, 3)}`));
  for (const q of queries.slice(0, 20)) await fetch(`${portico.url}/api/v1/products?q=${q}`).then((r) => r.arrayBuffer()); // warm-up
  const times = [];
  for (const [i, q] of queries.entries()) {
    const type = i % 4 === 0 ? `&type=${TYPES[i % 3]}` : '';
    const started = performance.now();
    const res = await fetch(`${portico.url}/api/v1/products?q=${encodeURIComponent(q)}${type}`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`search answered ${res.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  console.log(`catalog search over ${PRODUCTS} products (embedded database), ${SEARCHES} searches: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`);
} finally {
  await portico.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
