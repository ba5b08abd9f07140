import { sql, type Kysely } from 'kysely';
import type { DatabaseHandle } from './connect.js';
import type { Database } from './types.js';

/**
 * Cross-node cache invalidation over PostgreSQL NOTIFY (PGlite: the same, in process).
 * Publishing through a transaction delivers only if, and when, it commits. Every node, the
 * publisher included, receives each message; after a lost connection every subscriber's
 * `onReset` runs, because messages may have been missed.
 */
export interface NotifyBus {
  publish(executor: Kysely<Database>, topic: string, payload: Record<string, unknown>): Promise<void>;
  subscribe(topic: string, handler: (payload: Record<string, unknown>) => void): Promise<void>;
  onReset(handler: () => void): void;
}

const CHANNEL_PREFIX = 'portico_';

export function createNotifyBus(handle: DatabaseHandle, onHandlerError: (err: unknown) => void): NotifyBus {
  return {
    async publish(executor, topic, payload) {
      await sql`select pg_notify(${CHANNEL_PREFIX + topic}, ${JSON.stringify(payload)})`.execute(executor);
    },
    async subscribe(topic, handler) {
      await handle.listen(CHANNEL_PREFIX + topic, (raw) => {
        try {
          handler(JSON.parse(raw) as Record<string, unknown>);
        } catch (err) {
          onHandlerError(err);
        }
      });
    },
    onReset(handler) {
      handle.onListenReconnect(handler);
    },
  };
}
