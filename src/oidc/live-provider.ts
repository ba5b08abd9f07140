import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { AppContext } from '../context.js';
import { loadSigningKeys, nextKeyChangeAt, SIGNING_KEYS_TOPIC } from './keys.js';

/** The provider to serve the next request with; a request under way keeps the one it started with. */
export interface ProviderRef { readonly current: Provider }

/** setTimeout's longest delay (about 24.8 days); a change further away is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The provider signing with the current keys, while nodes run. oidc-provider reads its keys once,
 * at construction, so a change of keys makes a new provider (the same configuration; everything
 * it keeps lives in the database) that serves from the next request on. Keys change when
 * `keys rotate` runs on any node (a notification: the new key is published at once) and by
 * themselves when a next key starts signing or a superseded one retires (a timer).
 */
export async function createLiveProvider(ctx: AppContext, options: {
  keys: JWK[];
  build: (keys: JWK[]) => Provider;
  /** Told of the keys of every provider swapped in (the access-token verifier's key set). */
  keysChanged: (keys: JWK[]) => void;
}) {
  let keys = options.keys;
  let current = options.build(keys);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let reloads = Promise.resolve();

  const kidsOf = (list: JWK[]) => list.map((k) => k.kid).join(' ');

  async function reload(): Promise<void> {
    const next = await loadSigningKeys(ctx.db, ctx.keys.seal, ctx.clock);
    // Same keys in the same order (the signing key first): nothing to swap.
    if (kidsOf(next) !== kidsOf(keys)) {
      current = options.build(next);
      keys = next;
      options.keysChanged(next);
      ctx.log.info({ kids: next.map((k) => k.kid) }, 'signing keys changed: new provider in service');
    }
    await schedule();
  }

  /** One reload at a time; a notification during a reload reloads once more after it. */
  function reloadSoon(): void {
    reloads = reloads.then(reload).catch((err) => ctx.log.error({ err }, 'reloading the signing keys failed'));
  }

  async function schedule(): Promise<void> {
    clearTimeout(timer);
    const at = await nextKeyChangeAt(ctx.db);
    if (closed || !at) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - ctx.clock.now().getTime()) + 50);
    timer = setTimeout(() => { if (!closed) reloadSoon(); }, delay);
    timer.unref();
  }

  await ctx.bus.subscribe(SIGNING_KEYS_TOPIC, () => reloadSoon());
  ctx.bus.onReset(() => reloadSoon()); // a notification may have been missed
  await schedule();

  return {
    get current() { return current; },
    get keys() { return keys; },
    /** Stops the timer; waits for a reload under way. */
    async close() {
      closed = true;
      clearTimeout(timer);
      await reloads;
    },
  };
}
export type LiveProvider = Awaited<ReturnType<typeof createLiveProvider>>;
