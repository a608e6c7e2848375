// The store contract: one suite every adapter runs (memory, sqlite, and later D1 and
// DynamoDB). It speaks only through the Store port, so it holds for any engine.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Article, FeedFilter, Site } from "../../src/core/model.ts";
import type { Credential, Cursor, SiteRecord, Store, Tombstone } from "../../src/store/port.ts";

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

// ---- fixtures: factories, so no test can leak a mutation into another ----

const T0 = "2024-06-19T11:49:00Z";

export function makeSite(slug: string, overrides: Partial<Site> = {}): Site {
  return {
    slug,
    title: `Site ${slug}`,
    home_page_url: `https://${slug}.example/`,
    language: "ar",
    timezone: "Asia/Amman",
    description: "آخر الأخبار المحلية والدولية",
    ttl_minutes: 15,
    tombstone_days: 30,
    websub_hubs: [],
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

export function makeCredential(n: number, overrides: Partial<Credential> = {}): Credential {
  return {
    api_key_hash: n.toString(16).padStart(64, "0"),
    webhook_secret: `whsec_c2VjcmV0LSR7bn0tc2VjcmV0LXNlY3JldC1zZWNyZXQ${n}`,
    created_at: T0,
    ...overrides,
  };
}

export function makeRecord(slug: string, overrides: Partial<SiteRecord> = {}): SiteRecord {
  return {
    site: makeSite(slug),
    version: 1,
    modified_at: T0,
    credentials: [makeCredential(1)],
    ...overrides,
  };
}

export function makeArticle(id: string, overrides: Partial<Article> = {}): Article {
  const published = overrides.published_at ?? T0;
  return {
    id,
    title: `Article ${id}`,
    url: `https://nisan.example/ar/news/${encodeURIComponent(id)}`,
    published_at: published,
    updated_at: published,
    summary: "قال الرئيس الروسي فلاديمير بوتين، اليوم الأربعاء",
    content_html: "<p>نيسان ـ قال الرئيس</p>",
    authors: [{ name: "نيسان" }],
    categories: ["سياسة", "دولي"],
    tags: ["روسيا", "بوتين"],
    attachments: [],
    language: "ar",
    ...overrides,
  };
}

/** Minutes after T0, as a normalised UTC RFC 3339 string. */
function at(minutes: number, extraMs = 0): string {
  const iso = new Date(Date.parse(T0) + minutes * 60_000 + extraMs).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : iso;
}

const ALL: FeedFilter = { kind: "all" };

/** Walks every page of a feed; fails on a loop. */
async function walk(store: Store, slug: string, filter: FeedFilter, limit: number): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let before: Cursor | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await store.listArticles(slug, before ? { filter, limit, before } : { filter, limit });
    ids.push(...page.items.map((a) => a.id));
    pages.push(page.items.length);
    if (!page.next) return { ids, pages };
    const last = page.items[page.items.length - 1];
    expect(page.next).toEqual({ published_at: last?.published_at, id: last?.id });
    before = page.next;
  }
  throw new Error("pagination did not end");
}

async function ids(store: Store, slug: string, filter: FeedFilter = ALL, limit = 100): Promise<string[]> {
  return (await store.listArticles(slug, { filter, limit })).items.map((a) => a.id);
}

/** The expected feed order: instants desc, then ids by code unit desc. */
function feedOrder(articles: Article[]): string[] {
  return [...articles]
    .sort((a, b) => {
      const d = Date.parse(b.published_at) - Date.parse(a.published_at);
      if (d !== 0) return d;
      return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
    })
    .map((a) => a.id);
}

export function storeContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    async function siteWith(slug: string, articles: Article[] = []): Promise<void> {
      expect(await store.createSite(makeRecord(slug))).toBe(true);
      for (const a of articles) await store.putArticle(slug, a, at(1000));
    }

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe("sites", () => {
      it("creates a site and reads it back, with its version", async () => {
        expect(await store.getSite("nisan")).toBeUndefined();
        expect(await store.getSiteVersion("nisan")).toBeUndefined();
        expect(await store.createSite(makeRecord("nisan"))).toBe(true);
        expect(await store.getSite("nisan")).toStrictEqual(makeRecord("nisan"));
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: 1, modified_at: T0 });
      });

      it("refuses to create a slug twice and keeps the first", async () => {
        expect(await store.createSite(makeRecord("nisan"))).toBe(true);
        const other = makeRecord("nisan", {
          site: makeSite("nisan", { title: "Other" }),
          version: 7,
          credentials: [makeCredential(2)],
        });
        expect(await store.createSite(other)).toBe(false);
        expect(await store.getSite("nisan")).toStrictEqual(makeRecord("nisan"));
      });

      it("updates the settings, bumps the version and sets modified_at", async () => {
        await siteWith("nisan");
        const changed = makeSite("nisan", { title: "نيسان الجديد", updated_at: at(5), ttl_minutes: 30 });
        const updated = await store.updateSite("nisan", changed, at(5));
        const expected = makeRecord("nisan", { site: changed, version: 2, modified_at: at(5) });
        expect(updated).toStrictEqual(expected);
        expect(await store.getSite("nisan")).toStrictEqual(expected);
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: 2, modified_at: at(5) });
        await store.updateSite("nisan", changed, at(6));
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: 3, modified_at: at(6) });
      });

      it("does not update (or create) an unknown site", async () => {
        expect(await store.updateSite("ghost", makeSite("ghost"), at(5))).toBeUndefined();
        expect(await store.getSite("ghost")).toBeUndefined();
      });

      it("replaces the credential list without touching the version", async () => {
        await siteWith("nisan");
        const rotated = [makeCredential(1, { expires_at: at(60 * 24) }), makeCredential(2, { created_at: at(1) })];
        expect(await store.setCredentials("nisan", rotated)).toBe(true);
        expect((await store.getSite("nisan"))?.credentials).toStrictEqual(rotated);
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: 1, modified_at: T0 });
        expect(await store.setCredentials("nisan", [makeCredential(3)])).toBe(true);
        expect((await store.getSite("nisan"))?.credentials).toStrictEqual([makeCredential(3)]);
        expect(await store.setCredentials("ghost", [makeCredential(3)])).toBe(false);
        expect(await store.getSite("ghost")).toBeUndefined();
      });

      it("deletes a site with its articles and webhooks; a recreated site starts empty", async () => {
        await siteWith("nisan", [makeArticle("a"), makeArticle("b")]);
        expect(await store.claimWebhook("nisan", "msg_1", "h1", at(1), 60_000)).toStrictEqual({ state: "claimed" });
        await store.completeWebhook("nisan", "msg_1", { status: 201, body: "{}" }, at(1));
        expect(await store.claimWebhook("nisan", "msg_2", "h2", at(1), 60_000)).toStrictEqual({ state: "claimed" });

        expect(await store.deleteSite("nisan")).toBe(true);
        expect(await store.getSite("nisan")).toBeUndefined();
        expect(await store.getSiteVersion("nisan")).toBeUndefined();
        expect(await store.getArticle("nisan", "a")).toBeUndefined();
        expect(await store.deleteSite("nisan")).toBe(false);

        await siteWith("nisan");
        expect(await store.getArticle("nisan", "a")).toBeUndefined();
        expect(await store.listArticles("nisan", { filter: ALL, limit: 10 })).toStrictEqual({ items: [] });
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "author", name: "نيسان" })).toStrictEqual([]);
        expect(await store.claimWebhook("nisan", "msg_1", "h1", at(2), 60_000)).toStrictEqual({ state: "claimed" });
        expect(await store.claimWebhook("nisan", "msg_2", "h2", at(2), 60_000)).toStrictEqual({ state: "claimed" });
        expect((await store.putArticle("nisan", makeArticle("a"), at(3))).outcome).toBe("created");
      });

      it("deleting an unknown site is false", async () => {
        expect(await store.deleteSite("ghost")).toBe(false);
      });
    });

    describe("articles", () => {
      it("creates an article, bumping the site version", async () => {
        await siteWith("nisan");
        const result = await store.putArticle("nisan", makeArticle("a"), at(10));
        expect(result).toStrictEqual({ outcome: "created", article: makeArticle("a") });
        expect(await store.getArticle("nisan", "a")).toStrictEqual(makeArticle("a"));
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: 2, modified_at: at(10) });
      });

      it("round-trips every optional field", async () => {
        await siteWith("nisan");
        const full = makeArticle("full", {
          updated_at: at(3, 250),
          content_text: "نص",
          authors: [{ name: "نيسان", url: "https://nisan.example/", email: "desk@nisan.example" }, { name: "Desk" }],
          image: { url: "https://nisan.example/a.jpg", mime_type: "image/jpeg", alt: "صورة" },
          attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", size_in_bytes: 1234, title: "صوت" }],
          language: "ar-JO",
        });
        await store.putArticle("nisan", full, at(10));
        expect(await store.getArticle("nisan", "full")).toStrictEqual(full);
      });

      it("reads undefined for an unknown article or site", async () => {
        await siteWith("nisan");
        expect(await store.getArticle("nisan", "nope")).toBeUndefined();
        expect(await store.getArticle("ghost", "a")).toBeUndefined();
        expect(await store.listArticles("ghost", { filter: ALL, limit: 10 })).toStrictEqual({ items: [] });
      });

      it("updates when updated_at is newer, bumping the version", async () => {
        await siteWith("nisan", [makeArticle("a")]);
        const v = await store.getSiteVersion("nisan");
        const newer = makeArticle("a", { title: "Changed", updated_at: at(5) });
        expect(await store.putArticle("nisan", newer, at(20))).toStrictEqual({ outcome: "updated", article: newer });
        expect(await store.getArticle("nisan", "a")).toStrictEqual(newer);
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: (v?.version ?? 0) + 1, modified_at: at(20) });
      });

      it("updates when updated_at is equal but the content differs", async () => {
        await siteWith("nisan", [makeArticle("a")]);
        const v = await store.getSiteVersion("nisan");
        const same = makeArticle("a", { title: "Corrected" });
        expect((await store.putArticle("nisan", same, at(20))).outcome).toBe("updated");
        expect((await store.getArticle("nisan", "a"))?.title).toBe("Corrected");
        expect((await store.getSiteVersion("nisan"))?.version).toBe((v?.version ?? 0) + 1);
      });

      it("writes nothing for identical content ('unchanged'), version untouched", async () => {
        await siteWith("nisan", [makeArticle("a")]);
        const v = await store.getSiteVersion("nisan");
        expect(await store.putArticle("nisan", makeArticle("a"), at(20))).toStrictEqual({
          outcome: "unchanged",
          article: makeArticle("a"),
        });
        expect(await store.getSiteVersion("nisan")).toStrictEqual(v);
      });

      it("keeps the newer stored article ('stale'), writes nothing", async () => {
        await siteWith("nisan");
        const stored = makeArticle("a", { title: "Newest", updated_at: at(10) });
        await store.putArticle("nisan", stored, at(11));
        const v = await store.getSiteVersion("nisan");
        const older = makeArticle("a", { title: "Older", updated_at: at(5), categories: ["قديم"] });
        expect(await store.putArticle("nisan", older, at(20))).toStrictEqual({ outcome: "stale", article: stored });
        expect(await store.getArticle("nisan", "a")).toStrictEqual(stored);
        expect(await store.getSiteVersion("nisan")).toStrictEqual(v);
        expect(await ids(store, "nisan", { kind: "category", name: "قديم" })).toStrictEqual([]);
      });

      it("compares updated_at as instants, to the millisecond", async () => {
        await siteWith("nisan");
        // As strings "…:00Z" > "…:00.001Z"; as instants the second is newer.
        await store.putArticle("nisan", makeArticle("a", { updated_at: at(5) }), at(6));
        const newer = makeArticle("a", { title: "ms later", updated_at: at(5, 1) });
        expect((await store.putArticle("nisan", newer, at(7))).outcome).toBe("updated");
        const older = makeArticle("a", { title: "back at :00", updated_at: at(5) });
        expect(await store.putArticle("nisan", older, at(8))).toStrictEqual({ outcome: "stale", article: newer });
      });

      it("drops undefined optional properties like a JSON round trip", async () => {
        await siteWith("nisan");
        const sent = makeArticle("a", { image: undefined, content_text: undefined });
        const result = await store.putArticle("nisan", sent, at(6));
        const expected = makeArticle("a");
        expect(result.article).toStrictEqual(expected);
        expect(await store.getArticle("nisan", "a")).toStrictEqual(expected);
        expect((await store.putArticle("nisan", makeArticle("a"), at(7))).outcome).toBe("unchanged");
      });

      it("refuses writes to an unknown site", async () => {
        await expect(store.putArticle("ghost", makeArticle("a"), at(1))).rejects.toThrow();
        await expect(store.deleteArticle("ghost", "a", at(1))).rejects.toThrow();
        expect(await store.getSite("ghost")).toBeUndefined();
        expect(await store.getArticle("ghost", "a")).toBeUndefined();
      });

      it("deletes an article (bumping the version); publishing it again is a create", async () => {
        await siteWith("nisan", [makeArticle("a"), makeArticle("b")]);
        const v = (await store.getSiteVersion("nisan"))?.version ?? 0;
        expect(await store.deleteArticle("nisan", "a", at(30))).toBe(true);
        expect(await store.getArticle("nisan", "a")).toBeUndefined();
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: v + 1, modified_at: at(30) });
        expect(await ids(store, "nisan")).toStrictEqual(["b"]);
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual(["b"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "روسيا" })).toStrictEqual(["b"]);
        expect(await ids(store, "nisan", { kind: "author", name: "نيسان" })).toStrictEqual(["b"]);

        expect(await store.deleteArticle("nisan", "a", at(31))).toBe(false);
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: v + 1, modified_at: at(30) });

        // Even an older updated_at is a create after a delete: nothing is left to be newer.
        const again = makeArticle("a", { updated_at: T0, title: "again" });
        expect(await store.putArticle("nisan", again, at(32))).toStrictEqual({ outcome: "created", article: again });
        expect(await ids(store, "nisan")).toStrictEqual(["b", "a"]);
        expect(await store.getSiteVersion("nisan")).toStrictEqual({ version: v + 2, modified_at: at(32) });
      });
    });

    describe("feed order and paging", () => {
      it("orders by published_at desc as instants, then id desc by code unit", async () => {
        const sameTime = ["a", "b", "B", "a-1", "10", "9", "Z", "a_b"].map((id) => makeArticle(id, { published_at: at(5) }));
        const others = [
          makeArticle("early", { published_at: at(1) }),
          // "…:00.500Z" sorts before "…:00Z" as a string, but is the later instant.
          makeArticle("ms", { published_at: at(5, 500) }),
          makeArticle("late", { published_at: at(9) }),
        ];
        const all = [...sameTime, ...others];
        await siteWith("nisan", all);
        const expected = ["late", "ms", "b", "a_b", "a-1", "a", "Z", "B", "9", "10", "early"];
        expect(feedOrder(all)).toStrictEqual(expected);
        expect(await ids(store, "nisan")).toStrictEqual(expected);
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual(expected);
        expect(await ids(store, "nisan", { kind: "tag", name: "بوتين" })).toStrictEqual(expected);
        expect(await ids(store, "nisan", { kind: "author", name: "نيسان" })).toStrictEqual(expected);
      });

      it("pages 57 articles 10 at a time, each exactly once, in order", async () => {
        // Ties on purpose: groups of up to 4 share a published_at.
        const all = Array.from({ length: 57 }, (_, i) =>
          makeArticle(`art-${String((i * 37) % 57).padStart(2, "0")}`, { published_at: at(Math.floor(i / 4)) }),
        );
        await siteWith("nisan", all);
        const { ids: seen, pages } = await walk(store, "nisan", ALL, 10);
        expect(pages).toStrictEqual([10, 10, 10, 10, 10, 7]);
        expect(new Set(seen).size).toBe(57);
        expect(seen).toStrictEqual(feedOrder(all));
        const filtered = await walk(store, "nisan", { kind: "tag", name: "روسيا" }, 10);
        expect(filtered.ids).toStrictEqual(feedOrder(all));
        const byOne = await walk(store, "nisan", { kind: "author", name: "نيسان" }, 1);
        expect(byOne.ids).toStrictEqual(feedOrder(all));
      });

      it("gives no next when the last page is exactly full", async () => {
        await siteWith("nisan", Array.from({ length: 20 }, (_, i) => makeArticle(`a${i}`, { published_at: at(i) })));
        const first = await store.listArticles("nisan", { filter: ALL, limit: 10 });
        expect(first.items).toHaveLength(10);
        expect(first.next).toBeDefined();
        const second = await store.listArticles("nisan", { filter: ALL, limit: 10, before: first.next });
        expect(second.items).toHaveLength(10);
        expect(second.next).toBeUndefined();
        expect("next" in second).toBe(false);
        const all = await store.listArticles("nisan", { filter: ALL, limit: 100 });
        expect(all.items).toHaveLength(20);
        expect(all.next).toBeUndefined();
      });

      it("pages from a cursor whose article has since been deleted", async () => {
        await siteWith("nisan", Array.from({ length: 5 }, (_, i) => makeArticle(`a${i}`, { published_at: at(i) })));
        const first = await store.listArticles("nisan", { filter: ALL, limit: 2 });
        expect(first.items.map((a) => a.id)).toStrictEqual(["a4", "a3"]);
        await store.deleteArticle("nisan", "a3", at(100));
        const second = await store.listArticles("nisan", { filter: ALL, limit: 2, before: first.next });
        expect(second.items.map((a) => a.id)).toStrictEqual(["a2", "a1"]);
      });

      it("moves an article in the order when its published_at changes", async () => {
        await siteWith("nisan", [makeArticle("x", { published_at: at(1) }), makeArticle("y", { published_at: at(2) })]);
        await store.putArticle("nisan", makeArticle("x", { published_at: at(3), updated_at: at(4) }), at(5));
        expect(await ids(store, "nisan")).toStrictEqual(["x", "y"]);
        expect(await ids(store, "nisan", { kind: "category", name: "دولي" })).toStrictEqual(["x", "y"]);
      });
    });

    describe("filters", () => {
      it("filters by category, tag and author name", async () => {
        await siteWith("nisan", [
          makeArticle("politics", { published_at: at(3), categories: ["سياسة"], tags: ["روسيا"], authors: [{ name: "نيسان" }] }),
          makeArticle("sport", { published_at: at(2), categories: ["رياضة"], tags: ["كرة القدم"], authors: [{ name: "سارة" }] }),
          makeArticle("both", {
            published_at: at(1),
            categories: ["رياضة", "سياسة"],
            tags: ["كرة القدم", "روسيا"],
            authors: [{ name: "سارة" }, { name: "نيسان" }],
          }),
        ]);
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual(["politics", "both"]);
        expect(await ids(store, "nisan", { kind: "category", name: "رياضة" })).toStrictEqual(["sport", "both"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "كرة القدم" })).toStrictEqual(["sport", "both"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "روسيا" })).toStrictEqual(["politics", "both"]);
        expect(await ids(store, "nisan", { kind: "author", name: "سارة" })).toStrictEqual(["sport", "both"]);
        expect(await ids(store, "nisan", { kind: "author", name: "نيسان" })).toStrictEqual(["politics", "both"]);
        expect(await ids(store, "nisan", { kind: "category", name: "اقتصاد" })).toStrictEqual([]);
        const filtered = await store.listArticles("nisan", { filter: { kind: "category", name: "رياضة" }, limit: 10 });
        expect(filtered.items[0]).toStrictEqual(
          makeArticle("sport", { published_at: at(2), categories: ["رياضة"], tags: ["كرة القدم"], authors: [{ name: "سارة" }] }),
        );
      });

      it("keeps kinds apart: a tag is not a category, a category is not an author", async () => {
        await siteWith("nisan", [
          makeArticle("a", { categories: ["اقتصاد"], tags: ["نيسان"], authors: [{ name: "اقتصاد" }] }),
        ]);
        expect(await ids(store, "nisan", { kind: "category", name: "اقتصاد" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "اقتصاد" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "author", name: "اقتصاد" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "نيسان" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "author", name: "نيسان" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "category", name: "نيسان" })).toStrictEqual([]);
      });

      it("matches names exactly: Arabic near-misses and case do not collide", async () => {
        await siteWith("nisan", [
          makeArticle("siyasa", { published_at: at(1), categories: ["سياسة"], tags: ["Tech"] }),
          makeArticle("siyasi", { published_at: at(2), categories: ["سياسي"], tags: ["tech"] }),
          makeArticle("al-siyasa", { published_at: at(3), categories: ["السياسة"], tags: ["TECH"] }),
        ]);
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual(["siyasa"]);
        expect(await ids(store, "nisan", { kind: "category", name: "سياسي" })).toStrictEqual(["siyasi"]);
        expect(await ids(store, "nisan", { kind: "category", name: "السياسة" })).toStrictEqual(["al-siyasa"]);
        expect(await ids(store, "nisan", { kind: "category", name: "سياس" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "tag", name: "Tech" })).toStrictEqual(["siyasa"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "tech" })).toStrictEqual(["siyasi"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "TECH" })).toStrictEqual(["al-siyasa"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "tEcH" })).toStrictEqual([]);
      });

      it("matches a filter name after NFC", async () => {
        // Stored names are NFC ("آ" is U+0622); a decomposed request (U+0627 U+0653) matches them.
        const composed = "\u0622\u062e\u0631 \u0627\u0644\u0623\u062e\u0628\u0627\u0631";
        const decomposed = composed.normalize("NFD");
        expect(decomposed).not.toBe(composed);
        await siteWith("nisan", [makeArticle("a", { categories: [composed], tags: ["Café"] })]);
        expect(await ids(store, "nisan", { kind: "category", name: decomposed })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "category", name: composed })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "Cafe\u0301" })).toStrictEqual(["a"]);
      });

      it("lists an article once when a name repeats", async () => {
        await siteWith("nisan", [
          makeArticle("a", {
            categories: ["سياسة", "سياسة"],
            tags: ["x", "x"],
            authors: [{ name: "نيسان" }, { name: "نيسان", url: "https://nisan.example/" }],
          }),
        ]);
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "x" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "author", name: "نيسان" })).toStrictEqual(["a"]);
        expect((await store.getArticle("nisan", "a"))?.categories).toStrictEqual(["سياسة", "سياسة"]);
      });

      it("moves an article between filtered feeds when its terms change", async () => {
        await siteWith("nisan", [makeArticle("a", { categories: ["سياسة"], tags: ["old"], authors: [{ name: "A" }] })]);
        await store.putArticle(
          "nisan",
          makeArticle("a", { categories: ["رياضة"], tags: ["new"], authors: [{ name: "B" }], updated_at: at(5) }),
          at(6),
        );
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "category", name: "رياضة" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "tag", name: "old" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "tag", name: "new" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "author", name: "A" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "author", name: "B" })).toStrictEqual(["a"]);
        // And with no terms at all, it is only in the whole-site feed.
        await store.putArticle("nisan", makeArticle("a", { categories: [], tags: [], authors: [], updated_at: at(7) }), at(8));
        expect(await ids(store, "nisan", { kind: "category", name: "رياضة" })).toStrictEqual([]);
        expect(await ids(store, "nisan", { kind: "author", name: "B" })).toStrictEqual([]);
        expect(await ids(store, "nisan")).toStrictEqual(["a"]);
      });

      it("pages a filtered feed with ties, skipping articles outside it", async () => {
        const all = Array.from({ length: 40 }, (_, i) =>
          makeArticle(`n${String(i).padStart(2, "0")}`, {
            published_at: at(Math.floor(i / 3)),
            categories: i % 3 === 0 ? ["رياضة"] : ["سياسة"],
          }),
        );
        await siteWith("nisan", all);
        const sport = all.filter((a) => a.categories.includes("رياضة"));
        const politics = all.filter((a) => a.categories.includes("سياسة"));
        expect((await walk(store, "nisan", { kind: "category", name: "رياضة" }, 4)).ids).toStrictEqual(feedOrder(sport));
        const p = await walk(store, "nisan", { kind: "category", name: "سياسة" }, 7);
        expect(p.ids).toStrictEqual(feedOrder(politics));
        expect(p.pages).toStrictEqual([7, 7, 7, 5]);
      });
    });

    describe("sites are isolated", () => {
      it("keeps the same article id apart on two sites", async () => {
        await siteWith("one");
        await siteWith("two");
        const a1 = makeArticle("same", { title: "on one", categories: ["سياسة"] });
        const a2 = makeArticle("same", { title: "on two", categories: ["سياسة"], published_at: at(3) });
        expect((await store.putArticle("one", a1, at(1))).outcome).toBe("created");
        expect((await store.putArticle("two", a2, at(2))).outcome).toBe("created");
        expect(await store.getArticle("one", "same")).toStrictEqual(a1);
        expect(await store.getArticle("two", "same")).toStrictEqual(a2);
        expect(await store.getSiteVersion("one")).toStrictEqual({ version: 2, modified_at: at(1) });
        expect(await store.getSiteVersion("two")).toStrictEqual({ version: 2, modified_at: at(2) });
        expect((await store.listArticles("one", { filter: { kind: "category", name: "سياسة" }, limit: 10 })).items).toStrictEqual([a1]);

        expect(await store.deleteArticle("two", "same", at(4))).toBe(true);
        expect(await store.getArticle("one", "same")).toStrictEqual(a1);
        expect(await ids(store, "one", { kind: "category", name: "سياسة" })).toStrictEqual(["same"]);
        expect(await store.getSiteVersion("one")).toStrictEqual({ version: 2, modified_at: at(1) });

        await store.putArticle("two", makeArticle("other"), at(5));
        expect(await store.deleteSite("one")).toBe(true);
        expect(await ids(store, "two")).toStrictEqual(["other"]);
        expect(await store.getSiteVersion("two")).toStrictEqual({ version: 4, modified_at: at(5) });
      });

      it("keeps webhook ids apart on two sites", async () => {
        await siteWith("one");
        await siteWith("two");
        expect(await store.claimWebhook("one", "msg", "h1", at(1), 60_000)).toStrictEqual({ state: "claimed" });
        expect(await store.claimWebhook("two", "msg", "h2", at(1), 60_000)).toStrictEqual({ state: "claimed" });
        await store.completeWebhook("one", "msg", { status: 201, body: "one" }, at(1));
        expect(await store.claimWebhook("two", "msg", "h2", at(1), 60_000)).toStrictEqual({ state: "in_flight", body_hash: "h2" });
        await store.deleteSite("one");
        expect(await store.claimWebhook("two", "msg", "h2", at(1), 60_000)).toStrictEqual({ state: "in_flight", body_hash: "h2" });
      });
    });

    describe("webhook replay records", () => {
      const STALE = 5 * 60_000;

      it("claims once; a second claim sees it in flight with the first body hash", async () => {
        await siteWith("nisan");
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(1), STALE)).toStrictEqual({ state: "claimed" });
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(2), STALE)).toStrictEqual({
          state: "in_flight",
          body_hash: "hash-a",
        });
        expect(await store.claimWebhook("nisan", "msg_1", "hash-b", at(3), STALE)).toStrictEqual({
          state: "in_flight",
          body_hash: "hash-a",
        });
      });

      it("replays a completed response with its body hash", async () => {
        await siteWith("nisan");
        await store.claimWebhook("nisan", "msg_1", "hash-a", at(1), STALE);
        const response = { status: 201, body: '{"id":"a","title":"الاتفاقية"}' };
        await store.completeWebhook("nisan", "msg_1", response, at(1));
        const done = { state: "done", body_hash: "hash-a", response };
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(2), STALE)).toStrictEqual(done);
        // A different body still learns the stored hash (the caller answers 422).
        expect(await store.claimWebhook("nisan", "msg_1", "hash-b", at(3), STALE)).toStrictEqual(done);
        // Completed records never go stale.
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(60 * 24 * 3), STALE)).toStrictEqual(done);
        // Releasing a completed record does nothing.
        await store.releaseWebhook("nisan", "msg_1");
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(4), STALE)).toStrictEqual(done);
      });

      it("takes over a claim older than staleAfterMs", async () => {
        await siteWith("nisan");
        await store.claimWebhook("nisan", "msg_1", "hash-a", at(0), STALE);
        expect(await store.claimWebhook("nisan", "msg_1", "hash-b", at(5, -1), STALE)).toStrictEqual({
          state: "in_flight",
          body_hash: "hash-a",
        });
        expect(await store.claimWebhook("nisan", "msg_1", "hash-b", at(5), STALE)).toStrictEqual({ state: "claimed" });
        // The new claim is fresh (timed from the takeover) and carries the new hash.
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(9), STALE)).toStrictEqual({
          state: "in_flight",
          body_hash: "hash-b",
        });
        await store.completeWebhook("nisan", "msg_1", { status: 200, body: "b" }, at(9));
        expect(await store.claimWebhook("nisan", "msg_1", "hash-b", at(10), STALE)).toStrictEqual({
          state: "done",
          body_hash: "hash-b",
          response: { status: 200, body: "b" },
        });
      });

      it("forgets a released claim, so a retry is claimed afresh", async () => {
        await siteWith("nisan");
        await store.claimWebhook("nisan", "msg_1", "hash-a", at(1), STALE);
        await store.releaseWebhook("nisan", "msg_1");
        expect(await store.claimWebhook("nisan", "msg_1", "hash-b", at(2), STALE)).toStrictEqual({ state: "claimed" });
        // Releasing unknown records is harmless.
        await store.releaseWebhook("nisan", "nope");
        await store.releaseWebhook("ghost", "nope");
      });

      it("stores nothing when completing a record that is not claimed", async () => {
        await siteWith("nisan");
        await store.completeWebhook("nisan", "msg_1", { status: 201, body: "x" }, at(1));
        expect(await store.claimWebhook("nisan", "msg_1", "hash-a", at(2), STALE)).toStrictEqual({ state: "claimed" });
      });

      it("refuses a claim on an unknown site", async () => {
        await expect(store.claimWebhook("ghost", "msg_1", "h", at(1), STALE)).rejects.toThrow();
      });

      it("prunes finished records and abandoned claims older than the limit", async () => {
        await siteWith("one");
        await siteWith("two");
        // Finished long ago: pruned.
        await store.claimWebhook("one", "old-done", "h", at(0), STALE);
        await store.completeWebhook("one", "old-done", { status: 201, body: "a" }, at(1));
        await store.claimWebhook("two", "old-done", "h", at(0), STALE);
        await store.completeWebhook("two", "old-done", { status: 201, body: "a" }, at(2));
        // Claimed long ago but finished recently: kept (completion time counts).
        await store.claimWebhook("one", "late-done", "h", at(0), STALE);
        await store.completeWebhook("one", "late-done", { status: 200, body: "b" }, at(100));
        // Abandoned claim: pruned.
        await store.claimWebhook("one", "old-claim", "h", at(0), STALE);
        // Fresh claim and fresh completion: kept.
        await store.claimWebhook("one", "new-claim", "h", at(100), STALE);
        await store.claimWebhook("two", "new-done", "h", at(100), STALE);
        await store.completeWebhook("two", "new-done", { status: 201, body: "c" }, at(100));
        // Exactly at the limit: kept (strictly older only).
        await store.claimWebhook("two", "edge", "h", at(50), STALE);
        await store.completeWebhook("two", "edge", { status: 201, body: "d" }, at(50));

        expect(await store.pruneWebhooks(at(50))).toBe(3);
        expect(await store.pruneWebhooks(at(50))).toBe(0);

        expect(await store.claimWebhook("one", "old-done", "h", at(101), STALE)).toStrictEqual({ state: "claimed" });
        expect(await store.claimWebhook("two", "old-done", "h", at(101), STALE)).toStrictEqual({ state: "claimed" });
        expect(await store.claimWebhook("one", "old-claim", "h", at(101), STALE)).toStrictEqual({ state: "claimed" });
        expect((await store.claimWebhook("one", "late-done", "h", at(101), STALE)).state).toBe("done");
        expect((await store.claimWebhook("one", "new-claim", "h", at(101), STALE)).state).toBe("in_flight");
        expect((await store.claimWebhook("two", "new-done", "h", at(101), STALE)).state).toBe("done");
        expect((await store.claimWebhook("two", "edge", "h", at(101), STALE)).state).toBe("done");
      });
    });

    describe("archive ranges (notBefore)", () => {
      // Around the start of July 2024: the boundary instant itself belongs to the month.
      const JULY = "2024-07-01T00:00:00Z";
      const july = (minutes: number, extraMs = 0): string => {
        const iso = new Date(Date.parse(JULY) + minutes * 60_000 + extraMs).toISOString();
        return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : iso;
      };

      it("lists only articles published at or after notBefore, boundary included", async () => {
        await siteWith("nisan", [
          makeArticle("june-end", { published_at: july(0, -1) }),
          makeArticle("june", { published_at: july(-60 * 24) }),
          makeArticle("edge", { published_at: JULY }),
          makeArticle("july", { published_at: july(90) }),
        ]);
        const page = await store.listArticles("nisan", { filter: ALL, limit: 10, notBefore: JULY });
        expect(page.items.map((a) => a.id)).toStrictEqual(["july", "edge"]);
        expect(page.next).toBeUndefined();
        // Without it, everything.
        expect(await ids(store, "nisan")).toStrictEqual(["july", "edge", "june-end", "june"]);
      });

      it("compares notBefore as an instant", async () => {
        await siteWith("nisan", [
          makeArticle("half", { published_at: july(0, 500) }),
          makeArticle("whole", { published_at: JULY }),
        ]);
        // "…:00.500Z" sorts before "…:00Z" as a string, but is the later instant.
        const page = await store.listArticles("nisan", { filter: ALL, limit: 10, notBefore: july(0, 500) });
        expect(page.items.map((a) => a.id)).toStrictEqual(["half"]);
        const offset = await store.listArticles("nisan", { filter: ALL, limit: 10, notBefore: "2024-07-01T03:00:00+03:00" });
        expect(offset.items.map((a) => a.id)).toStrictEqual(["half", "whole"]);
      });

      it("pages within the range and stops at its start, with ties", async () => {
        const inside = Array.from({ length: 23 }, (_, i) => makeArticle(`in-${String(i).padStart(2, "0")}`, { published_at: july(Math.floor(i / 3)) }));
        const outside = Array.from({ length: 10 }, (_, i) => makeArticle(`out-${i}`, { published_at: july(-1 - i) }));
        await siteWith("nisan", [...inside, ...outside]);
        const seen: string[] = [];
        const sizes: number[] = [];
        let before: Cursor | undefined;
        for (let i = 0; i < 20; i++) {
          const page = await store.listArticles("nisan", before ? { filter: ALL, limit: 5, notBefore: JULY, before } : { filter: ALL, limit: 5, notBefore: JULY });
          seen.push(...page.items.map((a) => a.id));
          sizes.push(page.items.length);
          if (!page.next) break;
          before = page.next;
        }
        expect(seen).toStrictEqual(feedOrder(inside));
        // No "next" pointing past the range: the last page is short and final.
        expect(sizes).toStrictEqual([5, 5, 5, 5, 3]);
      });

      it("gives no next when the range ends exactly at a full page", async () => {
        await siteWith("nisan", [
          ...Array.from({ length: 4 }, (_, i) => makeArticle(`in${i}`, { published_at: july(i) })),
          makeArticle("older", { published_at: july(-5) }),
        ]);
        const page = await store.listArticles("nisan", { filter: ALL, limit: 4, notBefore: JULY });
        expect(page.items.map((a) => a.id)).toStrictEqual(["in3", "in2", "in1", "in0"]);
        expect(page.next).toBeUndefined();
        expect("next" in page).toBe(false);
      });

      it("combines with filters and a cursor", async () => {
        await siteWith("nisan", [
          makeArticle("sport-old", { published_at: july(-10), categories: ["رياضة"], tags: ["t"], authors: [{ name: "سارة" }] }),
          makeArticle("sport-1", { published_at: july(10), categories: ["رياضة"], tags: ["t"], authors: [{ name: "سارة" }] }),
          makeArticle("politics", { published_at: july(20), categories: ["سياسة"], tags: ["u"], authors: [{ name: "نيسان" }] }),
          makeArticle("sport-2", { published_at: july(30), categories: ["رياضة"], tags: ["t"], authors: [{ name: "سارة" }] }),
        ]);
        for (const filter of [
          { kind: "category", name: "رياضة" },
          { kind: "tag", name: "t" },
          { kind: "author", name: "سارة" },
        ] as const) {
          const first = await store.listArticles("nisan", { filter, limit: 1, notBefore: JULY });
          expect(first.items.map((a) => a.id)).toStrictEqual(["sport-2"]);
          expect(first.next).toStrictEqual({ published_at: july(30), id: "sport-2" });
          const second = await store.listArticles("nisan", { filter, limit: 1, notBefore: JULY, before: first.next });
          expect(second.items.map((a) => a.id)).toStrictEqual(["sport-1"]);
          expect(second.next).toBeUndefined();
          // The whole filtered feed, without the range, still reaches June.
          expect(await ids(store, "nisan", filter)).toStrictEqual(["sport-2", "sport-1", "sport-old"]);
        }
        const all = await store.listArticles("nisan", { filter: ALL, limit: 10, notBefore: july(15), before: { published_at: july(30), id: "sport-2" } });
        expect(all.items.map((a) => a.id)).toStrictEqual(["politics"]);
      });

      it("is empty when nothing is that recent", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: july(-1) })]);
        expect(await store.listArticles("nisan", { filter: ALL, limit: 10, notBefore: JULY })).toStrictEqual({ items: [] });
        expect(await store.listArticles("nisan", { filter: { kind: "tag", name: "روسيا" }, limit: 10, notBefore: JULY })).toStrictEqual({ items: [] });
      });
    });

    describe("range fingerprints", () => {
      // June and July 2024, as [from, to).
      const JUNE = { from: "2024-06-01T00:00:00Z", to: "2024-07-01T00:00:00Z" };
      const JULY = { from: "2024-07-01T00:00:00Z", to: "2024-08-01T00:00:00Z" };
      const inJune = (day: number): string => `2024-06-${String(day).padStart(2, "0")}T10:00:00Z`;
      const inJuly = (day: number): string => `2024-07-${String(day).padStart(2, "0")}T10:00:00Z`;
      /** updated_at values newer than anything published in these months. */
      const LATER = (n: number): string => `2024-09-0${n}T00:00:00Z`;

      async function fp(slug = "nisan", range = JUNE): Promise<string> {
        return store.rangeFingerprint(slug, range);
      }

      it("is a short string, stable while nothing changes, the same for every empty range", async () => {
        await siteWith("nisan");
        await siteWith("empty");
        const empty = await fp();
        expect(typeof empty).toBe("string");
        expect(empty.length).toBeGreaterThan(0);
        expect(empty.length).toBeLessThanOrEqual(64);
        expect(await fp("empty", JULY)).toBe(empty);
        expect(await fp("ghost")).toBe(empty);
        await store.putArticle("nisan", makeArticle("a", { published_at: inJune(3) }), at(1));
        const one = await fp();
        expect(one).not.toBe(empty);
        expect(await fp()).toBe(one);
        // Reads change nothing.
        await store.getArticle("nisan", "a");
        await store.listArticles("nisan", { filter: ALL, limit: 10 });
        expect(await fp()).toBe(one);
        // An aggregate of the index, never of the bodies: a long article does not make it long.
        await store.putArticle("nisan", makeArticle("long", { published_at: inJune(4), content_html: `<p>${"نص ".repeat(5000)}</p>` }), at(2));
        expect((await fp()).length).toBeLessThanOrEqual(64);
      });

      it("changes on a create in the range, not on writes to another month or another site", async () => {
        await siteWith("nisan", [makeArticle("j1", { published_at: inJune(5) }), makeArticle("l1", { published_at: inJuly(5) })]);
        await siteWith("other");
        const june = await fp();
        const july = await fp("nisan", JULY);

        await store.putArticle("nisan", makeArticle("l2", { published_at: inJuly(6) }), at(1));
        await store.putArticle("nisan", makeArticle("l1", { published_at: inJuly(5), title: "changed", updated_at: inJuly(20) }), at(2));
        await store.deleteArticle("nisan", "l2", at(3));
        await store.putArticle("other", makeArticle("j2", { published_at: inJune(6) }), at(4));
        await store.putArticle("other", makeArticle("j1", { published_at: inJune(5), title: "other's" }), at(5));
        await store.deleteArticle("other", "j2", at(6));
        await store.updateSite("nisan", makeSite("nisan", { title: "renamed" }), at(7));
        expect(await fp()).toBe(june);
        expect(await fp("nisan", JULY)).not.toBe(july);

        await store.putArticle("nisan", makeArticle("j2", { published_at: inJune(6) }), at(8));
        const created = await fp();
        expect(created).not.toBe(june);
        // Even a create that sorts first in the range (or last) counts.
        await store.putArticle("nisan", makeArticle("0", { published_at: JUNE.from }), at(9));
        const atStart = await fp();
        expect(atStart).not.toBe(created);
        await store.putArticle("nisan", makeArticle("zz", { published_at: "2024-06-30T23:59:59.999Z" }), at(10));
        expect(await fp()).not.toBe(atStart);
      });

      it("is half-open: published_at == to belongs to the next range", async () => {
        await siteWith("nisan");
        const june = await fp();
        const july = await fp("nisan", JULY);
        await store.putArticle("nisan", makeArticle("edge", { published_at: JULY.from }), at(1));
        expect(await fp()).toBe(june);
        expect(await fp("nisan", JULY)).not.toBe(july);
        // The range is compared as instants: the same edge spelled with an offset.
        expect(await store.rangeFingerprint("nisan", { from: "2024-06-01T03:00:00+03:00", to: "2024-07-01T03:00:00+03:00" })).toBe(june);
      });

      it("changes on every update, even with the same updated_at; not on 'unchanged' or 'stale'", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: inJune(5), updated_at: at(10) }), makeArticle("b", { published_at: inJune(6) })]);
        const seen = new Set([await fp()]);
        const expectNew = async (): Promise<void> => {
          const now = await fp();
          expect(seen.has(now)).toBe(false);
          seen.add(now);
        };

        await store.putArticle("nisan", makeArticle("a", { published_at: inJune(5), updated_at: at(11), title: "newer" }), at(20));
        await expectNew();
        // Same updated_at, different content: an update.
        const corrected = makeArticle("a", { published_at: inJune(5), updated_at: at(11), title: "corrected" });
        expect((await store.putArticle("nisan", corrected, at(21))).outcome).toBe("updated");
        await expectNew();
        // The other article of the range, as well.
        await store.putArticle("nisan", makeArticle("b", { published_at: inJune(6), summary: "ملخص" }), at(22));
        await expectNew();
        const current = await fp();

        expect((await store.putArticle("nisan", corrected, at(23))).outcome).toBe("unchanged");
        expect(await fp()).toBe(current);
        const older = makeArticle("a", { published_at: inJune(5), updated_at: at(10), title: "older" });
        expect((await store.putArticle("nisan", older, at(24))).outcome).toBe("stale");
        expect(await fp()).toBe(current);
        // A failed write changes nothing either.
        await expect(store.putArticle("ghost", corrected, at(25))).rejects.toThrow();
        expect(await store.deleteArticle("nisan", "nope", at(26))).toBe(false);
        expect(await fp()).toBe(current);
      });

      it("changes on a delete in the range, and when a deleted id comes back", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: inJune(5) }), makeArticle("b", { published_at: inJune(6) })]);
        const before = await fp();
        expect(await store.deleteArticle("nisan", "a", at(1))).toBe(true);
        const deleted = await fp();
        expect(deleted).not.toBe(before);
        await store.putArticle("nisan", makeArticle("a", { published_at: inJune(5) }), at(2));
        const back = await fp();
        expect(back).not.toBe(deleted);
        // The same article again is still a new revision of the month.
        expect(back).not.toBe(before);
        await store.deleteArticle("nisan", "b", at(3));
        await store.deleteArticle("nisan", "a", at(4));
        expect(await fp()).toBe(await fp("nisan", { from: "2030-01-01T00:00:00Z", to: "2030-02-01T00:00:00Z" }));
      });

      it("changes in both ranges when an article moves between them", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: inJune(30) }), makeArticle("stay", { published_at: inJuly(2) })]);
        const june = await fp();
        const july = await fp("nisan", JULY);
        const august = await fp("nisan", { from: JULY.to, to: "2024-09-01T00:00:00Z" });
        await store.putArticle("nisan", makeArticle("a", { published_at: inJuly(1), updated_at: LATER(1) }), at(6));
        const june2 = await fp();
        const july2 = await fp("nisan", JULY);
        expect(june2).not.toBe(june);
        expect(july2).not.toBe(july);
        expect(await fp("nisan", { from: JULY.to, to: "2024-09-01T00:00:00Z" })).toBe(august);
        // And back again.
        await store.putArticle("nisan", makeArticle("a", { published_at: inJune(30), updated_at: LATER(2) }), at(8));
        expect(await fp()).not.toBe(june2);
        expect(await fp("nisan", JULY)).not.toBe(july2);
        // A wider range holding both months sees every one of these writes too.
        const wide = { from: JUNE.from, to: JULY.to };
        const w = await fp("nisan", wide);
        await store.putArticle("nisan", makeArticle("a", { published_at: inJuly(9), updated_at: LATER(3) }), at(9));
        expect(await fp("nisan", wide)).not.toBe(w);
      });

      it("starts over with the site: a deleted site's articles are gone from it", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: inJune(5) })]);
        const empty = await fp("nisan", JULY);
        expect(await fp()).not.toBe(empty);
        await store.deleteSite("nisan");
        expect(await fp()).toBe(empty);
      });
    });

    describe("tombstones", () => {
      const SINCE = "2000-01-01T00:00:00Z";

      async function tombstones(slug = "nisan", since = SINCE, limit = 100): Promise<Tombstone[]> {
        return store.listTombstones(slug, { since, limit });
      }

      it("are left by a delete, with the article's published_at and the time of deletion", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: at(-60) }), makeArticle("b")]);
        expect(await tombstones()).toStrictEqual([]);
        expect(await store.deleteArticle("nisan", "a", at(30))).toBe(true);
        expect(await tombstones()).toStrictEqual([{ id: "a", published_at: at(-60), deleted_at: at(30) }]);
        // A tombstone is not an article.
        expect(await store.getArticle("nisan", "a")).toBeUndefined();
        expect(await ids(store, "nisan")).toStrictEqual(["b"]);
        // Deleting an unknown id leaves none.
        expect(await store.deleteArticle("nisan", "nope", at(31))).toBe(false);
        expect(await store.deleteArticle("nisan", "a", at(32))).toBe(false);
        expect(await tombstones()).toStrictEqual([{ id: "a", published_at: at(-60), deleted_at: at(30) }]);
      });

      it("keep the published_at the article had when it was deleted", async () => {
        await siteWith("nisan", [makeArticle("a", { published_at: at(1) })]);
        await store.putArticle("nisan", makeArticle("a", { published_at: at(2, 250), updated_at: at(3) }), at(3));
        await store.deleteArticle("nisan", "a", at(4));
        expect(await tombstones()).toStrictEqual([{ id: "a", published_at: at(2, 250), deleted_at: at(4) }]);
      });

      it("are removed when the id is published again, and renewed by a second delete", async () => {
        await siteWith("nisan", [makeArticle("a"), makeArticle("b")]);
        await store.deleteArticle("nisan", "a", at(10));
        await store.deleteArticle("nisan", "b", at(11));
        const again = makeArticle("a", { published_at: at(5), title: "again" });
        expect((await store.putArticle("nisan", again, at(12))).outcome).toBe("created");
        expect(await tombstones()).toStrictEqual([{ id: "b", published_at: T0, deleted_at: at(11) }]);
        // Updating it does not bring the tombstone back.
        expect((await store.putArticle("nisan", makeArticle("a", { published_at: at(5), title: "edited", updated_at: at(13) }), at(13))).outcome).toBe(
          "updated",
        );
        expect((await tombstones()).map((t) => t.id)).toStrictEqual(["b"]);
        expect(await store.deleteArticle("nisan", "a", at(20))).toBe(true);
        expect(await tombstones()).toStrictEqual([
          { id: "a", published_at: at(5), deleted_at: at(20) },
          { id: "b", published_at: T0, deleted_at: at(11) },
        ]);
      });

      it("are listed most recent deletion first, ties by id descending (code units), deleted_at compared as instants", async () => {
        const idsInOrder = ["a", "B", "b", "a-1", "10", "9"];
        await siteWith("nisan", [...idsInOrder, "early", "ms", "late"].map((id) => makeArticle(id)));
        for (const id of idsInOrder) await store.deleteArticle("nisan", id, at(5));
        await store.deleteArticle("nisan", "early", at(1));
        // "…:00.500Z" sorts before "…:00Z" as a string, but is the later instant.
        await store.deleteArticle("nisan", "ms", at(5, 500));
        await store.deleteArticle("nisan", "late", at(9));
        const listed = await tombstones();
        expect(listed.map((t) => t.id)).toStrictEqual(["late", "ms", "b", "a-1", "a", "B", "9", "10", "early"]);
        expect(listed.find((t) => t.id === "ms")).toStrictEqual({ id: "ms", published_at: T0, deleted_at: at(5, 500) });
      });

      it("take since (inclusive, as an instant) and limit", async () => {
        await siteWith("nisan", ["a", "b", "c", "d"].map((id) => makeArticle(id)));
        await store.deleteArticle("nisan", "a", at(1));
        await store.deleteArticle("nisan", "b", at(2));
        await store.deleteArticle("nisan", "c", at(3));
        await store.deleteArticle("nisan", "d", at(3, 1));
        expect((await tombstones("nisan", at(2))).map((t) => t.id)).toStrictEqual(["d", "c", "b"]);
        expect((await tombstones("nisan", at(2, 1))).map((t) => t.id)).toStrictEqual(["d", "c"]);
        expect((await tombstones("nisan", at(3, 2))).map((t) => t.id)).toStrictEqual([]);
        expect((await tombstones("nisan", SINCE, 2)).map((t) => t.id)).toStrictEqual(["d", "c"]);
        expect((await tombstones("nisan", at(1), 1)).map((t) => t.id)).toStrictEqual(["d"]);
        // The same instant with an offset.
        const offset = new Date(Date.parse(at(2))).toISOString().replace("Z", "+00:00");
        expect((await tombstones("nisan", offset)).map((t) => t.id)).toStrictEqual(["d", "c", "b"]);
      });

      it("are pruned when deleted before the limit, on the given site only; the limit itself is kept", async () => {
        await siteWith("one", ["a", "b", "c", "d"].map((id) => makeArticle(id)));
        await siteWith("two", ["a", "b"].map((id) => makeArticle(id)));
        await store.deleteArticle("one", "a", at(1));
        await store.deleteArticle("one", "b", at(50, -1));
        await store.deleteArticle("one", "c", at(50));
        await store.deleteArticle("one", "d", at(100));
        await store.deleteArticle("two", "a", at(2));
        await store.deleteArticle("two", "b", at(50, -1));
        expect(await store.pruneTombstones("one", at(50))).toBe(2);
        expect(await store.pruneTombstones("one", at(50))).toBe(0);
        expect((await tombstones("one")).map((t) => t.id)).toStrictEqual(["d", "c"]);
        expect((await tombstones("two")).map((t) => t.id)).toStrictEqual(["b", "a"]);
        // Published again: an article, not a tombstone, so pruning leaves it alone.
        expect((await store.putArticle("one", makeArticle("c"), at(101))).outcome).toBe("created");
        expect(await store.pruneTombstones("one", at(1000))).toBe(1);
        expect(await tombstones("one")).toStrictEqual([]);
        expect((await store.getArticle("one", "c"))?.id).toBe("c");
        expect(await store.pruneTombstones("two", at(2, 1))).toBe(1);
        expect((await tombstones("two")).map((t) => t.id)).toStrictEqual(["b"]);
        expect(await store.pruneTombstones("ghost", at(1000))).toBe(0);
      });

      it("go with their site, and are kept apart between sites", async () => {
        await siteWith("one", [makeArticle("same"), makeArticle("x")]);
        await siteWith("two", [makeArticle("same")]);
        await store.deleteArticle("one", "same", at(1));
        expect(await tombstones("two")).toStrictEqual([]);
        expect(await tombstones("ghost")).toStrictEqual([]);
        // A delete or a create of the same id on another site leaves this one's alone.
        await store.deleteArticle("two", "same", at(2));
        expect((await store.putArticle("two", makeArticle("same"), at(3))).outcome).toBe("created");
        expect(await tombstones("one")).toStrictEqual([{ id: "same", published_at: T0, deleted_at: at(1) }]);
        expect(await tombstones("two")).toStrictEqual([]);

        await store.deleteArticle("one", "x", at(4));
        expect(await store.deleteSite("one")).toBe(true);
        await siteWith("one");
        expect(await tombstones("one")).toStrictEqual([]);
        await store.deleteArticle("two", "same", at(5));
        expect(await tombstones("two")).toStrictEqual([{ id: "same", published_at: T0, deleted_at: at(5) }]);
        // What was deleted with its site is not pruned again.
        expect(await store.pruneTombstones("one", at(1000))).toBe(0);
        expect(await tombstones("one")).toStrictEqual([]);
      });

      it("are copies", async () => {
        await siteWith("nisan", [makeArticle("a")]);
        await store.deleteArticle("nisan", "a", at(1));
        const [t] = await tombstones();
        if (t) t.id = "mutated";
        expect(await tombstones()).toStrictEqual([{ id: "a", published_at: T0, deleted_at: at(1) }]);
      });
    });

    describe("concurrent writes", () => {
      // Started together: on engines that interleave (SQL engines read, then write one guarded
      // batch), these race for real; the outcomes must still be those of some serial order.

      it("two creates of one new id: one is created, the newest updated_at wins", async () => {
        await siteWith("nisan");
        const v = (await store.getSiteVersion("nisan"))?.version ?? 0;
        // Different terms and times, so that only the guard (not a colliding index row) can tell.
        const older = makeArticle("a", { title: "older", updated_at: at(1), categories: ["قديم"], tags: [], authors: [] });
        const newer = makeArticle("a", { title: "newer", published_at: at(-5), updated_at: at(2), categories: ["جديد"] });
        const [r1, r2] = await Promise.all([store.putArticle("nisan", older, at(10)), store.putArticle("nisan", newer, at(10))]);
        const outcomes = [r1.outcome, r2.outcome];
        // older first: [created, updated]; newer first: [stale, created] (stale answers the stored one).
        expect([["created", "updated"], ["stale", "created"]]).toContainEqual(outcomes);
        if (r1.outcome === "stale") expect(r1.article).toStrictEqual(newer);
        expect(await store.getArticle("nisan", "a")).toStrictEqual(newer);
        const writes = outcomes.filter((o) => o === "created" || o === "updated").length;
        expect((await store.getSiteVersion("nisan"))?.version).toBe(v + writes);
        expect(await ids(store, "nisan", { kind: "category", name: "جديد" })).toStrictEqual(["a"]);
        expect(await ids(store, "nisan", { kind: "category", name: "قديم" })).toStrictEqual([]);
      });

      it("the same article sent twice at once: created once, then unchanged", async () => {
        await siteWith("nisan");
        const v = (await store.getSiteVersion("nisan"))?.version ?? 0;
        const results = await Promise.all([1, 2, 3].map(() => store.putArticle("nisan", makeArticle("a"), at(10))));
        expect(results.map((r) => r.outcome).sort()).toStrictEqual(["created", "unchanged", "unchanged"]);
        expect((await store.getSiteVersion("nisan"))?.version).toBe(v + 1);
      });

      it("many creates on one site: every one applied, each its own version", async () => {
        await siteWith("nisan");
        const v = (await store.getSiteVersion("nisan"))?.version ?? 0;
        const range = { from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z" };
        const empty = await store.rangeFingerprint("nisan", range);
        const articles = Array.from({ length: 12 }, (_, i) => makeArticle(`n${String(i).padStart(2, "0")}`, { published_at: at(i) }));
        const results = await Promise.all(articles.map((a) => store.putArticle("nisan", a, at(100))));
        expect(results.map((r) => r.outcome)).toStrictEqual(articles.map(() => "created"));
        expect((await store.getSiteVersion("nisan"))?.version).toBe(v + articles.length);
        expect(await ids(store, "nisan")).toStrictEqual(feedOrder(articles));
        expect(await ids(store, "nisan", { kind: "tag", name: "روسيا" })).toStrictEqual(feedOrder(articles));
        const after = await store.rangeFingerprint("nisan", range);
        expect(after).not.toBe(empty);
        // Deleting them all at once, too.
        const deleted = await Promise.all(articles.map((a) => store.deleteArticle("nisan", a.id, at(200))));
        expect(deleted).toStrictEqual(articles.map(() => true));
        expect(await ids(store, "nisan")).toStrictEqual([]);
        expect((await store.listTombstones("nisan", { since: at(0), limit: 100 })).length).toBe(articles.length);
        expect((await store.getSiteVersion("nisan"))?.version).toBe(v + 2 * articles.length);
      });

      it("a delete and an update at once: either order, never half of each", async () => {
        await siteWith("nisan", [makeArticle("a")]);
        const newer = makeArticle("a", { title: "newer", updated_at: at(5), categories: ["جديد"] });
        const [put, deleted] = await Promise.all([store.putArticle("nisan", newer, at(6)), store.deleteArticle("nisan", "a", at(6))]);
        expect(deleted).toBe(true);
        const tombs = await store.listTombstones("nisan", { since: T0, limit: 10 });
        if (put.outcome === "updated") {
          // Update, then delete: gone, with a tombstone.
          expect(await store.getArticle("nisan", "a")).toBeUndefined();
          expect(tombs.map((t) => t.id)).toStrictEqual(["a"]);
          expect(await ids(store, "nisan", { kind: "category", name: "جديد" })).toStrictEqual([]);
        } else {
          // Delete, then a create: there, without a tombstone.
          expect(put.outcome).toBe("created");
          expect(await store.getArticle("nisan", "a")).toStrictEqual(newer);
          expect(tombs).toStrictEqual([]);
          expect(await ids(store, "nisan", { kind: "category", name: "جديد" })).toStrictEqual(["a"]);
        }
        expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toStrictEqual([]);
      });

      it("two deletes of one article: one deletes it", async () => {
        await siteWith("nisan", [makeArticle("a")]);
        const v = (await store.getSiteVersion("nisan"))?.version ?? 0;
        const results = await Promise.all([store.deleteArticle("nisan", "a", at(1)), store.deleteArticle("nisan", "a", at(1))]);
        expect(results.sort()).toStrictEqual([false, true]);
        expect((await store.getSiteVersion("nisan"))?.version).toBe(v + 1);
      });

      it("claims of one webhook id at once: exactly one is claimed", async () => {
        await siteWith("nisan");
        const claims = await Promise.all([1, 2, 3, 4].map((n) => store.claimWebhook("nisan", "msg", `h${n}`, at(1), 60_000)));
        expect(claims.filter((c) => c.state === "claimed")).toHaveLength(1);
        const winner = claims.findIndex((c) => c.state === "claimed") + 1;
        for (const c of claims) if (c.state !== "claimed") expect(c).toStrictEqual({ state: "in_flight", body_hash: `h${winner}` });
      });
    });

    describe("stored values are copies", () => {
      it("is not changed by mutating what was put or returned", async () => {
        await siteWith("nisan");
        const sent = makeArticle("a");
        const result = await store.putArticle("nisan", sent, at(1));
        sent.title = "mutated input";
        sent.categories.push("input");
        result.article.title = "mutated result";
        result.article.tags.push("result");

        const got = await store.getArticle("nisan", "a");
        expect(got).toStrictEqual(makeArticle("a"));
        if (got) {
          got.title = "mutated get";
          got.authors.push({ name: "get" });
        }
        const listed = await store.listArticles("nisan", { filter: ALL, limit: 10 });
        const first = listed.items[0];
        if (first) {
          first.title = "mutated list";
          first.categories.length = 0;
        }
        if (listed.next) listed.next.id = "x";
        expect(await store.getArticle("nisan", "a")).toStrictEqual(makeArticle("a"));
        expect((await store.listArticles("nisan", { filter: ALL, limit: 10 })).items).toStrictEqual([makeArticle("a")]);
        expect(await ids(store, "nisan", { kind: "category", name: "input" })).toStrictEqual([]);
        expect((await store.putArticle("nisan", makeArticle("a"), at(2))).outcome).toBe("unchanged");
      });

      it("is not changed by mutating site records", async () => {
        const record = makeRecord("nisan");
        await store.createSite(record);
        record.site.title = "mutated input";
        record.credentials.push(makeCredential(9));
        const got = await store.getSite("nisan");
        expect(got).toStrictEqual(makeRecord("nisan"));
        if (got) {
          got.site.websub_hubs.push("https://hub.example/");
          got.credentials[0]!.expires_at = T0;
          got.version = 99;
        }
        const v = await store.getSiteVersion("nisan");
        if (v) v.version = 42;
        const creds = [makeCredential(2)];
        await store.setCredentials("nisan", creds);
        creds[0]!.webhook_secret = "mutated";
        const site = makeSite("nisan", { title: "new" });
        const updated = await store.updateSite("nisan", site, at(1));
        site.websub_hubs.push("https://mutated.example/");
        if (updated) updated.site.title = "mutated result";
        expect(await store.getSite("nisan")).toStrictEqual(
          makeRecord("nisan", { site: makeSite("nisan", { title: "new" }), version: 2, modified_at: at(1), credentials: [makeCredential(2)] }),
        );
      });

      it("is not changed by mutating a replayed response", async () => {
        await siteWith("nisan");
        await store.claimWebhook("nisan", "m", "h", at(1), 60_000);
        const response = { status: 201, body: "first" };
        await store.completeWebhook("nisan", "m", response, at(1));
        response.body = "mutated";
        const claim = await store.claimWebhook("nisan", "m", "h", at(2), 60_000);
        if (claim.state === "done") claim.response.body = "mutated too";
        expect(await store.claimWebhook("nisan", "m", "h", at(3), 60_000)).toStrictEqual({
          state: "done",
          body_hash: "h",
          response: { status: 201, body: "first" },
        });
      });
    });
  });
}
