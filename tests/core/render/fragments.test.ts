// Feeds assembled from per-item fragments are byte for byte the feeds rendered in one go, for any
// set of articles, with fragments rendered now or taken from a warm cache.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Article, FeedDocument, FeedFormat, Site } from "../../../src/core/model.ts";
import { fragmentScope, itemFragment, renderFeed, renderFeedFromFragments, renderedFragments } from "../../../src/core/render/index.ts";
import { cachedFragments, createMemoryFragmentCache } from "../../../src/store/cache/fragments.ts";
import { makeDoc, seedArticle, seedSite } from "./helpers.ts";

const FORMATS: readonly FeedFormat[] = ["rss", "atom", "json"];
const encoder = new TextEncoder();

/** Text with what the renderers must escape or wrap: markup, quotes, Arabic, U+2028, astral. */
const text = fc
  .array(fc.constantFrom("a", "Z", " ", "&", "<", ">", '"', "'", "نيسان", "ـ", "\u2028", "\u2029", "😀", "é", "\\", "]]>", "\t"), {
    minLength: 1,
    maxLength: 12,
  })
  .map((parts) => parts.join(""));
const language = fc.constantFrom("ar", "en", "en-GB", "fr", "he", "ar-Latn");
const instant = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2026, 0, 1) })
  .map((ms) => new Date(ms - (ms % 1000 === 0 ? 0 : ms % 7)).toISOString().replace(".000Z", "Z"));

const article: fc.Arbitrary<Article> = fc
  .record(
    {
      id: fc.stringMatching(/^[a-z0-9][a-z0-9:._-]{0,20}$/),
      title: text,
      url: fc.webUrl(),
      published_at: instant,
      updated_at: instant,
      summary: text,
      content_html: text.map((t) => `<p>${t.replace(/[&<>"']/g, "")}</p>`),
      content_text: text,
      authors: fc.array(fc.record({ name: text, url: fc.webUrl(), email: fc.constant("a@nisan.example") }, { requiredKeys: ["name"] }), { maxLength: 2 }),
      categories: fc.array(text, { maxLength: 3 }),
      tags: fc.array(text, { maxLength: 3 }),
      image: fc.record({ url: fc.webUrl(), mime_type: fc.constantFrom("image/jpeg", "image/png"), alt: text }, { requiredKeys: ["url"] }),
      attachments: fc.array(
        fc.record({ url: fc.webUrl(), mime_type: fc.constantFrom("audio/mpeg", "video/mp4"), size_in_bytes: fc.nat(), title: text }, { requiredKeys: ["url", "mime_type"] }),
        { maxLength: 2 },
      ),
      language,
    },
    { requiredKeys: ["id", "title", "url", "published_at", "updated_at", "authors", "categories", "tags", "attachments", "language"] },
  )
  .map((a) => ({ ...a, updated_at: a.updated_at < a.published_at ? a.published_at : a.updated_at }));

const site: fc.Arbitrary<Site> = fc
  .record({ language, title: text, websub: fc.boolean(), icon: fc.boolean() })
  .map(({ language: lang, title, websub, icon }) =>
    seedSite({ language: lang, title, websub_hubs: websub ? ["https://hub.example/"] : [], ...(icon ? { icon: "https://nisan.example/i.png" } : {}) }),
  );

const doc: fc.Arbitrary<FeedDocument> = fc
  .record({
    site,
    items: fc.uniqueArray(article, { maxLength: 8, selector: (a) => a.id }),
    archive: fc.boolean(),
    next: fc.boolean(),
    tombstones: fc.array(fc.record({ id: fc.stringMatching(/^[a-z]{1,8}$/), published_at: instant, deleted_at: instant }), { maxLength: 2 }),
  })
  .map(({ site: s, items, archive, next, tombstones }) =>
    makeDoc(
      items,
      {
        archive,
        tombstones,
        ...(archive ? { history: { current: "https://feeds.nisan.example/nisan/rss.xml", prevArchive: "https://feeds.nisan.example/nisan/archive/2024/05/rss.xml" } } : {}),
        ...(next ? { nextUrl: "https://feeds.nisan.example/nisan/rss.xml?before=x&limit=2" } : {}),
      },
      s,
    ),
  );

describe("feeds from fragments", () => {
  it("are byte-identical to the full renderers for random article sets", () => {
    fc.assert(
      fc.property(doc, (d) => {
        for (const format of FORMATS) {
          const full = encoder.encode(renderFeed(format, d));
          expect(renderFeedFromFragments(format, d, renderedFragments(format, d.site))).toEqual(full);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("are byte-identical with long text of any UTF-16 in every field (each writer path, short and long)", () => {
    // Text past ByteWriter's short-text limit (64 units) goes through JSON.stringify and encodeInto,
    // shorter text through jsonEscapedInto: both must match the string renderer on any code unit.
    const unit = fc.oneof(
      fc.constantFrom('"', "\\", "<", "&", "\u0000", "\u0001", "\b", "\u001f", "\u007f", "\u0085", "\u2028", "\u2029", "\ufeff", "\uffff"),
      fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "نيسان ", "\u200f", "é"),
      fc.string({ unit: "binary", maxLength: 8 }),
    );
    const anyText = fc.array(unit, { maxLength: 120 }).map((parts) => parts.join(""));
    const hostile = fc.record({
      title: anyText,
      summary: anyText,
      content_html: anyText,
      content_text: anyText,
      author: anyText,
      tag: anyText,
      language: fc.constantFrom("ar", "en"),
    });
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 3 }), (items) => {
        const articles: Article[] = items.map((h, index) =>
          seedArticle({
            id: `long-${index}`,
            title: h.title,
            summary: h.summary,
            content_html: h.content_html,
            content_text: h.content_text,
            authors: [{ name: h.author }],
            tags: [h.tag],
            language: h.language,
          }),
        );
        const d = makeDoc(articles);
        for (const format of FORMATS) {
          expect(renderFeedFromFragments(format, d, renderedFragments(format, d.site))).toEqual(encoder.encode(renderFeed(format, d)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("are byte-identical when every fragment comes from a warm cache", () => {
    const cache = createMemoryFragmentCache({ maxBytes: 64 * 1024 * 1024, maxEntries: 100_000 });
    fc.assert(
      fc.property(doc, (d) => {
        const scope = fragmentScope(d.site);
        for (const format of FORMATS) {
          const full = encoder.encode(renderFeed(format, d));
          const cold = renderFeedFromFragments(format, d, cachedFragments(cache, scope, d.site, format));
          // Fresh copies of the articles, as a store answers them: equal, never the same objects.
          const again: FeedDocument = { ...d, items: d.items.map((a) => structuredClone(a)) };
          let misses = 0;
          const fromCache = cachedFragments(cache, scope, d.site, format);
          const warm = renderFeedFromFragments(format, again, {
            ...fromCache,
            rendered(a, bytes) {
              misses++;
              fromCache.rendered(a, bytes);
            },
          });
          expect(cold).toEqual(full);
          expect(warm).toEqual(full);
          expect(misses).toBe(0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("an empty feed is the frame alone", () => {
    const d = makeDoc([]);
    for (const format of FORMATS) {
      const none = {
        format,
        site: d.site,
        held: () => {
          throw new Error("no items, no fragments");
        },
        rendered: () => {
          throw new Error("no items, no fragments");
        },
      };
      expect(renderFeedFromFragments(format, d, none)).toEqual(encoder.encode(renderFeed(format, d)));
    }
  });

  it("hands each rendered fragment over exactly, and what a cache copied stays intact after later renders", () => {
    const site = seedSite();
    const d = makeDoc([seedArticle(), seedArticle({ id: "second", title: "ثانٍ & <b>" })]);
    for (const format of FORMATS) {
      const kept: Uint8Array[] = [];
      const views: Uint8Array[] = [];
      renderFeedFromFragments(format, d, {
        ...renderedFragments(format, site),
        rendered(_a, bytes) {
          views.push(bytes);
          kept.push(bytes.slice());
        },
      });
      expect(kept.map((b) => new TextDecoder().decode(b))).toEqual(d.items.map((a) => itemFragment(format, site, a)));
      // Another render reuses the scratch memory the views point into; the copies are unaffected.
      renderFeedFromFragments(format, makeDoc([seedArticle({ id: "third", title: "x".repeat(5000) })]), renderedFragments(format, site));
      expect(kept.map((b) => new TextDecoder().decode(b))).toEqual(d.items.map((a) => itemFragment(format, site, a)));
      expect(views.length).toBe(2);
    }
  });

  it("writes into the buffer that allocate gives, of exactly the body's size", () => {
    const d = makeDoc([seedArticle(), seedArticle({ id: "second" })]);
    const cache = createMemoryFragmentCache({ maxBytes: 1024 * 1024, maxEntries: 100 });
    for (const format of FORMATS) {
      const full = encoder.encode(renderFeed(format, d));
      const sizes: number[] = [];
      // Garbage in the fresh buffer must not matter: every byte is written.
      const dirty = (n: number) => {
        sizes.push(n);
        return new Uint8Array(n).fill(0xab);
      };
      const fragments = cachedFragments(cache, fragmentScope(d.site), d.site, format);
      expect(renderFeedFromFragments(format, d, fragments, dirty)).toEqual(full); // rendered
      expect(renderFeedFromFragments(format, d, fragments, dirty)).toEqual(full); // held
      expect(sizes).toEqual([full.byteLength, full.byteLength]);
      expect(() => renderFeedFromFragments(format, d, fragments, (n) => new Uint8Array(n + 1))).toThrow();
    }
  });

  it("refuses fragments of another format", () => {
    const d = makeDoc([seedArticle()]);
    expect(() => renderFeedFromFragments("rss", d, renderedFragments("atom", d.site))).toThrow();
  });

  it("the seed article's RSS is unchanged through fragments", () => {
    const d = makeDoc([seedArticle(), seedArticle({ id: "second" })]);
    const bytes = renderFeedFromFragments("rss", d, renderedFragments("rss", d.site));
    expect(new TextDecoder().decode(bytes)).toBe(renderFeed("rss", d));
  });
});
