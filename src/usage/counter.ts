import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.js';
import type { UsageSubjectKind } from '../db/types.js';
import { createUsageQueries, type CounterKey, type CounterReport } from './queries.js';

/** Who a call counts against: an application (token calls) or a consumer (API keys, AK/SK). */
export interface QuotaSubject { kind: UsageSubjectKind; id: string }

export interface QuotaDecision {
  allowed: boolean;
  /** The daily quota. */
  limit: number;
  /** What is left today after this call, as far as this node knows (other nodes' chunks count as used). */
  remaining: number;
  /** The next UTC midnight, when the quota resets. */
  resetAt: Date;
}

export interface CounterOptions {
  /** How often used calls are reported and idle chunks given back. */
  flushMs?: number;
  /** Bounds of the chunk a node reserves at once; it grows while the subject is busy. */
  chunkMin?: number;
  chunkMax?: number;
}

const TOPIC = 'usage';
const IDLE_MS = 5_000;
/** After the quota is found used up, refuse from memory this long before asking the database again. */
const EXHAUSTED_RECHECK_MS = 1_000;
/** How long a call at the very limit waits for other nodes to give back unused units. */
const RELEASE_WAIT_MS = 1_000;
const RELEASE_POLL_MS = 20;
/** A node that asked and got nothing back does not ask again (and wait) for this long. */
const RELEASE_ASK_INTERVAL_MS = 30_000;

/** What this node holds for one subject on one day. */
interface Slot {
  key: CounterKey;
  quota: number;
  /** Units reserved in the database and not used yet. */
  held: number;
  /** Calls made from reserved units, not reported yet. */
  used: number;
  /** Units dropped here, to be given back at the next report. */
  toRelease: number;
  /** calls + reserved in the database at the last reservation, ours included. */
  syncedTotal: number;
  chunk: number;
  lastReserveAt: number;
  lastUseAt: number;
  /** Another node is short at the limit: reserve one unit at a time from now on. */
  tail: boolean;
  exhaustedAt?: number;
  releaseAskedAt?: number;
  reserving?: Promise<number>;
}

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);
const nextUtcMidnight = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Daily call counters, exact at the limit across nodes without a database round trip per call.
 *
 * A node reserves a chunk of the day's quota in one conditional upsert (calls + reserved never
 * exceeds the quota, so no node can allow a call over it, even if it crashes), serves calls
 * from the chunk in memory, and reports what it used every `flushMs`. Chunks grow while a
 * subject is busy and shrink to a quarter of what is left near the limit; idle chunks go back.
 * When a node finds nothing left while others still hold units, it asks them (NOTIFY) to give
 * their units back and waits briefly, so the last units of a quota are not stranded.
 */
export function createUsageCounter(ctx: AppContext, options: CounterOptions = {}) {
  const flushMs = options.flushMs ?? 250;
  const chunkMin = options.chunkMin ?? 8;
  const chunkMax = options.chunkMax ?? 1_000;
  const queries = createUsageQueries(ctx.db);
  const nodeId = randomUUID();
  const slots = new Map<string, Slot>();
  const slotName = (key: CounterKey) => `${key.kind}:${key.id}:${key.day}`;
  /** Database round trips, for metrics and for the tests that hold the counter to its promise. */
  const stats = { reservations: 0, reports: 0 };

  const ready = ctx.bus.subscribe(TOPIC, (payload) => {
    if (payload.node === nodeId) return;
    const slot = slots.get(slotName({ kind: payload.kind as UsageSubjectKind, id: String(payload.id), day: String(payload.day) }));
    if (!slot) return;
    slot.tail = true;
    slot.toRelease += slot.held;
    slot.held = 0;
    void flush();
  });

  function slotFor(subject: QuotaSubject, day: string, quota: number, now: number): Slot {
    const key = { kind: subject.kind, id: subject.id, day };
    const name = slotName(key);
    let slot = slots.get(name);
    if (!slot) {
      slot = { key, quota, held: 0, used: 0, toRelease: 0, syncedTotal: 0, chunk: chunkMin, lastReserveAt: 0, lastUseAt: now, tail: false };
      slots.set(name, slot);
    }
    if (slot.quota !== quota) {
      // A changed quota: units held under the old one go back, the next call reserves anew.
      slot.toRelease += slot.held;
      slot.held = 0;
      slot.exhaustedAt = undefined;
      slot.quota = quota;
    }
    return slot;
  }

  async function reserve(slot: Slot): Promise<number> {
    const now = Date.now();
    slot.chunk = now - slot.lastReserveAt < 1_000 ? Math.min(chunkMax, slot.chunk * 2) : now - slot.lastReserveAt > IDLE_MS ? chunkMin : slot.chunk;
    slot.lastReserveAt = now;
    const unheld = slot.quota - slot.syncedTotal;
    let want = slot.tail ? 1 : Math.max(1, Math.min(slot.chunk, Math.floor(unheld / 4)));
    for (let attempt = 0; attempt < 20; attempt += 1) {
      stats.reservations += 1;
      const row = await queries.reserveExactly(slot.key, Math.min(want, slot.quota), slot.quota);
      if (row) {
        slot.syncedTotal = row.calls + row.reserved;
        return want;
      }
      const current = await queries.find(slot.key);
      slot.syncedTotal = current ? current.calls + current.reserved : 0;
      const available = slot.quota - slot.syncedTotal;
      if (available <= 0) return heldElsewhere(slot, current?.reserved ?? 0) > 0 ? askOthersToRelease(slot) : 0;
      want = Math.min(want, available);
    }
    return 0;
  }

  /** Units other nodes hold: `reserved` also has our own unreported calls and dropped units. */
  const heldElsewhere = (slot: Slot, reserved: number) => reserved - slot.used - slot.toRelease;

  /**
   * At the limit while other nodes hold units: ask them to report and give theirs back, and wait
   * until a unit is free or nothing is held elsewhere any more (all of it was used).
   */
  async function askOthersToRelease(slot: Slot): Promise<number> {
    const now = Date.now();
    if (slot.releaseAskedAt !== undefined && now - slot.releaseAskedAt < RELEASE_ASK_INTERVAL_MS) return 0;
    slot.releaseAskedAt = now;
    await ctx.bus.publish(ctx.db, TOPIC, { node: nodeId, ...slot.key });
    for (let waited = 0; waited < RELEASE_WAIT_MS; waited += RELEASE_POLL_MS) {
      await sleep(RELEASE_POLL_MS);
      stats.reservations += 1;
      const row = await queries.reserveExactly(slot.key, 1, slot.quota);
      if (row) {
        slot.syncedTotal = row.calls + row.reserved;
        slot.releaseAskedAt = undefined;
        return 1;
      }
      const current = await queries.find(slot.key);
      if (!current || heldElsewhere(slot, current.reserved) <= 0) {
        slot.releaseAskedAt = undefined;
        return 0;
      }
    }
    return 0;
  }

  /** One reservation at a time per slot; concurrent calls share what it brings. */
  function reserveOnce(slot: Slot): Promise<number> {
    slot.reserving ??= reserve(slot)
      .then((units) => { slot.held += units; return units; })
      .finally(() => { slot.reserving = undefined; });
    return slot.reserving;
  }

  let flushing: Promise<void> | undefined;
  /** Reports used calls, gives back dropped units (and idle chunks, when `releaseIdle`). */
  async function report(releaseAll: boolean): Promise<void> {
    const now = Date.now();
    const today = utcDay(ctx.clock.now());
    const batch: Array<{ slot: Slot; report: CounterReport }> = [];
    for (const [name, slot] of slots) {
      const idle = slot.reserving === undefined && (releaseAll || slot.key.day !== today || now - slot.lastUseAt > IDLE_MS);
      if (idle) {
        slot.toRelease += slot.held;
        slot.held = 0;
      }
      if (slot.used > 0 || slot.toRelease > 0) {
        batch.push({ slot, report: { ...slot.key, used: slot.used, released: slot.toRelease } });
        slot.used = 0;
        slot.toRelease = 0;
      } else if (idle) {
        slots.delete(name);
      }
    }
    if (batch.length === 0) return;
    try {
      stats.reports += 1;
      await queries.report(batch.map((b) => b.report));
    } catch (err) {
      // Kept for the next report: nothing counted is lost while the database is away.
      for (const { slot, report: r } of batch) {
        slot.used += r.used;
        slot.toRelease += r.released;
        if (!slots.has(slotName(slot.key))) slots.set(slotName(slot.key), slot);
      }
      ctx.log.warn({ err }, 'reporting usage failed; will retry');
    }
  }

  function flush(releaseAll = false): Promise<void> {
    const run = async () => {
      if (flushing) await flushing.catch(() => {});
      await report(releaseAll);
    };
    const current = run();
    flushing = current;
    return current;
  }

  const timer = setInterval(() => { void flush(); }, flushMs);
  timer.unref();

  return {
    ready,
    stats,

    /** Counts one call if the subject's daily quota allows it. */
    async consume(subject: QuotaSubject, quota: number): Promise<QuotaDecision> {
      const at = ctx.clock.now();
      const now = Date.now();
      const slot = slotFor(subject, utcDay(at), quota, now);
      slot.lastUseAt = now;
      const decision = (allowed: boolean): QuotaDecision => ({
        allowed, limit: quota, resetAt: nextUtcMidnight(at),
        remaining: Math.max(0, quota - slot.syncedTotal + slot.held),
      });
      for (;;) {
        if (slot.held > 0) {
          slot.held -= 1;
          slot.used += 1;
          return decision(true);
        }
        if (slot.exhaustedAt !== undefined && now - slot.exhaustedAt < EXHAUSTED_RECHECK_MS) return decision(false);
        const granted = await reserveOnce(slot);
        if (granted === 0 && slot.held === 0) {
          slot.exhaustedAt = Date.now();
          return decision(false);
        }
        slot.exhaustedAt = undefined;
      }
    },

    /** Reports this node's counts now (before reading usage, so this node's calls are in it). */
    flush: () => flush(),

    /** Calls per UTC day from `since` on, as reported so far by every node. */
    daily: (subject: QuotaSubject, since: string) => queries.daily(subject.kind, subject.id, since),

    /** Reports everything and gives every held unit back: a graceful stop strands nothing. */
    async close(): Promise<void> {
      clearInterval(timer);
      await Promise.allSettled([...slots.values()].map((slot) => slot.reserving));
      await flush(true);
    },
  };
}
export type UsageCounter = ReturnType<typeof createUsageCounter>;

/** `X-RateLimit-Limit` and `X-RateLimit-Remaining`, and `Retry-After` (seconds to the reset) on a refusal. */
export function quotaHeaders(decision: QuotaDecision, now: Date): Record<string, string> {
  const headers: Record<string, string> = { 'X-RateLimit-Limit': String(decision.limit), 'X-RateLimit-Remaining': String(decision.remaining) };
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil((decision.resetAt.getTime() - now.getTime()) / 1000)));
  return headers;
}
