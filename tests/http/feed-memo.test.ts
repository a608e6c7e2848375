// The feed read path's memos (src/http/feed-memo.ts) and fragments in the app: a warm feed is one
// version read; a hot answer is exactly the full path's answer; nothing outlives a write, a month
// or a settings change; fragments never cross sites; every memo stays bounded.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { composeApp, createApp } from "../../src/http/app.ts";
import { ASK_LATER, createHotFeeds, createMonthClock, createSiteReader, HOT_DOCUMENTS, type HotRequest } from "../../src/http/feed-memo.ts";
import { withTurnVersionReads } from "../../src/store/turn-reads.ts";
import { createMemoryFeedCache } from "../../src/store/cache/memory.ts";
import { createMemoryFragmentCache } from "../../src/store/cache/fragments.ts";
import { StoreUnavailableError, type Store } from "../../src/store/port.ts";
import { createHarness, seedArticle, seedSite, type Harness } from "./harness.ts";

const FILES = ["rss.xml", "atom.xml", "feed.json"] as const;

/** A store wrapper that counts calls by method name, and can be made to fail. */
function instrumented(counts: Map<string, number>, failing: { on: boolean }): (store: Store) => Store {
  return (store) =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          counts.set(prop, (counts.get(prop) ?? 0) + 1);
          if (failing.on) return Promise.reject(new StoreUnavailableError(`store.${prop} failed: test`));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

describe("feed read path memos", () => {
  let h: Harness;
  let creds: { api_key: string; webhook_secret: string };
  const counts = new Map<string, number>();
  const failing = { on: false };
  const total = () => [...counts.values()].reduce((a, b) => a + b, 0);

  beforeEach(async () => {
    failing.on = false;
    h = await createHarness({ wrapStore: instrumented(counts, failing) });
    creds = await h.createSite();
    const published = await h.publish("nisan", creds.api_key, seedArticle());
    expect(published.status).toBe(201);
    counts.clear();
  });
  afterEach(async () => {
    await h.close();
  });

  it("a warm feed (200 or 304, any coding, HEAD too) is one version read and nothing else", async () => {
    for (const file of FILES) {
      const path = `/nisan/${file}?limit=5`;
      const first = await h.request(path);
      expect(first.status).toBe(200);
      const etag = first.headers.get("etag") ?? "";
      await h.request(path, { headers: { "accept-encoding": "gzip" } });
      await h.request(path, { headers: { "accept-encoding": "br" } });
      counts.clear();
      const variants: Record<string, string>[] = [{}, { "accept-encoding": "gzip" }, { "accept-encoding": "br" }, { "if-none-match": etag }];
      for (const headers of variants) {
        const res = await h.request(path, { headers });
        expect([200, 304]).toContain(res.status);
        await res.arrayBuffer();
        const head = await h.request(path, { method: "HEAD", headers });
        expect(head.status).toBe(res.status);
      }
      expect(Object.fromEntries(counts)).toEqual({ getSiteVersion: 8 });
      counts.clear();
    }
  });

  it("a hot answer is exactly what the full path answers (status, headers, bytes)", async () => {
    // Another app over the same store and caches, with no memo: the full path.
    const cold = () => createApp({ ...h.deps, feedCache: createMemoryFeedCache({ maxBytes: 8 << 20, maxEntries: 100 }) });
    for (const file of FILES) {
      for (const path of [`/nisan/${file}`, `/nisan/categories/${encodeURIComponent("سياسة")}/${file}`, `/nisan/${file}?limit=3&utm=x`]) {
        const warmup = await h.request(path);
        const etag = warmup.headers.get("etag") ?? "";
        const variants: Record<string, string>[] = [{}, { "accept-encoding": "gzip" }, { "if-none-match": etag }, { "if-modified-since": warmup.headers.get("last-modified") ?? "" }];
        for (const headers of variants) {
          await h.request(path, { headers }); // the full path once per coding, then hot
          const hot = await h.request(path, { headers });
          const full = await cold().request(path, { headers });
          expect(hot.status).toBe(full.status);
          expect(headersOf(hot)).toEqual(headersOf(full));
          expect(Buffer.from(await hot.arrayBuffer())).toEqual(Buffer.from(await full.arrayBuffer()));
        }
      }
    }
  });

  it("a publish, an edit with the same updated_at, and a settings change are all seen at once", async () => {
    const path = "/nisan/feed.json";
    const before = await (await h.request(path)).text();
    await h.request(path);
    const edited = { ...seedArticle(), title: "عنوان معدَّل" };
    const res = await h.publish("nisan", creds.api_key, edited);
    expect([200, 201]).toContain(res.status);
    const after = await (await h.request(path)).text();
    expect(after).not.toBe(before);
    expect(after).toContain("عنوان معدَّل");

    // Site settings that change items (language) and the frame (title).
    const put = await h.admin("PUT", "/v1/sites/nisan", { ...seedSite(), title: "نيسان الجديد", language: "en" });
    expect(put.status).toBeLessThan(300);
    const renamed = JSON.parse(await (await h.request(path)).text()) as { title: string; language: string; items: { language: string }[] };
    expect(renamed.title).toBe("نيسان الجديد");
    expect(renamed.language).toBe("en");
  });

  it("a new month is a new document: the memo does not answer across it", async () => {
    const path = "/nisan/atom.xml";
    const first = await h.request(path);
    const etag = first.headers.get("etag") ?? "";
    expect((await h.request(path, { headers: { "if-none-match": etag } })).status).toBe(304);
    h.advance(40 * 86_400_000);
    const next = await h.request(path, { headers: { "if-none-match": etag } });
    expect(next.status).toBe(200);
    expect(next.headers.get("etag")).not.toBe(etag);
  });

  it("a failing store during the version read serves the last good body once, without a second read", async () => {
    const path = "/nisan/rss.xml";
    const good = await h.request(path);
    const body = await good.text();
    counts.clear();
    failing.on = true;
    const stale = await h.request(path);
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(body);
    expect(total()).toBe(1);
    // And an unknown document is the store's 503.
    counts.clear();
    const unknown = await h.request("/nisan/rss.xml?limit=7");
    expect(unknown.status).toBe(503);
    expect(total()).toBe(1);
  });

  it("two sites with the same article never share fragments or answers", async () => {
    const fragments = createMemoryFragmentCache({ maxBytes: 8 << 20, maxEntries: 1_000 });
    const app = createApp({ ...h.deps, fragmentCache: fragments });
    const other = await h.createSite("other");
    expect((await h.publish("other", other.api_key, seedArticle())).status).toBe(201);
    for (const file of FILES) {
      const nisan = await (await app.request(`/nisan/${file}`)).text();
      const theirs = await (await app.request(`/other/${file}`)).text();
      expect(nisan).toContain(":nisan/");
      expect(nisan).not.toContain(":other/");
      expect(theirs).toContain(":other/");
      expect(theirs).not.toContain(":nisan/");
    }
    expect(fragments.stats().entries).toBe(2);
  });

  it("an unknown or malformed site is never remembered and never read twice", async () => {
    expect((await h.request("/nowhere/rss.xml")).status).toBe(404);
    expect(counts.get("getSiteVersion")).toBe(1);
    expect(counts.get("getSite") ?? 0).toBe(0);
    counts.clear();
    expect((await h.request(`/${"x".repeat(300)}/rss.xml`)).status).toBe(404);
    expect(total()).toBe(0);
  });
});

describe("memo bounds", () => {
  it("the hot-document memo keeps at most its bound", async () => {
    const h = await createHarness();
    try {
      await h.createSite();
      const hot = createHotFeeds({ store: h.store, feedCache: h.deps.feedCache, codings: [] }, 3);
      for (let i = 0; i < 10; i++) {
        hot.remember(`/nisan/rss.xml?limit=${i + 1}`, {
          slug: "nisan",
          version: 1,
          modifiedAt: "2026-01-01T00:00:00Z",
          from: 0,
          to: 1,
          etag: '"1"',
          lastModified: 0,
          headers: {},
          contentType: "application/rss+xml",
          cacheKeyPrefix: "k#",
        });
        expect(hot.size()).toBeLessThanOrEqual(3);
      }
      expect(HOT_DOCUMENTS).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  it("the site reader keeps at most its bound and reads settings only when the version moved", async () => {
    const h = await createHarness();
    try {
      for (const slug of ["a1", "a2", "a3", "a4"]) await h.createSite(slug);
      const counts = new Map<string, number>();
      const store = instrumented(counts, { on: false })(h.store);
      const reader = createSiteReader(store, 2);
      for (const slug of ["a1", "a2", "a3", "a4", "a4"]) {
        expect((await reader.read(slug))?.site.slug).toBe(slug);
        expect(reader.size()).toBeLessThanOrEqual(2);
      }
      expect(counts.get("getSite")).toBe(4);
      expect(counts.get("getSiteVersion")).toBe(5);
      expect(await reader.read("nowhere")).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it("the month clock answers the zone's month and moves with the clock", () => {
    const months = createMonthClock();
    const june = Date.UTC(2024, 5, 30, 22, 0, 0);
    expect(months.current(june, "UTC").month).toEqual({ year: 2024, month: 6 });
    // 22:00 UTC on 30 June is already July in Amman (UTC+3).
    expect(months.current(june, "Asia/Amman").month).toEqual({ year: 2024, month: 7 });
    expect(months.current(june + 86_400_000, "UTC").month).toEqual({ year: 2024, month: 7 });
    expect(months.current(june - 31 * 86_400_000, "UTC").month).toEqual({ year: 2024, month: 5 });
  });
});

describe("answers without waiting (answerNow)", () => {
  it("after a version read in this turn: the same answers as answer(); unknown turns and writes ask later", async () => {
    const h = await createHarness();
    try {
      const creds = await h.createSite();
      expect((await h.publish("nisan", creds.api_key, seedArticle())).status).toBe(201);
      const store = withTurnVersionReads(h.store, setImmediate);
      const { app, hotFeeds } = composeApp({ ...h.deps, store, siteVersionNow: (slug) => store.versionNow(slug) });
      const target = "/nisan/atom.xml?limit=3";
      const first = await app.request(target);
      await first.arrayBuffer();
      const etag = first.headers.get("etag") ?? "";
      await app.request(target, { headers: { "accept-encoding": "gzip" } });
      const variants: HotRequest[] = [
        { target, acceptEncoding: undefined, ifNoneMatch: undefined, ifModifiedSince: undefined },
        { target, acceptEncoding: "gzip", ifNoneMatch: undefined, ifModifiedSince: undefined },
        { target, acceptEncoding: undefined, ifNoneMatch: etag, ifModifiedSince: undefined },
        { target, acceptEncoding: "br", ifNoneMatch: undefined, ifModifiedSince: undefined }, // br not cached yet: the routes
        { target: "/nisan/rss.xml", acceptEncoding: undefined, ifNoneMatch: undefined, ifModifiedSince: undefined }, // not hot
      ];
      for (const request of variants) {
        await new Promise((resolve) => setImmediate(resolve)); // a new turn: nothing read yet
        const now = h.now();
        if (request.target === target) expect(hotFeeds.answerNow(request, now)).toBe(ASK_LATER);
        const waited = await hotFeeds.answer(request, now); // reads the version (this turn)
        const ready = hotFeeds.answerNow(request, now);
        expect(ready).not.toBe(ASK_LATER);
        expect(ready).toEqual(waited);
      }
      // A write through the store forgets the read: ask later, and then the answer is the new one.
      await new Promise((resolve) => setImmediate(resolve));
      const request = variants[2]!;
      expect((await hotFeeds.answer(request, h.now()))?.status).toBe(304);
      await store.putArticle("nisan", { ...(await store.getArticle("nisan", String(seedArticle().id)))!, title: "بعد الكتابة" }, new Date(h.now()).toISOString());
      expect(hotFeeds.answerNow(request, h.now())).toBe(ASK_LATER);
      expect(await hotFeeds.answer(request, h.now())).toBeUndefined(); // the version moved: the routes answer
    } finally {
      await h.close();
    }
  });
});
