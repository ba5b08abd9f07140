import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.stop(); });

function nextMessage(topic: string, timeoutMs = 2000): Promise<Record<string, unknown> | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    void server.portico.context.bus.subscribe(topic, (payload) => { clearTimeout(timer); resolve(payload); });
  });
}

describe('the NOTIFY bus', () => {
  it('delivers a message published inside a transaction once it commits', async () => {
    const { bus, db } = server.portico.context;
    const received = nextMessage('bus_test_commit');
    await new Promise((r) => setTimeout(r, 50)); // LISTEN is in place
    await db.transaction().execute(async (trx) => { await bus.publish(trx, 'bus_test_commit', { id: 'a-1' }); });
    expect(await received).toEqual({ id: 'a-1' });
  });

  it('runs the publishing node\'s handlers at once, and sends other nodes nothing if the transaction rolls back', async () => {
    const { bus, db } = server.portico.context;
    const received: unknown[] = [];
    await bus.subscribe('bus_test_rollback', (payload) => received.push(payload));
    await new Promise((r) => setTimeout(r, 50));
    await expect(db.transaction().execute(async (trx) => {
      await bus.publish(trx, 'bus_test_rollback', { id: 'b-1' });
      expect(received).toEqual([{ id: 'b-1' }]); // here, before the commit: a read after the change never sees what it replaced
      throw new Error('roll back');
    })).rejects.toThrow('roll back');
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual([{ id: 'b-1' }]); // no notification came back from the database
  });

  it('drops cached settings on every change, so a change made through SQL elsewhere is seen', async () => {
    const { bus, db } = server.portico.context;
    const admin = await server.adminToken();
    expect((await server.api.get('/api/v1/admin/settings', { token: admin })).body.consumerDailyQuota).toBe(100000);
    // As another node would: write the row and notify, without this node's service.
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('settings').values({ key: 'consumerDailyQuota', value: '777' })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: '777' })).execute();
      await bus.publish(trx, 'settings', {});
    });
    await new Promise((r) => setTimeout(r, 100));
    expect((await server.api.get('/api/v1/admin/settings', { token: admin })).body.consumerDailyQuota).toBe(777);
  });
});
