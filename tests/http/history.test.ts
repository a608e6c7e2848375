// Paging, monthly archives (RFC 5005), tombstones (RFC 6721) and ?paged=N, over real SQLite.

import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE_URL, createHarness, problemOf, type Harness } from "./harness.ts";

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" });

type Json = Record<string, unknown>;

function article(id: string, publishedAt: string, extra: Json = {}): Json {
  return {
    id,
    title: `عنوان ${id}`,
    url: `https://nisan.example/ar/news/${id}`,
    published_at: publishedAt,
    summary: `ملخص ${id}`,
    categories: ["سياسة"],
    ...extra,
  };
}

/** Links of an Atom document by rel (one href per rel). */
function atomLinks(xml: string): Record<string, string> {
  const feed = (parser.parse(xml) as { feed: { link: Json | Json[] } }).feed;
  const links = Array.isArray(feed.link) ? feed.link : [feed.link];
  const out: Record<string, string> = {};
  for (const l of links) out[String(l["@rel"])] = String(l["@href"]);
  return out;
}

function atomEntryIds(xml: string): string[] {
  const feed = (parser.parse(xml) as { feed: { entry?: Json | Json[] } }).feed;
  const entries = feed.entry === undefined ? [] : Array.isArray(feed.entry) ? feed.entry : [feed.entry];
  return entries.map((e) => String(e.id));
}

const path = (url: string) => url.slice(BASE_URL.length);

describe("feed history", () => {
  let h: Harness;
  let key: string;

  beforeEach(async () => {
    h = await createHarness();
    key = (await h.createSite()).api_key;
  });
  afterEach(async () => {
    await h.close();
  });

  async function publishAll(items: Json[]) {
    for (const a of items) {
      const res = await h.publish("nisan", key, a);
      expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
    }
  }

  it("an aggregator walking next links reaches each of 500 articles exactly once, in every format", async () => {
    const items: Json[] = [];
    for (let i = 0; i < 500; i++) {
      // Several articles share a timestamp, so the id breaks ties.
      const minute = Math.floor(i / 3);
      const at = new Date(Date.UTC(2024, 0, 1) + minute * 3_600_000).toISOString().replace(".000Z", "Z");
      items.push(article(`a-${String(i).padStart(3, "0")}`, at));
    }
    await publishAll(items);
    const expected = new Set(items.map((a) => String(a.id)));

    for (const [file, limit] of [["atom.xml", 100], ["rss.xml", 37], ["feed.json", 100]] as const) {
      const seen: string[] = [];
      let url: string | undefined = `/nisan/${file}?limit=${limit}`;
      let pages = 0;
      while (url !== undefined && pages < 100) {
        pages++;
        const res = await h.request(url);
        expect(res.status).toBe(200);
        const text = await res.text();
        let next: string | undefined;
        if (file === "feed.json") {
          const doc = JSON.parse(text) as { items: { id: string }[]; next_url?: string };
          seen.push(...doc.items.map((i) => i.id));
          next = doc.next_url;
        } else if (file === "atom.xml") {
          seen.push(...atomEntryIds(text));
          next = atomLinks(text).next;
        } else {
          const channel = (parser.parse(text) as { rss: { channel: { item: Json[]; "atom:link": Json[] } } }).rss.channel;
          seen.push(...channel.item.map((i) => String((i.guid as Json)["#text"])));
          next = channel["atom:link"].map((l) => (l["@rel"] === "next" ? String(l["@href"]) : undefined)).find(Boolean);
        }
        url = next === undefined ? undefined : path(next);
      }
      const ids = seen.map((s) => s.slice(s.lastIndexOf("/") + 1));
      expect(ids.length, file).toBe(500);
      expect(new Set(ids)).toEqual(expected);
      // Newest first, ties by id descending.
      expect(ids[0]).toBe("a-499");
      expect(ids.at(-1)).toBe("a-000");
    }
  });

  describe("monthly archives", () => {
    // Asia/Amman is UTC+3: 2024-02-01 00:30 local is still January in UTC.
    const january = article("jan-last", "2024-01-31 23:30");
    const februaryFirst = article("feb-first", "2024-02-01 00:30");
    const february = article("feb-mid", "2024-02-15T09:00:00Z");
    const april = article("apr", "2024-04-10T09:00:00Z");

    beforeEach(async () => {
      await publishAll([january, februaryFirst, february, april]);
    });

    it("holds the month's articles in the site's time zone, with fh:archive and RFC 5005 links", async () => {
      const res = await h.request("/nisan/archive/2024/02/atom.xml");
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
      const xml = await res.text();
      expect(XMLValidator.validate(xml)).toBe(true);
      expect(xml).toContain('xmlns:fh="http://purl.org/syndication/history/1.0"');
      expect(xml).toContain("<fh:archive/>");
      expect(atomEntryIds(xml).map((id) => id.split("/").pop())).toEqual(["feb-mid", "feb-first"]);
      const links = atomLinks(xml);
      expect(links.self).toBe(`${BASE_URL}/nisan/archive/2024/02/atom.xml`);
      expect(links.current).toBe(`${BASE_URL}/nisan/atom.xml`);
      expect(links["prev-archive"]).toBe(`${BASE_URL}/nisan/archive/2024/01/atom.xml`);
      expect(links["next-archive"]).toBe(`${BASE_URL}/nisan/archive/2024/03/atom.xml`);

      // March is empty but still a valid document whose prev-archive skips back to February.
      const march = await (await h.request("/nisan/archive/2024/03/atom.xml")).text();
      expect(atomEntryIds(march)).toEqual([]);
      expect(atomLinks(march)["prev-archive"]).toBe(`${BASE_URL}/nisan/archive/2024/02/atom.xml`);

      const rss = await (await h.request("/nisan/archive/2024/01/rss.xml")).text();
      expect(rss).toContain("<fh:archive/>");
      expect(rss).toContain(`<atom:link rel="current" type="application/rss+xml" href="${BASE_URL}/nisan/rss.xml"/>`);
      expect(rss).toContain("jan-last");
      expect(rss).not.toContain("feb-first");
      const json = (await (await h.request("/nisan/archive/2024/04/feed.json")).json()) as { items: { id: string }[]; _rfc5005: Json };
      expect(json.items.map((i) => i.id.split("/").pop())).toEqual(["apr"]);
      expect(json._rfc5005).toMatchObject({ archive: true, current: `${BASE_URL}/nisan/feed.json`, prev_archive: `${BASE_URL}/nisan/archive/2024/02/feed.json` });
    });

    it("points the subscription feed's prev-archive at the newest closed month with articles", async () => {
      const links = atomLinks(await (await h.request("/nisan/atom.xml")).text());
      expect(links["prev-archive"]).toBe(`${BASE_URL}/nisan/archive/2024/04/atom.xml`);
    });

    it("dates the subscription feed's Last-Modified no earlier than the month's start, when prev-archive may move", async () => {
      const first = await h.request("/nisan/atom.xml");
      const lastModified = first.headers.get("last-modified")!;
      // The harness clock is 2026-11-27; move it into December (Asia/Amman), with no write.
      h.advance(5 * 86_400_000);
      const later = await h.request("/nisan/atom.xml", { headers: { "if-modified-since": lastModified } });
      expect(later.status).toBe(200);
      expect(later.headers.get("last-modified")).toBe("Mon, 30 Nov 2026 21:00:00 GMT");
      expect(later.headers.get("etag")).not.toBe(first.headers.get("etag"));
      // Filtered feeds have no archive links: their validators stay.
      const category = `/nisan/categories/${encodeURIComponent("سياسة")}/atom.xml`;
      const cat = await h.request(category);
      expect(cat.headers.get("last-modified")).toBe(lastModified);
    });

    it("refuses months that are not closed, and malformed months", async () => {
      const current = new Date(h.now()).toISOString().slice(0, 7).replace("-", "/");
      for (const bad of [`/nisan/archive/${current}/atom.xml`, "/nisan/archive/2999/01/atom.xml", "/nisan/archive/2024/13/atom.xml", "/nisan/archive/24/01/atom.xml"]) {
        const res = await h.request(bad);
        expect(res.status, bad).toBe(404);
        await problemOf(res);
      }
      expect((await h.request("/nisan/archive/2024/02/atom.xml?paged=2")).status).toBe(400);
    });

    it("changes a closed month's ETag only when an article in it is edited or deleted", async () => {
      const etag = async () => (await h.request("/nisan/archive/2024/02/atom.xml")).headers.get("etag");
      const first = await etag();
      // A write elsewhere (another month, another article) keeps the ETag, and a 304 answers.
      await publishAll([article("jun", "2024-06-01T10:00:00Z")]);
      expect(await etag()).toBe(first);
      const conditional = await h.request("/nisan/archive/2024/02/atom.xml", { headers: { "if-none-match": first! } });
      expect(conditional.status).toBe(304);
      // An edit of an article in the month changes it.
      const edited = await h.publish("nisan", key, { ...february, title: "عنوان جديد", updated_at: "2024-03-01T00:00:00Z" });
      expect(edited.status).toBe(200);
      const second = await etag();
      expect(second).not.toBe(first);
      // So does a delete.
      const del = await h.request("/v1/sites/nisan/articles/feb-first", { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
      expect(del.status).toBe(204);
      const third = await etag();
      expect(third).not.toBe(second);
      expect(atomEntryIds(await (await h.request("/nisan/archive/2024/02/atom.xml")).text())).toHaveLength(1);
    });

    it("pages a large month with next links inside the month only", async () => {
      const many: Json[] = [];
      for (let i = 0; i < 7; i++) many.push(article(`feb-${i}`, `2024-02-0${i + 2}T10:00:00Z`));
      await publishAll(many);
      const seen: string[] = [];
      let url: string | undefined = "/nisan/archive/2024/02/atom.xml?limit=4";
      while (url) {
        const xml: string = await (await h.request(url)).text();
        seen.push(...atomEntryIds(xml).map((id) => id.split("/").pop()!));
        const next = atomLinks(xml).next;
        url = next ? path(next) : undefined;
      }
      expect(seen).toHaveLength(9);
      expect(new Set(seen).size).toBe(9);
      expect(seen.every((id) => id.startsWith("feb"))).toBe(true);
    });
  });

  describe("deletions", () => {
    it("leaves an RFC 6721 tombstone in Atom and removes the item from RSS and JSON", async () => {
      await publishAll([article("keep", "2024-06-01T10:00:00Z"), article("gone", "2024-06-02T10:00:00Z")]);
      h.advance(60_000);
      const deletedAt = new Date(h.now()).toISOString().replace(".000Z", "Z");
      const del = await h.request("/v1/sites/nisan/articles/gone", { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
      expect(del.status).toBe(204);

      const atom = await (await h.request("/nisan/atom.xml")).text();
      expect(XMLValidator.validate(atom)).toBe(true);
      expect(atom).toContain('xmlns:at="http://purl.org/atompub/tombstones/1.0"');
      const goneId = atomEntryIds(await (await h.request("/nisan/atom.xml")).text()).find((id) => id.endsWith("/gone"));
      expect(goneId).toBeUndefined();
      const ref = atom.match(/<at:deleted-entry ref="([^"]+)" when="([^"]+)"\/>/);
      expect(ref?.[1]).toMatch(/^tag:nisan\.example,\d{4}-\d{2}-\d{2}:nisan\/gone$/);
      expect(ref?.[2]).toBe(deletedAt);

      const rss = await (await h.request("/nisan/rss.xml")).text();
      expect(rss).not.toContain("/gone<");
      expect(rss).toContain("/keep<");
      const json = (await (await h.request("/nisan/feed.json")).json()) as { items: { id: string }[] };
      expect(json.items.map((i) => i.id.split("/").pop())).toEqual(["keep"]);
      // Tombstones are for subscription feeds of the whole site, on the first page.
      expect(await (await h.request(`/nisan/categories/${encodeURIComponent("سياسة")}/atom.xml`)).text()).not.toContain("deleted-entry");

      // Publishing the id again brings it back as new, without a tombstone.
      expect((await h.publish("nisan", key, article("gone", "2024-06-02T10:00:00Z"))).status).toBe(201);
      expect(await (await h.request("/nisan/atom.xml")).text()).not.toContain("deleted-entry");
    });

    it("keeps tombstones for the site's tombstone_days, counted from the last write", async () => {
      const site = await h.admin("PUT", "/v1/sites/nisan", { ...(await (await h.admin("GET", "/v1/sites/nisan")).json() as Json), tombstone_days: 2, created_at: undefined, updated_at: undefined });
      expect(site.status).toBe(200);
      await publishAll([article("gone", "2024-06-02T10:00:00Z")]);
      await h.request("/v1/sites/nisan/articles/gone", { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
      expect(await (await h.request("/nisan/atom.xml")).text()).toContain("deleted-entry");
      h.advance(3 * 86_400_000);
      // Nothing was written: the same data still gives the same bytes.
      expect(await (await h.request("/nisan/atom.xml")).text()).toContain("deleted-entry");
      await publishAll([article("later", "2024-06-03T10:00:00Z")]);
      expect(await (await h.request("/nisan/atom.xml")).text()).not.toContain("deleted-entry");
    });

    it("drops the tombstones no feed can list any more at each delete, and keeps every one a feed may still list", async () => {
      const settings = (await (await h.admin("GET", "/v1/sites/nisan")).json()) as Json;
      expect((await h.admin("PUT", "/v1/sites/nisan", { ...settings, tombstone_days: 2, created_at: undefined, updated_at: undefined })).status).toBe(200);
      await publishAll(["old", "recent", "edge", "last"].map((id, i) => article(id, `2024-06-0${i + 1}T10:00:00Z`)));
      const remove = async (id: string) =>
        expect((await h.request(`/v1/sites/nisan/articles/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } })).status).toBe(204);
      const kept = async () => (await h.store.listTombstones("nisan", { since: "1970-01-01T00:00:00Z", limit: 100 })).map((t) => t.id).sort();
      await remove("old");
      h.advance(86_400_000);
      await remove("recent");
      h.advance(2 * 86_400_000 - 1);
      // "old" went 3 days minus 1 ms before this delete: within tombstone_days + the day kept for clocks.
      await remove("edge");
      expect(await kept()).toStrictEqual(["edge", "old", "recent"]);
      h.advance(2);
      await remove("last");
      // "old" is now more than 3 days old: no feed lists it (the window is 2 days back from the last write).
      expect(await kept()).toStrictEqual(["edge", "last", "recent"]);
      const atom = await (await h.request("/nisan/atom.xml")).text();
      expect(atom.match(/<at:deleted-entry ref="[^"]+\/(\w+)"/g)?.map((m) => m.split("/").pop()?.replace('"', "")).sort()).toStrictEqual(["edge", "last"]);
    });
  });

  describe("?paged=N", () => {
    it("serves WordPress-style pages and refuses out-of-range numbers", async () => {
      const items: Json[] = [];
      for (let i = 0; i < 25; i++) items.push(article(`p-${String(i).padStart(2, "0")}`, `2024-05-${String(i + 1).padStart(2, "0")}T10:00:00Z`));
      await publishAll(items);
      const page = async (q: string) => (JSON.parse(await (await h.request(`/nisan/feed.json?${q}`)).text()) as { items: { id: string }[]; feed_url: string }).items.map((i) => i.id.split("/").pop());
      expect(await page("paged=1&limit=10")).toEqual(items.slice(15).reverse().map((a) => a.id));
      expect(await page("paged=2&limit=10")).toEqual(items.slice(5, 15).reverse().map((a) => a.id));
      expect(await page("paged=3&limit=10")).toEqual(items.slice(0, 5).reverse().map((a) => a.id));
      expect(await page("paged=4&limit=10")).toEqual([]);
      const self = (JSON.parse(await (await h.request("/nisan/feed.json?paged=2&limit=10")).text()) as { feed_url: string }).feed_url;
      expect(self).toBe(`${BASE_URL}/nisan/feed.json?limit=10&paged=2`);
      for (const bad of ["paged=0", "paged=51", "paged=x", "paged=2&before=abc"]) {
        const res = await h.request(`/nisan/rss.xml?${bad}`);
        expect(res.status, bad).toBe(400);
        expect((await problemOf(res)).errors?.[0]?.field).toMatch(/paged|before/);
      }
    });
  });
});
