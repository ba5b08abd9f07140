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
  /** Units (used and released) in a report not yet confirmed by the database. */
  reporting: number;
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
  /** The reservation under way was made ahead of need (it does not ask other nodes). */
  reservingAhead?: boolean;
}

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);
/** The UTC day of `at` and its end, for the hot path: made once and kept until the next UTC midnight. */
let dayCache = { day: '', start: 0, end: 0 };
function currentDay(at: Date): { day: string; end: number } {
  const ms = at.getTime();
  if (ms >= dayCache.end || ms < dayCache.start) {
    const start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
    dayCache = { day: utcDay(at), start, end: start + 86_400_000 };
  }
  return dayCache;
}
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
  /** Database round trips, calls that had to wait for one and refused calls, for metrics and for the tests that hold the counter to its promise. */
  const stats = { reservations: 0, reports: 0, waits: 0, denials: 0 };

  const ready = ctx.bus.subscribe(TOPIC, (payload) => {
    if (payload.node === nodeId) return;
    const slot = slots.get(slotName({ kind: payload.kind as UsageSubjectKind, id: String(payload.id), day: String(payload.day) }));
    if (!slot) return;
    slot.tail = true;
    dropHeld(slot);
    void flush();
  });

  /** Gives this node's unused units back (at the next report). */
  function dropHeld(slot: Slot): void {
    slot.toRelease += slot.held;
    slot.held = 0;
  }

  function slotFor(subject: QuotaSubject, day: string, quota: number, now: number): Slot {
    const key = { kind: subject.kind, id: subject.id, day };
    const name = slotName(key);
    let slot = slots.get(name);
    if (!slot) {
      slot = { key, quota, held: 0, used: 0, toRelease: 0, reporting: 0, syncedTotal: 0, chunk: chunkMin, lastReserveAt: 0, lastUseAt: now, tail: false };
      slots.set(name, slot);
    }
    if (slot.quota !== quota) {
      // A changed quota: units held under the old one go back, the next call reserves anew, and
      // the one-unit-at-a-time mode of the old limit ends.
      dropHeld(slot);
      slot.exhaustedAt = undefined;
      slot.tail = false;
      slot.releaseAskedAt = undefined;
      slot.quota = quota;
    }
    return slot;
  }

  /**
   * Reserves units under `quota` (the slot's when the reservation started); returns how many.
   * `ahead`: reserved before the chunk runs out, so it never asks other nodes for their units.
   */
  async function reserve(slot: Slot, quota: number, ahead: boolean): Promise<number> {
    const now = Date.now();
    slot.chunk = now - slot.lastReserveAt < 1_000 ? Math.min(chunkMax, slot.chunk * 2) : now - slot.lastReserveAt > IDLE_MS ? chunkMin : slot.chunk;
    slot.lastReserveAt = now;
    // Never more than a quarter of what nobody holds, so other nodes near the limit find some too.
    const share = (unheld: number) => Math.max(1, Math.min(slot.chunk, Math.floor(unheld / 4)));
    let want = Math.min(quota, slot.tail ? 1 : share(quota - slot.syncedTotal));
    for (let attempt = 0; attempt < 20; attempt += 1) {
      stats.reservations += 1;
      const row = await queries.reserveExactly(slot.key, want, quota);
      if (row) {
        slot.syncedTotal = row.calls + row.reserved;
        return want;
      }
      const current = await queries.find(slot.key);
      slot.syncedTotal = current ? current.calls + current.reserved : 0;
      const available = quota - slot.syncedTotal;
      if (available <= 0) return !ahead && heldElsewhere(slot, current?.reserved ?? 0) > 0 ? askOthersToRelease(slot, quota) : 0;
      want = Math.min(want, share(available));
    }
    return 0;
  }

  /** Units other nodes hold: `reserved` also has our own unreported calls and dropped units. */
  const heldElsewhere = (slot: Slot, reserved: number) => reserved - slot.used - slot.toRelease - slot.reporting;

  /**
   * At the limit while other nodes hold units: ask them to report and give theirs back, and wait
   * until a unit is free or nothing is held elsewhere any more (all of it was used).
   */
  async function askOthersToRelease(slot: Slot, quota: number): Promise<number> {
    const now = Date.now();
    if (slot.releaseAskedAt !== undefined && now - slot.releaseAskedAt < RELEASE_ASK_INTERVAL_MS) return 0;
    await ctx.bus.publish(ctx.db, TOPIC, { node: nodeId, ...slot.key });
    slot.releaseAskedAt = now;
    for (let waited = 0; waited < RELEASE_WAIT_MS; waited += RELEASE_POLL_MS) {
      await sleep(RELEASE_POLL_MS);
      stats.reservations += 1;
      const row = await queries.reserveExactly(slot.key, 1, quota);
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

  /**
   * One reservation at a time per slot; concurrent calls share what it brings. Units reserved
   * under a quota that changed meanwhile are not served: they go back with the next report.
   */
  function reserveOnce(slot: Slot, ahead = false): Promise<number> {
    const quota = slot.quota;
    if (slot.reserving) return slot.reserving;
    slot.reservingAhead = ahead;
    slot.reserving = reserve(slot, quota, ahead)
      .then((units) => {
        if (slot.quota !== quota) {
          slot.toRelease += units;
          return 0;
        }
        slot.held += units;
        return units;
      })
      .finally(() => { slot.reserving = undefined; });
    return slot.reserving;
  }

  let flushing: Promise<void> | undefined;
  /** A report the database has not confirmed: sent again as it is, under its sequence number. */
  let unconfirmed: { seq: number; batch: Array<{ slot: Slot; report: CounterReport }> } | undefined;
  let nextSeq = 1;

  /** Moves used calls and dropped units (idle chunks too, or all of them) out of the slots into a report. */
  function collect(releaseAll: boolean): Array<{ slot: Slot; report: CounterReport }> {
    const now = Date.now();
    const today = utcDay(ctx.clock.now());
    const batch: Array<{ slot: Slot; report: CounterReport }> = [];
    for (const [name, slot] of slots) {
      const idle = slot.reserving === undefined && (releaseAll || slot.key.day !== today || now - slot.lastUseAt > IDLE_MS);
      if (idle) dropHeld(slot);
      if (slot.used > 0 || slot.toRelease > 0) {
        batch.push({ slot, report: { ...slot.key, used: slot.used, released: slot.toRelease } });
        slot.reporting += slot.used + slot.toRelease;
        slot.used = 0;
        slot.toRelease = 0;
      } else if (idle && slot.reporting === 0) {
        slots.delete(name);
      }
    }
    return batch;
  }

  /**
   * Sends the unconfirmed report again, or a new one. A report whose answer was lost may have
   * been applied: its sequence number makes the database apply it once only.
   */
  async function report(releaseAll: boolean): Promise<void> {
    if (!unconfirmed) {
      const batch = collect(releaseAll);
      if (batch.length === 0) return;
      unconfirmed = { seq: nextSeq++, batch };
    }
    const { seq, batch } = unconfirmed;
    try {
      stats.reports += 1;
      await queries.report(nodeId, seq, batch.map((b) => b.report));
    } catch (err) {
      ctx.log.warn({ err }, 'reporting usage failed; will retry');
      return;
    }
    unconfirmed = undefined;
    for (const { slot, report: r } of batch) slot.reporting -= r.used + r.released;
    if (releaseAll) await report(true);
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
  let closed = false;

  return {
    ready,
    stats,

    /** Counts one call if the subject's daily quota allows it. */
    async consume(subject: QuotaSubject, quota: number): Promise<QuotaDecision> {
      const at = ctx.clock.now();
      const { day, end } = currentDay(at);
      if (!ctx.config.usageCounting) return { allowed: true, limit: quota, remaining: quota, resetAt: new Date(end) };
      const now = Date.now();
      const slot = slotFor(subject, day, quota, now);
      slot.lastUseAt = now;
      const decision = (allowed: boolean): QuotaDecision => {
        if (!allowed) stats.denials += 1;
        return { allowed, limit: quota, resetAt: new Date(end), remaining: Math.max(0, quota - slot.syncedTotal + slot.held) };
      };
      for (;;) {
        if (slot.held > 0) {
          slot.held -= 1;
          slot.used += 1;
          // The next chunk is reserved while a quarter of this one is left: calls never wait for the database.
          if (slot.held * 4 < slot.chunk && !slot.reserving && !slot.tail && !closed) {
            reserveOnce(slot, true).catch((err) => ctx.log.warn({ err }, 'reserving usage ahead failed'));
          }
          return decision(true);
        }
        // After close nothing is reserved: it could never be given back.
        if (closed || (slot.exhaustedAt !== undefined && now - slot.exhaustedAt < EXHAUSTED_RECHECK_MS)) return decision(false);
        stats.waits += 1;
        if (slot.reserving && slot.reservingAhead) {
          await slot.reserving.catch(() => 0); // it may bring units; if not, a reservation of our own may ask other nodes
          continue;
        }
        const quotaAsked = slot.quota;
        const granted = await reserveOnce(slot);
        if (granted === 0 && slot.quota !== quotaAsked) continue; // reserved under an older quota: ask again
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

    /** Reports everything and gives every held unit back (one retry if the database fails): a graceful stop strands nothing. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      await Promise.allSettled([...slots.values()].map((slot) => slot.reserving));
      await flush(true);
      if (unconfirmed) await sleep(flushMs).then(() => flush(true));
    },

    /** Forgets the sequence numbers of reports older than a day (they cannot be sent again). */
    sweep: () => queries.forgetReports(new Date(ctx.clock.now().getTime() - 86_400_000)),
  };
}
export type UsageCounter = ReturnType<typeof createUsageCounter>;

/** `X-RateLimit-Limit` and `X-RateLimit-Remaining`, and `Retry-After` (seconds to the reset) on a refusal. */
export function quotaHeaders(decision: QuotaDecision, now: Date): Record<string, string> {
  const headers: Record<string, string> = { 'X-RateLimit-Limit': String(decision.limit), 'X-RateLimit-Remaining': String(decision.remaining) };
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil((decision.resetAt.getTime() - now.getTime()) / 1000)));
  return headers;
}
