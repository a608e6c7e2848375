// The cache port: rendered feed bytes by key. Implementations: in-process (memory), Cloudflare KV
// (kv.ts), the Workers Cache API (edge.ts) and a stack of them (tiered.ts). A cache may forget
// anything at any time; the store is the truth, and the current version is always read from it.

import type { Article, FeedFormat } from "../../core/model.ts";

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
  /**
   * In-process caches only: what `get` would answer, now (same recency effect), so a server can
   * answer a hot request without waiting a promise turn. Absent on caches behind a network.
   */
  peek?(key: string): CachedBody | undefined;
  put(key: string, value: CachedBody): Promise<void>;
  /** Current size, for bounds checks and benchmarks; absent where the engine cannot tell (KV, Cache API). */
  stats?(): FeedCacheStats;
}

/**
 * Rendered item fragments (src/core/render/fragments.ts), the parts a feed is assembled from.
 * A separate small port, not FeedCache under a key prefix: a rebuild asks for up to 100 fragments,
 * so a lookup must be synchronous and in process (a network round trip per item costs more than
 * rendering it, ~40 µs), and a hit must be checked against the article itself, not only a key.
 *
 * An entry belongs to a `scope` (fragmentScope: the site's slug and the settings items depend on)
 * and an article id and updated_at, and holds the article it was rendered from: `get` answers only
 * when the article asked about is equal, field by field, to that one. So a fragment never crosses
 * sites, never survives an edit (even one that keeps updated_at), and never outlives a settings
 * change (a new scope).
 */
export interface FragmentCache {
  /** The UTF-8 fragment of exactly this article in `format` under `scope`, or undefined. */
  get(scope: string, article: Article, format: FeedFormat): Uint8Array | undefined;
  put(scope: string, article: Article, format: FeedFormat, fragment: Uint8Array): void;
  /** Current size in accounted bytes (fragments plus the articles held to check hits) and entries. */
  stats(): FeedCacheStats;
}
