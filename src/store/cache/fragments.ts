// In-process LRU of item fragments (the FragmentCache port), bounded in accounted bytes and entries.
//
// One entry per (scope, article id, updated_at): the article it was rendered from and its
// fragments, up to one per format. Cost of an entry, as accounted against `maxBytes`: its
// fragments' UTF-8 bytes, plus the article held to check hits (2 bytes per character of its
// strings and 16 per value: about 2 × its JSON size for Arabic text), plus the key (2 bytes per
// character) and ENTRY_OVERHEAD. The 4.4 KB Arabic seed article in all three formats costs ~24 KB.
// A hit costs a Map lookup and a field-by-field comparison with the held article (string
// comparisons are memcmp-speed), about 1 µs, against ~40 µs to render and encode the item.

import type { Article, FeedFormat } from "../../core/model.ts";
import { itemFragment, utf8, type ItemSite } from "../../core/render/fragments.ts";
import type { FeedCacheStats, FragmentCache } from "./port.ts";

export interface FragmentCacheOptions {
  maxBytes: number;
  maxEntries: number;
}

/** Map slot, key object and bookkeeping of one entry, estimated. */
const ENTRY_OVERHEAD = 160;

interface Entry {
  source: Article;
  fragments: Partial<Record<FeedFormat, Uint8Array>>;
  bytes: number;
}

export function createMemoryFragmentCache(options: FragmentCacheOptions): FragmentCache {
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const keyOf = (scope: string, article: Article) => `${scope}\n${article.id}\n${article.updated_at}`;

  const drop = (key: string, entry: Entry) => {
    entries.delete(key);
    bytes -= entry.bytes;
  };

  return {
    get(scope, article, format) {
      const key = keyOf(scope, article);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (!sameJson(entry.source, article)) {
        // Edited without a new updated_at: the held fragments describe another article.
        drop(key, entry);
        return undefined;
      }
      entries.delete(key);
      entries.set(key, entry);
      return entry.fragments[format];
    },

    put(scope, article, format, fragment) {
      const key = keyOf(scope, article);
      let entry = entries.get(key);
      if (entry !== undefined && !sameJson(entry.source, article)) {
        drop(key, entry);
        entry = undefined;
      }
      if (entry === undefined) {
        entry = { source: article, fragments: {}, bytes: key.length * 2 + jsonCost(article) + ENTRY_OVERHEAD };
      } else {
        entries.delete(key);
        bytes -= entry.bytes;
        const old = entry.fragments[format];
        if (old !== undefined) entry.bytes -= old.byteLength;
      }
      entry.fragments[format] = fragment;
      entry.bytes += fragment.byteLength;
      if (entry.bytes > options.maxBytes || options.maxEntries < 1) return;
      // Least recently used first: a Map iterates in insertion order and every use re-inserts.
      for (const [oldest, value] of entries) {
        if (bytes + entry.bytes <= options.maxBytes && entries.size < options.maxEntries) break;
        drop(oldest, value);
      }
      entries.set(key, entry);
      bytes += entry.bytes;
    },

    stats() {
      return { entries: entries.size, bytes };
    },
  };
}

/**
 * fragmentFor for renderFeedFromFragments: each item's fragment from `cache`, rendered, encoded
 * and kept on a miss. Without a cache every item is rendered (the bytes are the same).
 */
export function cachedFragments(
  cache: FragmentCache | undefined,
  scope: string,
  site: ItemSite,
  format: FeedFormat,
): (article: Article) => Uint8Array {
  if (cache === undefined) return (article) => utf8(itemFragment(format, site, article));
  return (article) => {
    let fragment = cache.get(scope, article, format);
    if (fragment === undefined) {
      fragment = utf8(itemFragment(format, site, article));
      cache.put(scope, article, format, fragment);
    }
    return fragment;
  };
}

/** Deep equality of JSON data (strings, numbers, booleans, null, arrays, plain objects). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let count = 0;
  for (const key in ra) {
    if (!Object.hasOwn(ra, key)) continue;
    count++;
    if (!Object.hasOwn(rb, key) || !sameJson(ra[key], rb[key])) return false;
  }
  for (const key in rb) if (Object.hasOwn(rb, key)) count--;
  return count === 0;
}

/** Accounted size of JSON data held in memory: 2 bytes per string character, 16 per value. */
function jsonCost(value: unknown): number {
  if (typeof value === "string") return 16 + value.length * 2;
  if (typeof value !== "object" || value === null) return 16;
  let cost = 16;
  if (Array.isArray(value)) {
    for (const v of value) cost += jsonCost(v);
    return cost;
  }
  for (const [key, v] of Object.entries(value)) cost += key.length * 2 + jsonCost(v);
  return cost;
}
