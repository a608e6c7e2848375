// The Workers Cache API (`caches.default`) behind the FeedCache port: the fastest layer on
// Cloudflare, local to each data centre and free of charge. Entries are stored under a synthetic
// URL derived from the cache key, which carries the site version: a new version asks for new
// URLs, so nothing is ever purged, and old entries fall out by max-age and eviction.

import { sha256Hex } from "../../core/auth.ts";
import type { CachedBody, FeedCache } from "./port.ts";

export interface EdgeFeedCacheOptions {
  /** Origin of the synthetic URLs; never served, only a namespace. */
  origin?: string;
  /** How long the Cache API may keep an entry. Default one day. */
  maxAgeSeconds?: number;
}

/** The two Cache API calls this cache uses (`caches.default` on Workers). */
export interface ResponseCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
}

const EMPTY_HEADER = "x-nashir-empty";

export function createEdgeFeedCache(cache: ResponseCache, options: EdgeFeedCacheOptions = {}): FeedCache {
  const origin = (options.origin ?? "https://feed-cache.nashir.internal").replace(/\/+$/, "");
  const maxAge = options.maxAgeSeconds ?? 86_400;
  if (!Number.isInteger(maxAge) || maxAge < 1) throw new Error(`maxAgeSeconds must be a positive integer, not ${maxAge}`);
  const urlOf = async (key: string) => `${origin}/${await sha256Hex(key)}`;

  return {
    async get(key) {
      const hit = await cache.match(await urlOf(key));
      if (!hit) return undefined;
      return { body: new Uint8Array(await hit.arrayBuffer()), empty: hit.headers.get(EMPTY_HEADER) === "1" };
    },
    async put(key: string, value: CachedBody) {
      const response = new Response(value.body as Uint8Array<ArrayBuffer>, {
        headers: {
          "cache-control": `public, max-age=${maxAge}`,
          "content-type": "application/octet-stream",
          [EMPTY_HEADER]: value.empty ? "1" : "0",
        },
      });
      await cache.put(await urlOf(key), response);
    },
  };
}
