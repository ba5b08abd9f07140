import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createUsageCounter, utcDay, type QuotaSubject, type UsageCounter } from '../../src/usage/counter.js';
import { createUsageQueries } from '../../src/usage/queries.js';
import { manualClock, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const clock = manualClock(new Date('2026-11-23T10:00:00Z'));
const started: UsageCounter[] = [];
beforeAll(async () => { server = await startTestServer({ clock }); });
afterAll(async () => {
  await Promise.all(started.map((c) => c.close()));
  await server?.stop();
});

/** A counter as one node has it; several in one process share the database like several nodes. */
async function node(options: Parameters<typeof createUsageCounter>[1] = {}): Promise<UsageCounter> {
  const counter = createUsageCounter(server.portico.context, { flushMs: 50, ...options });
  await counter.ready;
  started.push(counter);
  return counter;
}

const subject = (): QuotaSubject => ({ kind: 'application', id: randomUUID() });
const allowedOf = (decisions: Array<{ allowed: boolean }>) => decisions.filter((d) => d.allowed).length;

async function row(s: QuotaSubject, day = utcDay(clock.now())) {
  return server.portico.context.db.selectFrom('usage_counters').select(['calls', 'reserved'])
    .where('subject_kind', '=', s.kind).where('subject_id', '=', s.id).where('day', '=', day).executeTakeFirst();
}

describe('the daily usage counter', () => {
  it('allows exactly the quota on one node under concurrency, and reports every call', async () => {
    const counter = await node();
    const s = subject();
    const decisions = await Promise.all(Array.from({ length: 260 }, () => counter.consume(s, 200)));
    expect(allowedOf(decisions)).toBe(200);
    const refused = decisions.find((d) => !d.allowed)!;
    expect(refused).toMatchObject({ limit: 200, remaining: 0 });
    expect(refused.resetAt.toISOString()).toBe('2026-11-24T00:00:00.000Z');
    await counter.flush();
    expect(await row(s)).toEqual({ calls: 200, reserved: 0 });
  });

  it('counts down X-RateLimit-Remaining exactly on one node', async () => {
    const counter = await node();
    const s = subject();
    const remaining: number[] = [];
    for (let i = 0; i < 5; i += 1) remaining.push((await counter.consume(s, 5)).remaining);
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    expect((await counter.consume(s, 5)).allowed).toBe(false);
  });

  it('does not go to the database for every call', async () => {
    const counter = await node();
    const s = subject();
    for (let i = 0; i < 3000; i += 1) expect((await counter.consume(s, 100_000)).allowed).toBe(true);
    // Chunks grow from 8 to 1,000 while the subject is busy: a handful of reservations, not 3,000.
    expect(counter.stats.reservations).toBeLessThan(20);
    await counter.flush();
    expect((await row(s))!.calls).toBe(3000);
  });

  it('reserves the next chunk while a quarter of the current one is left, so a busy subject never waits', async () => {
    const counter = await node();
    const s = subject();
    for (let i = 0; i < 7; i += 1) await counter.consume(s, 100_000); // the first chunk is 8 units; 1 left now
    // Reserved ahead, before anyone needed it: the second chunk (16) is in the database.
    const reservedInAll = async () => { const r = await row(s); return r ? r.calls + r.reserved : 0; };
    for (let i = 0; i < 100 && (await reservedInAll()) !== 8 + 16; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(counter.stats.reservations).toBe(2);
    for (let i = 0; i < 10; i += 1) expect((await counter.consume(s, 100_000)).allowed).toBe(true);
    expect(counter.stats.waits).toBe(1); // only the very first call waited for the database
  });

  it('allows exactly the quota across three nodes taking calls at once', async () => {
    const nodes = [await node(), await node(), await node()];
    const s = subject();
    const decisions = await Promise.all(Array.from({ length: 900 }, (_, i) => nodes[i % 3]!.consume(s, 700)));
    expect(allowedOf(decisions)).toBe(700);
    await Promise.all(nodes.map((n) => n.flush()));
    expect((await row(s))!.calls).toBe(700);
  });

  it('lets the last units of a quota be used when calls alternate between nodes (held chunks are given back)', async () => {
    const [a, b] = [await node(), await node()];
    const s = subject();
    for (let i = 0; i < 300; i += 1) {
      expect((await (i % 2 === 0 ? a : b).consume(s, 300)).allowed).toBe(true);
    }
    expect((await a.consume(s, 300)).allowed).toBe(false);
    expect((await b.consume(s, 300)).allowed).toBe(false);
    await Promise.all([a.flush(), b.flush()]);
    expect((await row(s))!.calls).toBe(300);
  });

  it('keeps reported counts across a restart and goes on from them', async () => {
    const s = subject();
    const first = await node();
    for (let i = 0; i < 30; i += 1) await first.consume(s, 40);
    await first.close();
    expect(await row(s)).toEqual({ calls: 30, reserved: 0 });
    const second = await node();
    const decisions = await Promise.all(Array.from({ length: 15 }, () => second.consume(s, 40)));
    expect(allowedOf(decisions)).toBe(10);
  });

  it('never allows a call over the quota when a node dies holding a chunk', async () => {
    const s = subject();
    const dying = await node({ flushMs: 3_600_000 }); // never reports: as if killed
    for (let i = 0; i < 20; i += 1) await dying.consume(s, 100); // holds a chunk it will never give back
    const survivor = await node();
    const decisions = await Promise.all(Array.from({ length: 120 }, () => survivor.consume(s, 100)));
    const held = (await row(s))!;
    expect(20 + allowedOf(decisions)).toBeLessThanOrEqual(100);
    expect(held.calls + held.reserved).toBeLessThanOrEqual(100);
  });

  it('follows a raised quota at once', async () => {
    const counter = await node();
    const s = subject();
    expect(allowedOf(await Promise.all(Array.from({ length: 12 }, () => counter.consume(s, 10))))).toBe(10);
    expect(allowedOf(await Promise.all(Array.from({ length: 12 }, () => counter.consume(s, 15))))).toBe(5);
  });

  it('starts a new count at UTC midnight', async () => {
    const counter = await node();
    const s = subject();
    expect(allowedOf(await Promise.all(Array.from({ length: 6 }, () => counter.consume(s, 5))))).toBe(5);
    const yesterday = utcDay(clock.now());
    clock.advance(24 * 3600 * 1000);
    expect((await counter.consume(s, 5)).allowed).toBe(true);
    await counter.flush();
    await counter.flush(); // yesterday's slot is idle now: its units go back
    expect(await row(s, yesterday)).toEqual({ calls: 5, reserved: 0 });
    expect(await counter.daily(s, yesterday)).toEqual([{ day: yesterday, calls: 5 }, { day: utcDay(clock.now()), calls: 1 }]);
  });
});

describe('the daily usage counter when things change under it', () => {
  it('never serves units reserved under a quota that was lowered meanwhile', async () => {
    const counter = await node();
    const s = subject();
    for (let i = 0; i < 5; i += 1) await counter.consume(s, 20);
    await counter.flush();
    await counter.flush(); // the chunk goes back only when idle; make the next call reserve
    const decisions = await Promise.all([counter.consume(s, 20), ...Array.from({ length: 9 }, () => counter.consume(s, 6))]);
    await counter.flush();
    const { calls } = (await row(s))!;
    expect(calls).toBe(5 + allowedOf(decisions));
    // The latest quota counts for every call still waiting: 6 in all, not a unit more.
    expect(calls).toBeLessThanOrEqual(6);
  });

  it('reserves in chunks again after a raise ends the one-unit-at-a-time mode of the old limit', async () => {
    const [a, b] = [await node(), await node()];
    const s = subject();
    for (let i = 0; i < 60; i += 1) await (i % 2 === 0 ? a : b).consume(s, 60);
    const before = a.stats.reservations + b.stats.reservations;
    for (let i = 0; i < 2_000; i += 1) expect((await (i % 2 === 0 ? a : b).consume(s, 100_000)).allowed).toBe(true);
    expect(a.stats.reservations + b.stats.reservations - before).toBeLessThan(40);
  });

  it('applies a report sent again after a lost answer only once', async () => {
    const s = subject();
    const queries = createUsageQueries(server.portico.context.db);
    const key = { ...s, day: utcDay(clock.now()) };
    await queries.reserveExactly(key, 10, 100);
    const nodeId = randomUUID();
    await queries.report(nodeId, 1, [{ ...key, used: 4, released: 1 }]);
    await queries.report(nodeId, 1, [{ ...key, used: 4, released: 1 }]); // the same report again
    expect(await row(s)).toEqual({ calls: 4, reserved: 5 });
    await queries.report(nodeId, 2, [{ ...key, used: 1, released: 0 }]);
    expect(await row(s)).toEqual({ calls: 5, reserved: 4 });
  });

  it('refuses from memory after close instead of reserving what it could not give back', async () => {
    const counter = createUsageCounter(server.portico.context, { flushMs: 50 });
    await counter.ready;
    const s = subject();
    await counter.consume(s, 100);
    await counter.close();
    expect((await counter.consume(s, 100)).allowed).toBe(false);
    expect(await row(s)).toEqual({ calls: 1, reserved: 0 });
  });
});
