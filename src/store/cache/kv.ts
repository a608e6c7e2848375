// Cloudflare KV behind the FeedCache port: rendered feed bytes shared by every location.
// The app's keys already carry the site version (and document key and coding), so an entry is
// never rewritten with other bytes: a new version simply asks for new keys, and the old ones age
// out through their expirationTtl. KV is eventually consistent, which is harmless here: a key
// that has not reached this location yet is a miss, never a stale feed, because the version
// always comes from the store (D1).

import { sha256Hex } from "../../core/auth.ts";
import type { CachedBody, FeedCache } from "./port.ts";

export interface KvFeedCacheOptions {
  /** Seconds an entry lives after its last write (KV's minimum is 60). Default one day. */
  expirationTtl?: number;
  /** Prefix of every key this cache writes, so that a namespace can be shared. Default `feed:`. */
  prefix?: string;
}

/** What the cache stores next to the bytes (KV metadata: at most 1 KiB of JSON). */
interface EntryMetadata {
  empty: boolean;
}

export const KV_MIN_TTL_SECONDS = 60;
export const KV_DEFAULT_TTL_SECONDS = 86_400;

/** The two calls of a KV namespace binding (`KVNamespace`) this cache uses. */
export interface FeedKvNamespace {
  getWithMetadata<Metadata>(key: string, type: "arrayBuffer"): Promise<{ value: ArrayBuffer | null; metadata: Metadata | null }>;
  put(key: string, value: ArrayBufferView, options: { expirationTtl: number; metadata: EntryMetadata }): Promise<void>;
}

/**
 * KV keys are at most 512 bytes, and document keys (base URL, path with a percent-encoded name
 * of up to 200 characters, query) can be longer: the KV key is a SHA-256 of the cache key.
 */
export async function kvKey(prefix: string, key: string): Promise<string> {
  return `${prefix}${await sha256Hex(key)}`;
}

export function createKvFeedCache(kv: FeedKvNamespace, options: KvFeedCacheOptions = {}): FeedCache {
  const expirationTtl = options.expirationTtl ?? KV_DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(expirationTtl) || expirationTtl < KV_MIN_TTL_SECONDS) {
    throw new Error(`expirationTtl must be an integer of at least ${KV_MIN_TTL_SECONDS} seconds, not ${expirationTtl}`);
  }
  const prefix = options.prefix ?? "feed:";

  return {
    async get(key) {
      const { value, metadata } = await kv.getWithMetadata<EntryMetadata>(await kvKey(prefix, key), "arrayBuffer");
      if (value === null) return undefined;
      return { body: new Uint8Array(value), empty: metadata?.empty === true };
    },
    async put(key: string, value: CachedBody) {
      const metadata: EntryMetadata = { empty: value.empty };
      await kv.put(await kvKey(prefix, key), value.body, { expirationTtl, metadata });
    },
  };
}
