import type { AppContext } from '../context.js';

const TOPIC = 'revoked_grants';

/**
 * Revoked grants, in the revoked_grants table and in memory on every node (NOTIFY), so that a
 * JWT access token of a revoked grant is refused without a query although it is not stored.
 */
export async function createRevokedGrants(ctx: AppContext) {
  const revoked = new Map<string, number>();
  // A JWT access token outlives its grant's revocation by at most its own lifetime.
  const rememberMs = (ctx.config.accessTokenTtl + 60) * 1000;

  async function reload(): Promise<void> {
    const rows = await ctx.db.selectFrom('revoked_grants').select(['grant_id', 'expires_at'])
      .where('expires_at', '>', ctx.clock.now()).execute();
    revoked.clear();
    for (const row of rows) revoked.set(row.grant_id, row.expires_at.getTime());
  }
  await ctx.bus.subscribe(TOPIC, (payload) => { revoked.set(String(payload.grantId), Number(payload.expiresAt)); });
  ctx.bus.onReset(() => { reload().catch((err) => ctx.log.error({ err }, 'reloading revoked grants failed')); });
  await reload();

  return {
    isRevoked(grantId: string): boolean {
      const until = revoked.get(grantId);
      return until !== undefined && until > ctx.clock.now().getTime();
    },
    async revoke(grantId: string): Promise<void> {
      const expiresAt = new Date(ctx.clock.now().getTime() + rememberMs);
      revoked.set(grantId, expiresAt.getTime());
      await ctx.db.transaction().execute(async (trx) => {
        await trx.insertInto('revoked_grants').values({ grant_id: grantId, expires_at: expiresAt })
          .onConflict((oc) => oc.column('grant_id').doUpdateSet({ expires_at: expiresAt })).execute();
        await ctx.bus.publish(trx, TOPIC, { grantId, expiresAt: expiresAt.getTime() });
      });
    },
    async sweep(): Promise<void> {
      const now = ctx.clock.now();
      await ctx.db.deleteFrom('revoked_grants').where('expires_at', '<=', now).execute();
      for (const [grantId, until] of revoked) if (until <= now.getTime()) revoked.delete(grantId);
    },
  };
}
export type RevokedGrants = Awaited<ReturnType<typeof createRevokedGrants>>;
