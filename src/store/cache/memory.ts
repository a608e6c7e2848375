// In-process LRU cache bounded in bytes and entries. Cost: the bytes it holds plus ~200 B per key.

import type { CachedBody, FeedCache, FeedCacheStats } from "./port.ts";

export interface MemoryCacheOptions {
  maxBytes: number;
  maxEntries: number;
}

/** A FeedCache that always knows its size. */
export type MemoryFeedCache = FeedCache & { stats(): FeedCacheStats };

export function createMemoryFeedCache(options: MemoryCacheOptions): MemoryFeedCache {
  // A Map iterates in insertion order: re-inserting on read makes the first key the least recent.
  const entries = new Map<string, CachedBody>();
  let bytes = 0;

  const evictUntilFits = (incoming: number) => {
    for (const [key, value] of entries) {
      if (bytes + incoming <= options.maxBytes && entries.size < options.maxEntries) break;
      entries.delete(key);
      bytes -= value.body.byteLength;
    }
  };

  return {
    async get(key) {
      const hit = entries.get(key);
      if (hit) {
        entries.delete(key);
        entries.set(key, hit);
      }
      return hit;
    },
    async put(key, value) {
      const size = value.body.byteLength;
      if (size > options.maxBytes || options.maxEntries < 1) return;
      const old = entries.get(key);
      if (old) {
        entries.delete(key);
        bytes -= old.body.byteLength;
      }
      evictUntilFits(size);
      entries.set(key, value);
      bytes += size;
    },
    stats() {
      return { entries: entries.size, bytes };
    },
  };
}
