// The in-process fragment cache: a fragment is answered only for the exact article it was
// rendered from, under the exact site scope; it never exceeds its bounds.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Article, FeedFormat } from "../../../src/core/model.ts";
import { fragmentScope, itemFragment, renderFeed, renderFeedFromFragments } from "../../../src/core/render/index.ts";
import { COMPARED_FIELDS, cachedFragments, createMemoryFragmentCache, sameArticle } from "../../../src/store/cache/fragments.ts";
import type { ItemSite } from "../../../src/core/render/index.ts";
import type { FragmentCache } from "../../../src/store/cache/port.ts";
import { article, makeDoc, seedArticle, seedSite } from "../../core/render/helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const roomy = () => createMemoryFragmentCache({ maxBytes: 16 * 1024 * 1024, maxEntries: 10_000 });

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The item's fragment through cachedFragments: the held one, or rendered now and put in the cache. */
function fragmentVia(cache: FragmentCache, site: ItemSite, format: FeedFormat): (a: Article) => Uint8Array {
  const fragments = cachedFragments(cache, fragmentScope(site), site, format);
  return (a) => {
    const held = fragments.held(a);
    if (held !== undefined) return held;
    // One-item feed: the item's bytes are handed to `rendered` on the way.
    let rendered: Uint8Array | undefined;
    renderFeedFromFragments(format, makeDoc([a]), {
      ...fragments,
      rendered(article, fresh) {
        rendered = fresh.slice();
        fragments.rendered(article, fresh);
      },
    });
    if (rendered === undefined) throw new Error("nothing rendered");
    return rendered;
  };
}

describe("memory fragment cache", () => {
  it("answers a put fragment for an equal article (a fresh copy, as a store returns it)", () => {
    const cache = roomy();
    const scope = fragmentScope(seedSite());
    const a = seedArticle();
    cache.put(scope, a, "rss", bytes("<item>1</item>\n"));
    expect(decoder.decode(cache.get(scope, structuredClone(a), "rss"))).toBe("<item>1</item>\n");
    expect(cache.get(scope, a, "atom")).toBeUndefined();
  });

  it("an edit invalidates the fragment, with or without a new updated_at", () => {
    const cache = roomy();
    const site = seedSite();
    const scope = fragmentScope(site);
    const before = seedArticle();
    const render = fragmentVia(cache, site, "rss");
    expect(decoder.decode(render(before))).toContain(before.title);

    // Same id, same updated_at, new title: the held article differs, so no hit.
    const sameStamp = seedArticle({ title: "عنوان جديد" });
    expect(cache.get(scope, sameStamp, "rss")).toBeUndefined();
    expect(decoder.decode(render(sameStamp))).toContain("عنوان جديد");
    expect(decoder.decode(render(sameStamp))).not.toContain(before.title);
    // And the first version is not answered any more either.
    expect(cache.get(scope, before, "rss")).toBeUndefined();

    // A later updated_at is another key: the old entry is never asked for again.
    const later = seedArticle({ updated_at: "2024-06-20T00:00:00Z", content_html: "<p>تحديث</p>" });
    expect(cache.get(scope, later, "rss")).toBeUndefined();
    expect(decoder.decode(render(later))).toContain("تحديث");
  });

  it("a change to a nested field (author, attachment, image) also misses", () => {
    const cache = roomy();
    const scope = fragmentScope(seedSite());
    const a = seedArticle({ image: { url: "https://nisan.example/a.jpg", mime_type: "image/jpeg" } });
    cache.put(scope, a, "json", bytes("{}"));
    expect(cache.get(scope, { ...a, authors: [{ name: "Someone else" }] }, "json")).toBeUndefined();
    cache.put(scope, a, "json", bytes("{}"));
    expect(cache.get(scope, { ...a, image: { url: "https://nisan.example/a.jpg" } }, "json")).toBeUndefined();
    cache.put(scope, a, "json", bytes("{}"));
    expect(cache.get(scope, { ...a, attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg" }] }, "json")).toBeUndefined();
  });

  it("two sites never share fragments, even for the same article", () => {
    const cache = roomy();
    const nisan = seedSite();
    const other = seedSite({ slug: "other" });
    const a = seedArticle();
    const fromNisan = fragmentVia(cache, nisan, "atom")(a);
    expect(cache.get(fragmentScope(other), a, "atom")).toBeUndefined();
    const fromOther = fragmentVia(cache, other, "atom")(a);
    expect(decoder.decode(fromNisan)).toContain(":nisan/");
    expect(decoder.decode(fromOther)).toContain(":other/");
    expect(decoder.decode(fromOther)).not.toContain(":nisan/");
  });

  it("settings that change items give a new scope; others do not", () => {
    const base = seedSite();
    const scope = fragmentScope(base);
    for (const change of [{ language: "en" }, { home_page_url: "https://elsewhere.example/" }, { created_at: "2026-02-01T00:00:00Z" }, { slug: "nisan2" }]) {
      expect(fragmentScope({ ...base, ...change })).not.toBe(scope);
    }
    // Title, description, hubs, TTL only change the frame, never an item.
    const retitled = seedSite({ title: "x", description: "y", websub_hubs: ["https://hub.example/"], ttl_minutes: 5 });
    expect(fragmentScope(retitled)).toBe(scope);
    const a = article(1, { language: "fr" });
    for (const format of ["rss", "atom", "json"] as FeedFormat[]) {
      expect(itemFragment(format, retitled, a)).toBe(itemFragment(format, base, a));
    }
  });

  it("a site re-created with the same slug and other settings starts empty", () => {
    const cache = roomy();
    const first = seedSite({ created_at: "2026-01-05T10:00:00Z" });
    const again = seedSite({ created_at: "2026-03-01T10:00:00Z" });
    const a = seedArticle();
    fragmentVia(cache, first, "rss")(a);
    expect(cache.get(fragmentScope(again), a, "rss")).toBeUndefined();
  });

  it("stays within its bounds in bytes and entries under random use", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2_000, max: 200_000 }),
        fc.array(fc.record({ site: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 0, max: 60 }), format: fc.constantFrom<FeedFormat>("rss", "atom", "json"), edit: fc.boolean() }), {
          maxLength: 300,
        }),
        (maxEntries, maxBytes, ops) => {
          const cache = createMemoryFragmentCache({ maxBytes, maxEntries });
          for (const op of ops) {
            const site = seedSite({ slug: `site${op.site}` });
            const a = article(op.n % 20, op.edit ? { title: `edited ${op.n}` } : {});
            const fragment = fragmentVia(cache, site, op.format)(a);
            expect(decoder.decode(fragment)).toBe(itemFragment(op.format, site, a));
            const { bytes: used, entries } = cache.stats();
            expect(used).toBeLessThanOrEqual(maxBytes);
            expect(entries).toBeLessThanOrEqual(maxEntries);
            expect(used).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("an entry larger than the whole bound is not kept (and the answer is still right)", () => {
    const cache = createMemoryFragmentCache({ maxBytes: 1_000, maxEntries: 10 });
    const site = seedSite();
    const a = seedArticle();
    const fragment = fragmentVia(cache, site, "rss")(a);
    expect(decoder.decode(fragment)).toBe(itemFragment("rss", site, a));
    expect(cache.stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it("evicts the least recently used entry first", () => {
    const cache = createMemoryFragmentCache({ maxBytes: 1024 * 1024, maxEntries: 2 });
    const scope = fragmentScope(seedSite());
    const [a, b, c] = [article(1), article(2), article(3)] as [Article, Article, Article];
    cache.put(scope, a, "rss", bytes("a"));
    cache.put(scope, b, "rss", bytes("b"));
    expect(cache.get(scope, a, "rss")).toBeDefined();
    cache.put(scope, c, "rss", bytes("c"));
    expect(cache.get(scope, a, "rss")).toBeDefined();
    expect(cache.get(scope, b, "rss")).toBeUndefined();
    expect(cache.get(scope, c, "rss")).toBeDefined();
  });

  it("a feed assembled through the cache after an edit shows the edit", () => {
    const cache = roomy();
    const site = seedSite();
    const scope = fragmentScope(site);
    const items = [article(2), article(1)];
    const first = makeDoc(items);
    renderFeedFromFragments("atom", first, cachedFragments(cache, scope, site, "atom"));
    const edited = makeDoc([article(2, { title: "Changed title" }), article(1)]);
    const assembled = renderFeedFromFragments("atom", edited, cachedFragments(cache, scope, site, "atom"));
    expect(assembled).toEqual(encoder.encode(renderFeed("atom", edited)));
    expect(decoder.decode(assembled)).toContain("Changed title");
  });

  it("sameArticle compares every field, nested ones included", () => {
    const a = seedArticle({
      image: { url: "https://nisan.example/a.jpg", mime_type: "image/jpeg", alt: "x" },
      attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", size_in_bytes: 3, title: "t" }],
      authors: [{ name: "A", url: "https://nisan.example/a", email: "a@nisan.example" }],
      summary: "s",
      content_text: "t",
    });
    expect(sameArticle(a, structuredClone(a))).toBe(true);
    const changes: Partial<Article>[] = [
      { id: "other" }, { title: "x" }, { url: "https://nisan.example/x" }, { published_at: "2020-01-01T00:00:00Z" },
      { updated_at: "2030-01-01T00:00:00Z" }, { summary: "t" }, { content_html: "<p>x</p>" }, { content_text: "u" },
      { language: "en" }, { categories: [...a.categories, "x"] }, { tags: ["x"] },
      { authors: [{ name: "A", url: "https://nisan.example/a" }] }, { authors: [{ name: "A", url: "https://nisan.example/b", email: "a@nisan.example" }] },
      { authors: [{ name: "B", url: "https://nisan.example/a", email: "a@nisan.example" }] },
      { authors: [] }, { image: { url: "https://nisan.example/a.jpg", mime_type: "image/jpeg" } },
      { image: { url: "https://nisan.example/b.jpg", mime_type: "image/jpeg", alt: "x" } },
      { image: { url: "https://nisan.example/a.jpg", mime_type: "image/png", alt: "x" } },
      { attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", size_in_bytes: 4, title: "t" }] },
      { attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", size_in_bytes: 3 }] },
      { attachments: [{ url: "https://nisan.example/b.mp3", mime_type: "audio/mpeg", size_in_bytes: 3, title: "t" }] },
      { attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mp4", size_in_bytes: 3, title: "t" }] },
    ];
    // Every field, and every field of the nested records, is among the changes.
    expect(new Set(changes.flatMap((c) => Object.keys(c)))).toEqual(new Set(Object.keys(COMPARED_FIELDS.article)));
    // Each field of a nested record changed alone (a different string or number, or left out).
    const variants = <T extends object>(record: T, fields: Record<keyof T, true>): T[] =>
      (Object.keys(fields) as (keyof T)[]).flatMap((field) => {
        const value = record[field];
        const changed = typeof value === "number" ? value + 1 : `${String(value)}x`;
        const without = { ...record };
        delete without[field];
        return [{ ...record, [field]: changed }, without];
      });
    const [author, attachment] = [a.authors[0], a.attachments[0]];
    if (author === undefined || attachment === undefined || a.image === undefined) throw new Error("fixture");
    for (const person of variants(author, COMPARED_FIELDS.person)) changes.push({ authors: [person] });
    for (const image of variants(a.image, COMPARED_FIELDS.image)) changes.push({ image });
    for (const att of variants(attachment, COMPARED_FIELDS.attachment)) changes.push({ attachments: [att] });
    for (const change of changes) {
      expect(sameArticle(a, { ...a, ...change })).toBe(false);
      expect(sameArticle({ ...a, ...change }, a)).toBe(false);
    }
    for (const field of ["summary", "content_html", "content_text", "image"] as const) {
      const without = structuredClone(a);
      delete without[field];
      expect(sameArticle(a, without)).toBe(false);
      expect(sameArticle(without, a)).toBe(false);
    }
  });
});
