import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { createSettingsQueries } from './queries.js';
import { settingsSchema, type Settings, type SettingsUpdate } from './schemas.js';

const TOPIC = 'settings';

/**
 * Platform settings, read from memory (hot paths consult them) and reloaded when any node
 * changes them (NOTIFY).
 */
export async function createSettingsService(ctx: AppContext, audit: AuditService) {
  const queries = createSettingsQueries(ctx.db);
  let cached: Promise<Settings> | undefined;

  async function load(): Promise<Settings> {
    const rows = await queries.all();
    const stored = Object.fromEntries(rows.filter((r) => r.key in settingsSchema.shape).map((r) => [r.key, r.value]));
    const parsed = settingsSchema.safeParse(stored);
    // A value no longer valid under today's rules falls back to the defaults rather than failing every request.
    return parsed.success ? parsed.data : settingsSchema.parse({});
  }
  const drop = () => { cached = undefined; };
  await ctx.bus.subscribe(TOPIC, drop);
  ctx.bus.onReset(drop);

  return {
    get(): Promise<Settings> {
      cached ??= load().catch((err) => { cached = undefined; throw err; });
      return cached;
    },
    async update(actor: Actor, changes: SettingsUpdate): Promise<Settings> {
      const before = await this.get();
      const now = ctx.clock.now();
      await ctx.db.transaction().execute(async (trx) => {
        const inTrx = createSettingsQueries(trx);
        for (const [key, value] of Object.entries(changes)) await inTrx.upsert(key, value, now);
        await audit.record(trx, actor, {
          action: 'settings.updated', targetType: 'settings', targetId: null,
          details: { changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, { from: before[k as keyof Settings], to: v }])) },
        });
        await ctx.bus.publish(trx, TOPIC, {});
      });
      drop();
      return this.get();
    },
  };
}
export type SettingsService = Awaited<ReturnType<typeof createSettingsService>>;
