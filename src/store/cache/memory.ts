// In-process cache bounded in bytes and entries, least recently used first out (second chance).
// Cost: the bytes it holds plus ~200 B per key.

import type { CachedBody, FeedCache, FeedCacheStats } from "./port.ts";

export interface MemoryCacheOptions {
  maxBytes: number;
  maxEntries: number;
}

/** A FeedCache that always knows its size. */
export type MemoryFeedCache = FeedCache & { stats(): FeedCacheStats };

interface Entry {
  value: CachedBody;
  /** Read since it was last passed over for eviction. */
  used: boolean;
}

export function createMemoryFeedCache(options: MemoryCacheOptions): MemoryFeedCache {
  // Second chance (CLOCK): a hit only sets `used`, so reads never reorder the Map; eviction walks
  // from the oldest, moving a used entry to the back once (clearing `used`) and dropping the rest.
  // Close to LRU without a Map delete and insert on every hit.
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const evictUntilFits = (incoming: number) => {
    for (const [key, entry] of entries) {
      if (bytes + incoming <= options.maxBytes && entries.size < options.maxEntries) break;
      entries.delete(key);
      if (entry.used) {
        entry.used = false;
        entries.set(key, entry);
      } else {
        bytes -= entry.value.body.byteLength;
      }
    }
  };

  const peek = (key: string): CachedBody | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  };

  return {
    async get(key) {
      return peek(key);
    },
    peek,
    async put(key, value) {
      const size = value.body.byteLength;
      if (size > options.maxBytes || options.maxEntries < 1) return;
      const old = entries.get(key);
      if (old) {
        entries.delete(key);
        bytes -= old.value.body.byteLength;
      }
      evictUntilFits(size);
      entries.set(key, { value, used: false });
      bytes += size;
    },
    stats() {
      return { entries: entries.size, bytes };
    },
  };
}
