// Section 1: rendering. Our renderers against `feed` and `feedsmith`'s generate functions, on the
// same Arabic articles, each timed to the UTF-8 bytes that would be sent (the libraries return a
// string, or an object for feedsmith's JSON Feed, so their encoding is part of their time, as ours is).
//
// Two of ours, never mixed up, both the server's own call (src/http/feeds.ts: renderFeedFromFragments
// with cachedFragments and the Node server's body allocator, allocateBody):
// - full render: no fragment cache; every item rendered, escaped and encoded (into one scratch
//   buffer), then copied into the body (a cold rebuild; with a cache, a rebuild also copies each
//   rendered fragment into the cache);
// - assembly from cached fragments: every item's bytes taken from a warm FragmentCache (each hit
//   checked field by field against an equal copy of the article, as in the server), then copied
//   into the body.
// Both produce a new buffer of exactly the body's size, which no later call writes.

import { Feed } from "feed";
import { generateAtomFeed, generateJsonFeed, generateRssFeed } from "feedsmith";
import { feedId, itemId } from "../src/core/ids.ts";
import type { Article, FeedDocument, FeedFormat } from "../src/core/model.ts";
import { fragmentScope, renderFeedFromFragments, type Allocate } from "../src/core/render/index.ts";
import { allocateBody } from "../src/platform/node-runtime.ts";
import { cachedFragments, createMemoryFragmentCache } from "../src/store/cache/fragments.ts";
import { benchArticles, benchDocument } from "./fixtures.ts";

const encoder = new TextEncoder();

/** The Node server's body allocator (functions/node.ts passes it as AppDeps.allocate): no zero fill, own ArrayBuffer. */
export const bodyAllocate: Allocate = allocateBody;

export interface Contender {
  name: string;
  run: () => Uint8Array;
}

/**
 * Minimum time per call over `batches` rounds, contenders interleaved round by round (so load on
 * a shared machine hits all of them alike). Each round runs a contender for at least `batchMs`.
 */
export function timeInterleaved(contenders: Contender[], batches: number, batchMs: number): Map<string, { us: number; bytes: number }> {
  const best = new Map<string, { us: number; bytes: number }>();
  for (const c of contenders) {
    const bytes = c.run().byteLength; // warm-up, and the size
    for (let i = 0; i < 3; i++) c.run();
    best.set(c.name, { us: Number.POSITIVE_INFINITY, bytes });
  }
  for (let b = 0; b < batches; b++) {
    for (const c of contenders) {
      let calls = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        c.run();
        calls++;
        elapsed = performance.now() - start;
      } while (elapsed < batchMs || calls < 2);
      const us = (elapsed * 1000) / calls;
      const entry = best.get(c.name);
      if (entry && us < entry.us) entry.us = us;
    }
  }
  return best;
}

function feedLibrary(doc: FeedDocument, format: FeedFormat): Uint8Array {
  const { site } = doc;
  const feed = new Feed({
    id: feedId(site, doc.filter),
    title: site.title,
    description: site.description ?? site.title,
    link: site.home_page_url,
    language: site.language,
    updated: new Date(doc.updated),
    generator: "Nashir",
    feedLinks: doc.formatUrls,
    author: { name: site.title, link: site.home_page_url },
    copyright: "",
  });
  for (const a of doc.items) {
    feed.addItem({
      id: itemId(site, a.id),
      guid: itemId(site, a.id),
      title: a.title,
      link: a.url,
      date: new Date(a.updated_at),
      published: new Date(a.published_at),
      ...(a.summary !== undefined ? { description: a.summary } : {}),
      ...(a.content_html !== undefined ? { content: a.content_html } : {}),
      author: a.authors.map((p) => ({ name: p.name })),
      category: [...a.categories, ...a.tags].map((name) => ({ name })),
    });
  }
  const text = format === "rss" ? feed.rss2() : format === "atom" ? feed.atom1() : feed.json1();
  return encoder.encode(text);
}

function feedsmith(doc: FeedDocument, format: FeedFormat): Uint8Array {
  const { site } = doc;
  const items = doc.items;
  if (format === "rss") {
    return encoder.encode(
      generateRssFeed({
        title: site.title,
        link: site.home_page_url,
        description: site.description ?? site.title,
        language: site.language,
        lastBuildDate: new Date(doc.updated),
        generator: "Nashir",
        atom: { links: [{ href: doc.selfUrl, rel: "self", type: "application/rss+xml" }] },
        items: items.map((a: Article) => ({
          title: a.title,
          link: a.url,
          guid: { value: itemId(site, a.id), isPermaLink: false },
          pubDate: new Date(a.published_at),
          ...(a.summary !== undefined ? { description: a.summary } : {}),
          ...(a.content_html !== undefined ? { content: { encoded: a.content_html } } : {}),
          dc: { creators: a.authors.map((p) => p.name) },
          categories: [...a.categories, ...a.tags].map((name) => ({ name })),
        })),
      }),
    );
  }
  if (format === "atom") {
    return encoder.encode(
      generateAtomFeed({
        id: feedId(site, doc.filter),
        title: { value: site.title, type: "text" },
        updated: new Date(doc.updated),
        authors: [{ name: site.title, uri: site.home_page_url }],
        links: [
          { href: doc.selfUrl, rel: "self", type: "application/atom+xml" },
          { href: site.home_page_url, rel: "alternate", type: "text/html" },
        ],
        entries: items.map((a: Article) => ({
          id: itemId(site, a.id),
          title: { value: a.title, type: "text" },
          links: [{ href: a.url, rel: "alternate", type: "text/html" }],
          published: new Date(a.published_at),
          updated: new Date(a.updated_at),
          authors: a.authors.map((p) => ({ name: p.name })),
          categories: [...a.categories, ...a.tags].map((term) => ({ term })),
          ...(a.summary !== undefined ? { summary: { value: a.summary, type: "text" } } : {}),
          ...(a.content_html !== undefined ? { content: { value: a.content_html, type: "html" } } : {}),
        })),
      }),
    );
  }
  const value = generateJsonFeed({
    title: site.title,
    home_page_url: site.home_page_url,
    feed_url: doc.selfUrl,
    language: site.language,
    authors: [{ name: site.title, url: site.home_page_url }],
    items: items.map((a: Article) => ({
      id: itemId(site, a.id),
      url: a.url,
      title: a.title,
      ...(a.summary !== undefined ? { summary: a.summary } : {}),
      ...(a.content_html !== undefined ? { content_html: a.content_html } : {}),
      date_published: new Date(a.published_at),
      date_modified: new Date(a.updated_at),
      authors: a.authors.map((p) => ({ name: p.name })),
      tags: [...a.categories, ...a.tags],
      language: a.language,
    })),
  });
  return encoder.encode(JSON.stringify(value));
}

export interface RenderRow {
  format: FeedFormat;
  items: number;
  feed: { us: number; bytes: number };
  feedsmith: { us: number; bytes: number };
  full: { us: number; bytes: number };
  assembled: { us: number; bytes: number };
  /**
   * One copy of the finished body into a fresh buffer from the server's allocator: the floor under
   * any assembly that produces the body as new bytes (it must at least allocate and write them).
   */
  alloc: { us: number; bytes: number };
  /**
   * JSON Feed only: the native work any JSON renderer does on the same strings, alone: JSON.stringify
   * of every string value of every item and TextEncoder.encodeInto of the result into a reused buffer.
   */
  strings?: { us: number; bytes: number };
}

/** Every string value a JSON Feed item of `a` holds (what JSON.stringify and UTF-8 encoding must go through). */
function jsonItemStrings(doc: FeedDocument, a: Article): string[] {
  return [
    itemId(doc.site, a.id),
    a.url,
    a.title,
    ...(a.summary !== undefined ? [a.summary] : []),
    ...(a.content_html !== undefined ? [a.content_html] : []),
    ...(a.content_text !== undefined ? [a.content_text] : []),
    a.published_at,
    a.updated_at,
    ...a.authors.map((p) => p.name),
    ...a.categories,
    ...a.tags,
    a.language,
  ];
}

export function renderSection(sizes: readonly number[], formats: readonly FeedFormat[], log: (line: string) => void): RenderRow[] {
  const rows: RenderRow[] = [];
  for (const n of sizes) {
    const articles = benchArticles(n);
    for (const format of formats) {
      const doc = benchDocument(articles, format);
      const scope = fragmentScope(doc.site);
      const cache = createMemoryFragmentCache({ maxBytes: 512 * 1024 * 1024, maxEntries: 100_000 });
      const fromCache = () => renderFeedFromFragments(format, doc, cachedFragments(cache, scope, doc.site, format), bodyAllocate);
      const full = () => renderFeedFromFragments(format, doc, cachedFragments(undefined, scope, doc.site, format), bodyAllocate);
      // The cache is filled from other copies of the articles, as a server's earlier request left it:
      // every hit compares equal strings that are not the same objects (as when a store parses rows).
      const earlier = benchDocument(benchArticles(n), format);
      renderFeedFromFragments(format, earlier, cachedFragments(cache, scope, earlier.site, format), bodyAllocate);
      const warm = fromCache();
      if (cache.stats().entries !== n) throw new Error(`fragment cache holds ${cache.stats().entries} of ${n} items`);
      if (!doc.items.every((a) => cache.get(scope, a, format) !== undefined)) throw new Error("assembly would render some items");
      if (Buffer.compare(Buffer.from(warm), Buffer.from(full())) !== 0) throw new Error("assembled bytes differ from the full render");
      // Larger documents get fewer, longer rounds: the total stays bounded.
      const batchMs = n >= 1000 ? 120 : 60;
      const stringsScratch = new Uint8Array(warm.byteLength * 2);
      const values = format === "json" ? doc.items.flatMap((a) => jsonItemStrings(doc, a)) : [];
      const nativeStrings: Contender[] =
        format === "json"
          ? [
              {
                name: "strings",
                run: () => {
                  let at = 0;
                  for (const value of values) at += encoder.encodeInto(JSON.stringify(value), stringsScratch.subarray(at)).written;
                  return stringsScratch.subarray(0, at);
                },
              },
            ]
          : [];
      const timed = timeInterleaved(
        [
          ...nativeStrings,
          { name: "feed", run: () => feedLibrary(doc, format) },
          { name: "feedsmith", run: () => feedsmith(doc, format) },
          { name: "full", run: full },
          { name: "assembled", run: fromCache },
          {
            name: "alloc",
            run: () => {
              const copy = bodyAllocate(warm.byteLength);
              copy.set(warm);
              return copy;
            },
          },
        ],
        5,
        batchMs,
      );
      const get = (name: string) => timed.get(name) ?? { us: Number.NaN, bytes: 0 };
      const row: RenderRow = { format, items: n, feed: get("feed"), feedsmith: get("feedsmith"), full: get("full"), assembled: get("assembled"), alloc: get("alloc") };
      if (format === "json") row.strings = get("strings");
      rows.push(row);
      log(
        `render ${format} ${n}: feed ${row.feed.us.toFixed(0)} µs, feedsmith ${row.feedsmith.us.toFixed(0)} µs, ` +
          `full ${row.full.us.toFixed(0)} µs, assembled ${row.assembled.us.toFixed(0)} µs`,
      );
    }
  }
  return rows;
}
