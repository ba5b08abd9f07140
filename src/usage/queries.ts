import { sql, type Kysely } from 'kysely';
import type { Database, UsageSubjectKind } from '../db/types.js';

export interface CounterKey { kind: UsageSubjectKind; id: string; day: string }
export interface CounterReport extends CounterKey { used: number; released: number }

export function createUsageQueries(db: Kysely<Database>) {
  return {
    /**
     * Reserves exactly `units` of the day's quota, or nothing: the row is only changed when
     * calls + reserved stays within the quota. Returns the row after, or undefined if refused.
     */
    async reserveExactly(key: CounterKey, units: number, quota: number) {
      return db.insertInto('usage_counters')
        .values({ subject_kind: key.kind, subject_id: key.id, day: key.day, reserved: units })
        .onConflict((oc) => oc.columns(['subject_kind', 'subject_id', 'day'])
          .doUpdateSet({ reserved: sql`usage_counters.reserved + excluded.reserved` })
          .where(sql<boolean>`usage_counters.calls + usage_counters.reserved + excluded.reserved <= ${quota}`))
        .returning(['calls', 'reserved'])
        .executeTakeFirst();
    },

    find(key: CounterKey) {
      return db.selectFrom('usage_counters').select(['calls', 'reserved'])
        .where('subject_kind', '=', key.kind).where('subject_id', '=', key.id).where('day', '=', key.day)
        .executeTakeFirst();
    },

    /**
     * Moves used units from reserved to calls and gives back released ones, for many counters in
     * one statement, once per (node, seq): a report sent again after a lost answer changes nothing.
     */
    async report(nodeId: string, seq: number, reports: CounterReport[]) {
      const column = <T>(pick: (r: CounterReport) => T) => reports.map(pick);
      await sql`
        with first_time as (
          insert into usage_reports (node_id, seq) values (${nodeId}, ${seq}) on conflict do nothing returning 1
        )
        update usage_counters u
        set calls = u.calls + v.used, reserved = greatest(0, u.reserved - v.used - v.released)
        from unnest(${column((r) => r.kind)}::text[], ${column((r) => r.id)}::uuid[], ${column((r) => r.day)}::date[],
                    ${column((r) => r.used)}::bigint[], ${column((r) => r.released)}::bigint[]) as v(kind, id, day, used, released)
        where u.subject_kind = v.kind and u.subject_id = v.id and u.day = v.day and exists (select 1 from first_time)`.execute(db);
    },

    forgetReports(before: Date) {
      return db.deleteFrom('usage_reports').where('reported_at', '<', before).execute();
    },

    /** Calls per day from `since` (a UTC day) on, days without calls left out. */
    daily(kind: UsageSubjectKind, id: string, since: string) {
      return db.selectFrom('usage_counters')
        .select([sql<string>`day::text`.as('day'), 'calls'])
        .where('subject_kind', '=', kind).where('subject_id', '=', id).where('day', '>=', since)
        .orderBy('day')
        .execute();
    },

    deleteOf(kind: UsageSubjectKind, id: string) {
      return db.deleteFrom('usage_counters').where('subject_kind', '=', kind).where('subject_id', '=', id).execute();
    },
  };
}
