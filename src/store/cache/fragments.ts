// In-process LRU of item fragments (the FragmentCache port), bounded in accounted bytes and entries.
//
// One entry per (scope, article id): the article it was rendered from and its fragments, up to one
// per format. An article that differs from the held one in any field (a new updated_at, or an edit
// that kept it) replaces the entry. Cost of an entry, as accounted against `maxBytes`: its
// fragments' UTF-8 bytes, plus the article held to check hits (2 bytes per character of its
// strings and 16 per value: about 2 × its JSON size for Arabic text), plus the id (2 bytes per
// character) and ENTRY_OVERHEAD. The 4.4 KB Arabic seed article in all three formats costs ~24 KB.
// A hit costs two Map lookups and a field-by-field comparison with the held article (the long
// strings compare at memcmp speed), ~0.35 µs for the seed article, against ~17-19 µs to render
// and encode it.

import type { Article, Attachment, FeedFormat, Image, Person } from "../../core/model.ts";
import { renderedFragments, type ItemFragments, type ItemSite } from "../../core/render/fragments.ts";
import type { FragmentCache } from "./port.ts";

export interface FragmentCacheOptions {
  maxBytes: number;
  maxEntries: number;
}

/** Map slots, entry object and bookkeeping of one entry, estimated. */
const ENTRY_OVERHEAD = 160;

/** A place in the recency ring; the cache's own ring is the sentinel between newest and oldest. */
class Link {
  older: Link = this;
  newer: Link = this;
}

class Entry extends Link {
  /** The scope's map that holds this entry, and its key there. */
  readonly scope: Map<string, Entry>;
  readonly scopeKey: string;
  readonly id: string;
  readonly source: Article;
  readonly fragments: Partial<Record<FeedFormat, Uint8Array>>;
  readonly bytes: number;

  constructor(scope: Map<string, Entry>, scopeKey: string, source: Article, fragments: Partial<Record<FeedFormat, Uint8Array>>, bytes: number) {
    super();
    this.scope = scope;
    this.scopeKey = scopeKey;
    this.id = source.id;
    this.source = source;
    this.fragments = fragments;
    this.bytes = bytes;
  }
}

export function createMemoryFragmentCache(options: FragmentCacheOptions): FragmentCache {
  // scope → article id → entry. The scope string is the same object for a whole feed, so its
  // hash is computed once; no per-item key string is built.
  const scopes = new Map<string, Map<string, Entry>>();
  // Least recently used is ring.newer, most recently used is ring.older.
  const ring = new Link();
  let entries = 0;
  let bytes = 0;

  const unlink = (entry: Link) => {
    entry.older.newer = entry.newer;
    entry.newer.older = entry.older;
  };
  const linkNewest = (entry: Link) => {
    entry.newer = ring;
    entry.older = ring.older;
    ring.older.newer = entry;
    ring.older = entry;
  };
  const drop = (entry: Entry) => {
    unlink(entry);
    entry.scope.delete(entry.id);
    if (entry.scope.size === 0) scopes.delete(entry.scopeKey);
    entries--;
    bytes -= entry.bytes;
  };

  return {
    get(scope, article, format) {
      const entry = scopes.get(scope)?.get(article.id);
      if (entry === undefined) return undefined;
      if (!sameArticle(entry.source, article)) {
        // Edited (with or without a new updated_at): the held fragments describe another article.
        drop(entry);
        return undefined;
      }
      unlink(entry);
      linkNewest(entry);
      return entry.fragments[format];
    },

    put(scope, article, format, fragment) {
      let entry = scopes.get(scope)?.get(article.id);
      if (entry !== undefined && !sameArticle(entry.source, article)) {
        drop(entry);
        entry = undefined;
      }
      let kept: Partial<Record<FeedFormat, Uint8Array>> = {};
      let cost = article.id.length * 2 + jsonCost(article) + ENTRY_OVERHEAD;
      let source = article;
      if (entry !== undefined) {
        ({ fragments: kept, source } = entry);
        cost = entry.bytes - (kept[format]?.byteLength ?? 0);
        drop(entry);
      }
      cost += fragment.byteLength;
      if (cost > options.maxBytes || options.maxEntries < 1) return;
      while (entries > 0 && (bytes + cost > options.maxBytes || entries >= options.maxEntries)) {
        // entries > 0, so the oldest link is an entry.
        drop(ring.newer as Entry);
      }
      let scopeEntries = scopes.get(scope);
      if (scopeEntries === undefined) {
        scopeEntries = new Map();
        scopes.set(scope, scopeEntries);
      }
      const added = new Entry(scopeEntries, scope, source, { ...kept, [format]: fragment }, cost);
      scopeEntries.set(article.id, added);
      linkNewest(added);
      entries++;
      bytes += cost;
    },

    stats() {
      return { entries, bytes };
    },
  };
}

/**
 * ItemFragments for renderFeedFromFragments: each item's fragment from `cache`, and each fragment
 * rendered on a miss copied into it. Without a cache every item is rendered (the bytes are the same).
 */
export function cachedFragments(cache: FragmentCache | undefined, scope: string, site: ItemSite, format: FeedFormat): ItemFragments {
  if (cache === undefined) return renderedFragments(format, site);
  return {
    format,
    site,
    held: (article) => cache.get(scope, article, format),
    rendered: (article, bytes) => cache.put(scope, article, format, bytes.slice()),
  };
}

/**
 * The fields sameArticle and its helpers compare, per type: `satisfies` makes a field added to the
 * model a compile error here, and the tests change each listed field and expect a miss.
 */
export const COMPARED_FIELDS = {
  article: {
    id: true, title: true, url: true, published_at: true, updated_at: true, summary: true, content_html: true,
    content_text: true, authors: true, categories: true, tags: true, image: true, attachments: true, language: true,
  } satisfies Record<keyof Article, true>,
  person: { name: true, url: true, email: true } satisfies Record<keyof Person, true>,
  image: { url: true, mime_type: true, alt: true } satisfies Record<keyof Image, true>,
  attachment: { url: true, mime_type: true, size_in_bytes: true, title: true } satisfies Record<keyof Attachment, true>,
};

/**
 * True when two articles are equal in every field, so their fragments are the same bytes. Written
 * out (no generic walk): a hit costs little more than comparing the long strings, which V8 does at
 * memcmp speed. Short fields that change on an edit come first.
 */
export function sameArticle(a: Article, b: Article): boolean {
  return (
    a.updated_at === b.updated_at &&
    a.id === b.id &&
    a.published_at === b.published_at &&
    a.language === b.language &&
    a.title === b.title &&
    a.url === b.url &&
    samePeople(a.authors, b.authors) &&
    sameStrings(a.categories, b.categories) &&
    sameStrings(a.tags, b.tags) &&
    sameImage(a.image, b.image) &&
    sameAttachments(a.attachments, b.attachments) &&
    a.summary === b.summary &&
    a.content_text === b.content_text &&
    a.content_html === b.content_html
  );
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

function samePeople(a: readonly Person[], b: readonly Person[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) {
    const x = a[index] as Person;
    const y = b[index] as Person;
    if (x.name !== y.name || x.url !== y.url || x.email !== y.email) return false;
  }
  return true;
}

function sameImage(a: Image | undefined, b: Image | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.url === b.url && a.mime_type === b.mime_type && a.alt === b.alt;
}

function sameAttachments(a: readonly Attachment[], b: readonly Attachment[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) {
    const x = a[index] as Attachment;
    const y = b[index] as Attachment;
    if (x.url !== y.url || x.mime_type !== y.mime_type || x.size_in_bytes !== y.size_in_bytes || x.title !== y.title) return false;
  }
  return true;
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
