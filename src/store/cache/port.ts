// The cache port: rendered feed bytes by key. Implementations: in-process (memory), Cloudflare KV
// (kv.ts), the Workers Cache API (edge.ts) and a stack of them (tiered.ts). A cache may forget
// anything at any time; the store is the truth, and the current version is always read from it.

export interface CachedBody {
  /** The encoded bytes as sent (identity, gzip or br). */
  body: Uint8Array;
  /** True when the rendered feed had no items (never cached per name: junk names must not fill it). */
  empty: boolean;
}

/**
 * Takes work that the answer does not wait for (cache writes) and resolves when the caller may go
 * on. On Workers the work goes to `ctx.waitUntil` and this resolves at once; elsewhere it resolves
 * when the work is done. It never rejects: a failed cache write is logged, not answered.
 */
export type Background = (work: Promise<unknown>) => Promise<void>;

export interface FeedCacheStats {
  entries: number;
  bytes: number;
}

export interface FeedCache {
  /**
   * The cached value, or undefined. A layered cache may copy a hit into its faster layers:
   * that copy is handed to `background` when given (and awaited otherwise).
   */
  get(key: string, background?: Background): Promise<CachedBody | undefined>;
  put(key: string, value: CachedBody): Promise<void>;
  /** Current size, for bounds checks and benchmarks; absent where the engine cannot tell (KV, Cache API). */
  stats?(): FeedCacheStats;
}
