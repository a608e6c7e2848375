// The cache port: rendered feed bytes by key. Implementations: in-process (memory), later
// Cloudflare KV and the Cache API. A cache may forget anything at any time; the store is the truth.

export interface CachedBody {
  /** The encoded bytes as sent (identity, gzip or br). */
  body: Uint8Array;
  /** True when the rendered feed had no items (never cached per name: junk names must not fill it). */
  empty: boolean;
}

export interface FeedCache {
  get(key: string): Promise<CachedBody | undefined>;
  put(key: string, value: CachedBody): Promise<void>;
  /** Current size, for bounds checks and benchmarks. */
  stats(): { entries: number; bytes: number };
}
