import { sql, type Kysely } from 'kysely';
import type { DatabaseHandle } from './connect.js';
import type { Database } from './types.js';

/**
 * Cross-node cache invalidation over PostgreSQL NOTIFY (PGlite: the same, in process).
 * Publishing through a transaction delivers to other nodes only if, and when, it commits; the
 * publishing node's handlers run at once as well (and again when the notification comes back).
 * After a lost connection every subscriber's `onReset` runs, because messages may have been missed.
 */
export interface NotifyBus {
  publish(executor: Kysely<Database>, topic: string, payload: Record<string, unknown>): Promise<void>;
  subscribe(topic: string, handler: (payload: Record<string, unknown>) => void): Promise<void>;
  onReset(handler: () => void): void;
}

const CHANNEL_PREFIX = 'portico_';

export function createNotifyBus(handle: DatabaseHandle, onHandlerError: (err: unknown) => void): NotifyBus {
  const local = new Map<string, Array<(payload: Record<string, unknown>) => void>>();
  const deliver = (handler: (payload: Record<string, unknown>) => void, payload: Record<string, unknown>) => {
    try {
      handler(payload);
    } catch (err) {
      onHandlerError(err);
    }
  };
  return {
    async publish(executor, topic, payload) {
      await sql`select pg_notify(${CHANNEL_PREFIX + topic}, ${JSON.stringify(payload)})`.execute(executor);
      // This node at once too: its own notification comes back only some time after the commit,
      // and the answer to the change must not be followed by a read of what it replaced. (Handlers
      // only drop or mark entries, so running twice is harmless.)
      for (const handler of local.get(topic) ?? []) deliver(handler, payload);
    },
    async subscribe(topic, handler) {
      local.set(topic, [...(local.get(topic) ?? []), handler]);
      await handle.listen(CHANNEL_PREFIX + topic, (raw) => {
        let payload: Record<string, unknown>;
        try {
          payload = JSON.parse(raw) as Record<string, unknown>;
        } catch (err) {
          onHandlerError(err);
          return;
        }
        deliver(handler, payload);
      });
    },
    onReset(handler) {
      handle.onListenReconnect(handler);
    },
  };
}
