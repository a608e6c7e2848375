// Layers of feed caches, fastest first (on Workers: the Cache API, then KV). A read tries each
// layer in turn; a hit in a slower layer is copied into the faster ones in the background. A
// write goes to every layer. A layer that fails to answer a read counts as a miss.

import type { Background, CachedBody, FeedCache } from "./port.ts";

export interface TieredFeedCacheOptions {
  /**
   * Told about a layer that failed a read (the read goes on to the next layer), or a copy into
   * the faster layers that failed while awaited (with a `background`, the background reports it).
   */
  onError?: (error: unknown, during: "read" | "copy") => void;
}

export function createTieredFeedCache(layers: readonly FeedCache[], options: TieredFeedCacheOptions = {}): FeedCache {
  return {
    async get(key, background?: Background) {
      for (const [index, layer] of layers.entries()) {
        let hit: CachedBody | undefined;
        try {
          hit = await layer.get(key, background);
        } catch (error) {
          options.onError?.(error, "read");
          continue;
        }
        if (!hit) continue;
        if (index > 0) {
          const value = hit;
          const copy = Promise.all(layers.slice(0, index).map((faster) => faster.put(key, value)));
          if (background) await background(copy);
          else await copy.catch((error: unknown) => options.onError?.(error, "copy"));
        }
        return hit;
      }
      return undefined;
    },
    async put(key, value) {
      await Promise.all(layers.map((layer) => layer.put(key, value)));
    },
  };
}
