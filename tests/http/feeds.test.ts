// The public feed routes over app.request(): routes, content types, identity, per-format fields,
// self links, filters, ordering, paging, caching and transport, and the health check.

import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app.ts";
import { createMemoryFeedCache } from "../../src/store/cache/memory.ts";
import type { Store } from "../../src/store/port.ts";
import {
  BASE_URL,
  START,
  createHarness,
  problemOf,
  seedArticle,
  seedSite,
  type Harness,
  type HarnessOptions,
} from "./harness.ts";
import {
  asArray,
  asObject,
  attr,
  child,
  children,
  jsonFeedErrors,
  parseXml,
  text,
  textOf,
  type JsonObject,
  type XmlNode,
} from "../core/render/helpers.ts";

type Format = "rss" | "atom" | "json";
const FILES: Record<Format, string> = { rss: "rss.xml", atom: "atom.xml", json: "feed.json" };
const FORMATS: Format[] = ["rss", "atom", "json"];
const CONTENT_TYPES: Record<Format, string> = {
  rss: "application/rss+xml; charset=utf-8",
  atom: "application/atom+xml; charset=utf-8",
  json: "application/feed+json; charset=utf-8",
};

const SEED_ID = "2024-06-19-russia-dprk-treaty";
/** The site is created at START (2026-11-27): that day is the tag authority's date. */
const SEED_TAG = `tag:nisan.example,2026-11-27:nisan/${SEED_ID}`;

// ---------------------------------------------------------------- parsing helpers

interface ParsedFeed {
  /** Item ids (guid / id), in document order. */
  ids: string[];
  self: string | undefined;
  next: string | undefined;
}

function rssChannel(body: string): XmlNode {
  return child(child(parseXml(body), "rss"), "channel");
}

function atomFeed(body: string): XmlNode {
  return child(parseXml(body), "feed");
}

function jsonFeed(body: string): JsonObject {
  const doc = asObject(JSON.parse(body));
  expect(jsonFeedErrors(doc)).toEqual([]);
  return doc;
}

function linkHref(links: XmlNode[], rel: string): string | undefined {
  const found = links.filter((l) => attr(l, "rel") === rel);
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0] ? attr(found[0], "href") : undefined;
}

/** Parses (and validates) any of the three formats down to what paging and ordering need. */
function parseFeed(format: Format, body: string): ParsedFeed {
  if (format === "rss") {
    const channel = rssChannel(body);
    const links = children(channel, "atom:link");
    return {
      ids: children(channel, "item").map((item) => textOf(child(item, "guid"))),
      self: linkHref(links, "self"),
      next: linkHref(links, "next"),
    };
  }
  if (format === "atom") {
    const feed = atomFeed(body);
    const links = children(feed, "link");
    return {
      ids: children(feed, "entry").map((entry) => text(entry, "id")),
      self: linkHref(links, "self"),
      next: linkHref(links, "next"),
    };
  }
  const doc = jsonFeed(body);
  return {
    ids: asArray(doc.items).map((item) => String(asObject(item).id)),
    self: typeof doc.feed_url === "string" ? doc.feed_url : undefined,
    next: typeof doc.next_url === "string" ? doc.next_url : undefined,
  };
}

function tagOf(id: string): string {
  return `tag:nisan.example,2026-11-27:nisan/${encodeURIComponent(id)}`;
}

/** The path and query of an absolute URL under the configured base URL. */
function pathOf(url: string): string {
  expect(url.startsWith(`${BASE_URL}/`)).toBe(true);
  return url.slice(BASE_URL.length);
}

function expectProblem(body: { type: string; title: string; status: number; detail: string }, status: number): void {
  expect(body.status).toBe(status);
  expect(typeof body.type).toBe("string");
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+/);
}

/** A minimal valid article. */
function story(id: string, publishedAt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    title: `Story ${id}`,
    url: `https://nisan.example/ar/news/${id}`,
    published_at: publishedAt,
    summary: `Summary of ${id}.`,
    ...extra,
  };
}

/** A store wrapper that counts calls by method name. */
function counting(counts: Map<string, number>): NonNullable<HarnessOptions["wrapStore"]> {
  return (store: Store): Store =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          counts.set(prop, (counts.get(prop) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

// ---------------------------------------------------------------- tests

describe("feeds", () => {
  let h: Harness;
  let creds: { api_key: string; webhook_secret: string };

  const get = (path: string, headers: Record<string, string> = {}) => h.request(path, { headers });
  const publish = async (article: unknown) => {
    const res = await h.publish("nisan", creds.api_key, article);
    expect([200, 201]).toContain(res.status);
    return res;
  };
  const bodyOf = async (path: string) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    return res.text();
  };

  describe("with the seed site", () => {
    beforeEach(async () => {
      h = await createHarness();
      creds = await h.createSite();
    });
    afterEach(async () => {
      await h.close();
    });

    describe("routes and content types", () => {
      it.each(FORMATS)("%s: GET answers 200 with the exact content type", async (format) => {
        await publish(seedArticle());
        const res = await get(`/nisan/${FILES[format]}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe(CONTENT_TYPES[format]);
        const body = await res.text();
        expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(body));
        expect(parseFeed(format, body).ids).toEqual([SEED_TAG]);
      });

      it.each(FORMATS)("%s: HEAD has the GET headers and no body", async (format) => {
        await publish(seedArticle());
        const got = await get(`/nisan/${FILES[format]}`);
        const getBody = await got.arrayBuffer();
        const head = await h.request(`/nisan/${FILES[format]}`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect((await head.arrayBuffer()).byteLength).toBe(0);
        for (const name of ["content-type", "etag", "last-modified", "cache-control", "vary", "access-control-allow-origin"]) {
          expect(head.headers.get(name), name).toBe(got.headers.get(name));
        }
        const length = head.headers.get("content-length");
        if (length !== null) expect(Number(length)).toBe(getBody.byteLength);
      });

      it("HEAD of a filtered feed and a conditional HEAD", async () => {
        await publish(seedArticle());
        const path = `/nisan/categories/${encodeURIComponent("سياسة")}/atom.xml`;
        const head = await h.request(path, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(head.headers.get("content-type")).toBe(CONTENT_TYPES.atom);
        expect(await head.text()).toBe("");
        const etag = head.headers.get("etag") ?? "";
        const again = await h.request(path, { method: "HEAD", headers: { "if-none-match": etag } });
        expect(again.status).toBe(304);
        expect(again.headers.get("etag")).toBe(etag);
      });

      it.each([
        "/nowhere/rss.xml",
        "/nowhere/atom.xml",
        "/nowhere/feed.json",
        "/nowhere/categories/x/rss.xml",
        "/nowhere/tags/x/atom.xml",
        "/nowhere/authors/x/feed.json",
        "/NISAN/rss.xml",
        "/v1/rss.xml",
      ])("unknown site %s is a 404 problem", async (path) => {
        const res = await get(path);
        expect(res.status).toBe(404);
        expectProblem(await problemOf(res), 404);
      });

      it("an unknown site answers 404 to HEAD too", async () => {
        const res = await h.request("/nowhere/feed.json", { method: "HEAD" });
        expect(res.status).toBe(404);
      });

      it.each(FORMATS)("%s: a site without articles is a valid empty feed", async (format) => {
        const res = await get(`/nisan/${FILES[format]}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe(CONTENT_TYPES[format]);
        const body = await res.text();
        const parsed = parseFeed(format, body);
        expect(parsed.ids).toEqual([]);
        expect(parsed.next).toBeUndefined();
        expect(parsed.self).toBe(`${BASE_URL}/nisan/${FILES[format]}`);
        if (format === "rss") expect(text(rssChannel(body), "title")).toBe("نيسان");
        if (format === "atom") {
          const feed = atomFeed(body);
          expect(text(feed, "id")).toMatch(/^tag:/);
          expect(text(feed, "updated")).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
        }
        if (format === "json") expect(asObject(JSON.parse(body)).items).toEqual([]);
      });
    });

    describe("the seed article", () => {
      beforeEach(async () => {
        await publish(seedArticle());
      });

      it("has one id everywhere: tag:{host},{site created day}:{site}/{id}", async () => {
        const site = asObject(await (await h.admin("GET", "/v1/sites/nisan")).json());
        expect(String(site.created_at).slice(0, 10)).toBe("2026-11-27");
        const rss = rssChannel(await bodyOf("/nisan/rss.xml"));
        const item = children(rss, "item")[0] as XmlNode;
        const guid = child(item, "guid");
        expect(attr(guid, "isPermaLink")).toBe("false");
        expect(textOf(guid)).toBe(SEED_TAG);
        const atom = atomFeed(await bodyOf("/nisan/atom.xml"));
        expect(text(children(atom, "entry")[0] as XmlNode, "id")).toBe(SEED_TAG);
        const json = jsonFeed(await bodyOf("/nisan/feed.json"));
        expect(asObject(asArray(json.items)[0]).id).toBe(SEED_TAG);
      });

      it("the id never changes when the article is updated", async () => {
        const before = parseFeed("json", await bodyOf("/nisan/feed.json")).ids;
        h.advance(60_000);
        await publish({ ...seedArticle(), title: "عنوان جديد", updated_at: "2024-06-20T10:00:00Z" });
        const after = parseFeed("json", await bodyOf("/nisan/feed.json")).ids;
        expect(after).toEqual(before);
        expect(after).toEqual([SEED_TAG]);
        // Nor when the site's settings change days later: the date is the creation day.
        h.advance(3 * 86_400_000);
        const updated = await h.admin("PUT", "/v1/sites/nisan", { ...seedSite(), title: "نيسان الجديدة" });
        expect(updated.status).toBe(200);
        for (const format of FORMATS) {
          expect(parseFeed(format, await bodyOf(`/nisan/${FILES[format]}`)).ids).toEqual([SEED_TAG]);
        }
      });

      it("RSS: title, link, RFC 822 GMT pubDate, self link, language, dc:creator, content:encoded", async () => {
        const body = await bodyOf("/nisan/rss.xml");
        expect(body).toContain('xmlns:atom="http://www.w3.org/2005/Atom"');
        const channel = rssChannel(body);
        expect(text(channel, "language")).toBe("ar");
        expect(linkHref(children(channel, "atom:link"), "self")).toBe(`${BASE_URL}/nisan/rss.xml`);
        const items = children(channel, "item");
        expect(items).toHaveLength(1);
        const item = items[0] as XmlNode;
        expect(text(item, "title")).toBe(String(seedArticle().title));
        expect(text(item, "link")).toBe(String(seedArticle().url));
        expect(text(item, "pubDate")).toBe("Wed, 19 Jun 2024 11:49:00 GMT");
        expect(children(item, "dc:creator").map(textOf)).toEqual(["نيسان"]);
        expect(item.author).toBeUndefined();
        expect(text(item, "content:encoded")).toContain("فلاديمير بوتين");
        const terms = children(item, "category").map(textOf);
        expect(terms).toEqual(expect.arrayContaining(["سياسة", "دولي"]));
      });

      it("Atom: xml:lang, feed author, published and updated, category term", async () => {
        const feed = atomFeed(await bodyOf("/nisan/atom.xml"));
        expect(attr(feed, "xml:lang")).toBe("ar");
        const feedAuthors = children(feed, "author");
        expect(feedAuthors).toHaveLength(1);
        expect(text(feedAuthors[0] as XmlNode, "name")).toBe("نيسان");
        expect(linkHref(children(feed, "link"), "self")).toBe(`${BASE_URL}/nisan/atom.xml`);
        const entry = children(feed, "entry")[0] as XmlNode;
        expect(text(entry, "title")).toBe(String(seedArticle().title));
        const alternate = children(entry, "link").find((l) => (attr(l, "rel") ?? "alternate") === "alternate");
        expect(alternate && attr(alternate, "href")).toBe(String(seedArticle().url));
        expect(Date.parse(text(entry, "published"))).toBe(Date.parse("2024-06-19T11:49:00Z"));
        expect(Date.parse(text(entry, "updated"))).toBe(Date.parse("2024-06-19T11:49:00Z"));
        const terms = children(entry, "category").map((c) => attr(c, "term"));
        expect(terms).toEqual(expect.arrayContaining(["سياسة", "دولي"]));
      });

      it("JSON Feed 1.1: version, language, authors, dates, schema-valid", async () => {
        const doc = jsonFeed(await bodyOf("/nisan/feed.json"));
        expect(doc.version).toBe("https://jsonfeed.org/version/1.1");
        expect(doc.language).toBe("ar");
        expect(doc.feed_url).toBe(`${BASE_URL}/nisan/feed.json`);
        expect(asArray(doc.authors).length).toBeGreaterThan(0);
        const item = asObject(asArray(doc.items)[0]);
        expect(item.title).toBe(seedArticle().title);
        expect(item.url).toBe(seedArticle().url);
        expect(Date.parse(String(item.date_published))).toBe(Date.parse("2024-06-19T11:49:00Z"));
        expect(Date.parse(String(item.date_modified))).toBe(Date.parse("2024-06-19T11:49:00Z"));
        expect(asArray(item.authors).map((a) => asObject(a).name)).toEqual(["نيسان"]);
        expect(item.author).toBeUndefined();
      });

      it.each(FORMATS)("%s: XML is well-formed / JSON is schema-valid, also with ?limit and a filter", async (format) => {
        for (const path of [`/nisan/${FILES[format]}?limit=1`, `/nisan/tags/${encodeURIComponent("روسيا")}/${FILES[format]}`]) {
          const parsed = parseFeed(format, await bodyOf(path));
          expect(parsed.ids).toEqual([SEED_TAG]);
        }
      });
    });

    describe("self links", () => {
      beforeEach(async () => {
        await publish(seedArticle());
      });

      it.each(FORMATS)("%s: self link is the exact URL requested, query included", async (format) => {
        for (const query of ["", "?limit=5", "?limit=100"]) {
          const path = `/nisan/${FILES[format]}${query}`;
          expect(parseFeed(format, await bodyOf(path)).self).toBe(`${BASE_URL}${path}`);
        }
      });

      it.each(FORMATS)("%s: the Host header never shapes the body", async (format) => {
        const plain = await get(`/nisan/${FILES[format]}?limit=5`);
        const plainBody = await plain.text();
        for (const host of ["evil.example", "evil.example:8443", "127.0.0.1:9999"]) {
          const res = await h.app.request(`http://${host}/nisan/${FILES[format]}?limit=5`, {
            headers: { host, "x-forwarded-host": "forwarded.example", "x-forwarded-proto": "http" },
          });
          expect(res.status).toBe(200);
          const body = await res.text();
          expect(parseFeed(format, body).self).toBe(`${BASE_URL}/nisan/${FILES[format]}?limit=5`);
          expect(body).toBe(plainBody);
          expect(body).not.toContain("evil.example");
          expect(body).not.toContain("forwarded.example");
          expect(res.headers.get("etag")).toBe(plain.headers.get("etag"));
        }
      });

      it.each(FORMATS)("%s: a filtered feed's self link is its own URL", async (format) => {
        const path = `/nisan/categories/${encodeURIComponent("دولي")}/${FILES[format]}?limit=5`;
        expect(parseFeed(format, await bodyOf(path)).self).toBe(`${BASE_URL}${path}`);
      });

      it("unknown query parameters are ignored: same bytes, same ETag, no trace in the self link", async () => {
        for (const format of FORMATS) {
          const plain = await get(`/nisan/${FILES[format]}`);
          const odd = await get(`/nisan/${FILES[format]}?utm_source=x&foo=bar&limit2=999`);
          expect(odd.status).toBe(200);
          const body = await odd.text();
          expect(body).toBe(await plain.text());
          expect(odd.headers.get("etag")).toBe(plain.headers.get("etag"));
          expect(body).not.toContain("utm_source");
        }
      });
    });

    describe("category, tag and author feeds", () => {
      beforeEach(async () => {
        await publish(seedArticle());
        await publish(story("other", "2024-06-18T10:00:00Z", { categories: ["رياضة"], tags: ["كرة القدم"], authors: [{ name: "سامي" }] }));
      });

      const cases: [string, string][] = [
        ["categories", "سياسة"],
        ["categories", "دولي"],
        ["tags", "روسيا"],
        ["tags", "كوريا الشمالية"],
        ["tags", "كيم جونغ أون"],
        ["authors", "نيسان"],
      ];

      for (const [segment, name] of cases) {
        it.each(FORMATS)(`%s: /${segment}/${name}/ lists only the seed`, async (format) => {
          const path = `/nisan/${segment}/${encodeURIComponent(name)}/${FILES[format]}`;
          const res = await get(path);
          expect(res.status).toBe(200);
          expect(res.headers.get("content-type")).toBe(CONTENT_TYPES[format]);
          expect(parseFeed(format, await res.text()).ids).toEqual([SEED_TAG]);
        });
      }

      it("the other article is found by its own names", async () => {
        for (const [segment, name] of [["categories", "رياضة"], ["tags", "كرة القدم"], ["authors", "سامي"]] as const) {
          const ids = parseFeed("json", await bodyOf(`/nisan/${segment}/${encodeURIComponent(name)}/feed.json`)).ids;
          expect(ids).toEqual([tagOf("other")]);
        }
      });

      it("names are matched after NFC: an NFD request finds the article", async () => {
        const name = "كيم جونغ أون";
        const nfd = name.normalize("NFD");
        expect(nfd).not.toBe(name); // أ decomposes to ا + U+0654
        for (const format of FORMATS) {
          const res = await get(`/nisan/tags/${encodeURIComponent(nfd)}/${FILES[format]}`);
          expect(res.status).toBe(200);
          expect(parseFeed(format, await res.text()).ids).toEqual([SEED_TAG]);
        }
      });

      it("an article published with an NFD name is matched by the NFC name", async () => {
        await publish(story("nfd", "2024-06-17T10:00:00Z", { categories: ["أخبار".normalize("NFD")] }));
        const ids = parseFeed("rss", await bodyOf(`/nisan/categories/${encodeURIComponent("أخبار")}/rss.xml`)).ids;
        expect(ids).toEqual([tagOf("nfd")]);
      });

      it.each(["محلي/دولي", "100%", "C# و F#", "لماذا؟ why?", "a+b", "x&y=z", "  مسافات   كثيرة  "])("a name with reserved characters round-trips: %j", async (name) => {
        await publish(story("reserved", "2024-06-17T10:00:00Z", { categories: [name], tags: [name], authors: [{ name }] }));
        const canonical = name.trim().replace(/\s+/g, " ");
        for (const segment of ["categories", "tags", "authors"]) {
          for (const format of FORMATS) {
            const path = `/nisan/${segment}/${encodeURIComponent(canonical)}/${FILES[format]}?limit=3`;
            const res = await get(path);
            expect(res.status, path).toBe(200);
            const parsed = parseFeed(format, await res.text());
            expect(parsed.ids, path).toEqual([tagOf("reserved")]);
            expect(parsed.self).toBe(`${BASE_URL}${path}`);
          }
        }
      });

      it("a lowercase percent-encoding is the same name", async () => {
        const lower = encodeURIComponent("روسيا").toLowerCase();
        expect(parseFeed("atom", await bodyOf(`/nisan/tags/${lower}/atom.xml`)).ids).toEqual([SEED_TAG]);
      });

      it.each(FORMATS)("%s: a name without articles is 200 with a valid empty feed", async (format) => {
        for (const segment of ["categories", "tags", "authors"]) {
          const path = `/nisan/${segment}/${encodeURIComponent("لا شيء")}/${FILES[format]}`;
          const res = await get(path);
          expect(res.status).toBe(200);
          expect(res.headers.get("content-type")).toBe(CONTENT_TYPES[format]);
          const parsed = parseFeed(format, await res.text());
          expect(parsed.ids).toEqual([]);
          expect(parsed.self).toBe(`${BASE_URL}${path}`);
        }
      });

      it("a category name does not match a tag or an author of the same spelling", async () => {
        expect(parseFeed("json", await bodyOf(`/nisan/tags/${encodeURIComponent("سياسة")}/feed.json`)).ids).toEqual([]);
        expect(parseFeed("json", await bodyOf(`/nisan/authors/${encodeURIComponent("سياسة")}/feed.json`)).ids).toEqual([]);
      });

      it.each(["%E0%A4%A", "%FF", "%C3%28", "%ZZ", "%"])("a bad percent escape %s is 4xx, never 5xx", async (raw) => {
        for (const format of FORMATS) {
          const res = await get(`/nisan/categories/${raw}/${FILES[format]}`);
          expect(res.status, `${raw} ${format}`).toBeGreaterThanOrEqual(400);
          expect(res.status, `${raw} ${format}`).toBeLessThan(500);
          expectProblem(await problemOf(res), res.status);
        }
      });
    });

    describe("ordering and paging", () => {
      it("orders by published_at descending, then id descending", async () => {
        await publish(story("b", "2024-07-01T10:00:00Z"));
        await publish(story("early", "2024-06-01T10:00:00Z"));
        await publish(story("a", "2024-07-01T10:00:00Z"));
        await publish(story("late", "2024-08-01T10:00:00Z"));
        await publish(story("c", "2024-07-01T13:00:00+03:00")); // the same instant as b and a
        await publish(story("a-9", "2024-05-01T00:00:00Z"));
        await publish(story("a-10", "2024-05-01T00:00:00Z"));
        const expected = ["late", "c", "b", "a", "early", "a-9", "a-10"].map(tagOf);
        for (const format of FORMATS) {
          expect(parseFeed(format, await bodyOf(`/nisan/${FILES[format]}`)).ids, format).toEqual(expected);
        }
      });

      it("ordering is by published_at, not by the order of publishing or updated_at", async () => {
        await publish(story("old", "2024-01-01T00:00:00Z", { updated_at: "2024-09-01T00:00:00Z" }));
        await publish(story("new", "2024-02-01T00:00:00Z"));
        expect(parseFeed("json", await bodyOf("/nisan/feed.json")).ids).toEqual([tagOf("new"), tagOf("old")]);
      });

      describe("with 45 articles", () => {
        const all: { id: string; published: number }[] = [];
        beforeEach(async () => {
          all.length = 0;
          for (let n = 0; n < 45; n++) {
            // Groups of three share a published_at, so the id tie-break is exercised on every page.
            const published = Date.UTC(2024, 6, 1) + Math.floor(n / 3) * 3_600_000;
            const id = `a-${String((n * 17) % 45).padStart(2, "0")}`;
            all.push({ id, published });
            await publish(story(id, new Date(published).toISOString(), { categories: ["عام"], tags: [n % 2 === 0 ? "زوجي" : "فردي"] }));
          }
          all.sort((x, y) => y.published - x.published || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
        });

        it("the default limit is 20", async () => {
          for (const format of FORMATS) {
            const parsed = parseFeed(format, await bodyOf(`/nisan/${FILES[format]}`));
            expect(parsed.ids).toEqual(all.slice(0, 20).map((a) => tagOf(a.id)));
            expect(parsed.next).toBeDefined();
          }
        });

        it("limit 1 and 100 are accepted", async () => {
          const one = parseFeed("json", await bodyOf("/nisan/feed.json?limit=1"));
          expect(one.ids).toEqual([tagOf(all[0]?.id ?? "")]);
          expect(one.next).toBeDefined();
          const hundred = parseFeed("atom", await bodyOf("/nisan/atom.xml?limit=100"));
          expect(hundred.ids).toEqual(all.map((a) => tagOf(a.id)));
          expect(hundred.next).toBeUndefined();
        });

        it.each(FORMATS)("%s: following next links reaches every article exactly once", async (format) => {
          for (const limit of [7, 15, 45]) {
            const seen: string[] = [];
            let path: string | undefined = `/nisan/${FILES[format]}?limit=${limit}`;
            let pages = 0;
            while (path !== undefined) {
              pages++;
              expect(pages).toBeLessThan(20);
              const parsed = parseFeed(format, await bodyOf(path));
              expect(parsed.self).toBe(`${BASE_URL}${path}`);
              expect(parsed.ids.length).toBeLessThanOrEqual(limit);
              if (parsed.next !== undefined) expect(parsed.ids.length).toBe(limit);
              seen.push(...parsed.ids);
              path = parsed.next === undefined ? undefined : pathOf(parsed.next);
              if (path !== undefined) expect(path).toContain(`limit=${limit}`);
            }
            expect(seen).toEqual(all.map((a) => tagOf(a.id)));
            expect(new Set(seen).size).toBe(45);
            expect(pages).toBe(Math.ceil(45 / limit));
          }
        });

        it("the default-limit pages chain too, and a filtered feed pages the same way", async () => {
          await publish(story("zz-other", "2024-07-01T05:00:00Z", { categories: ["غير"] }));
          const follow = async (format: Format, start: string) => {
            const seen: string[] = [];
            let path: string | undefined = start;
            while (path !== undefined) {
              const parsed = parseFeed(format, await bodyOf(path));
              expect(parsed.self).toBe(`${BASE_URL}${path}`);
              seen.push(...parsed.ids);
              path = parsed.next === undefined ? undefined : pathOf(parsed.next);
            }
            return seen;
          };
          const everything = await follow("rss", "/nisan/rss.xml");
          expect(everything).toHaveLength(46);
          expect(new Set(everything).size).toBe(46);
          expect(await follow("rss", `/nisan/authors/${encodeURIComponent("لا أحد")}/rss.xml`)).toEqual([]);
          for (const format of FORMATS) {
            expect(await follow(format, `/nisan/categories/${encodeURIComponent("عام")}/${FILES[format]}?limit=10`)).toEqual(all.map((a) => tagOf(a.id)));
            const odd = await follow(format, `/nisan/tags/${encodeURIComponent("فردي")}/${FILES[format]}?limit=4`);
            const even = await follow(format, `/nisan/tags/${encodeURIComponent("زوجي")}/${FILES[format]}?limit=4`);
            expect(odd.length + even.length).toBe(45);
            expect([...odd, ...even].sort()).toEqual(all.map((a) => tagOf(a.id)).sort());
          }
        });

        it("a cursor page is stable when a newer article is published", async () => {
          const first = parseFeed("json", await bodyOf("/nisan/feed.json?limit=10"));
          await publish(story("brand-new", "2024-12-01T00:00:00Z"));
          const second = parseFeed("json", await bodyOf(pathOf(first.next ?? "")));
          expect(second.ids).toEqual(all.slice(10, 20).map((a) => tagOf(a.id)));
        });
      });

      it.each(["0", "101", "abc", "-1", "1.5", "20abc", "1000"])("limit=%j is a 400 problem", async (limit) => {
        for (const format of FORMATS) {
          const res = await get(`/nisan/${FILES[format]}?limit=${encodeURIComponent(limit)}`);
          expect(res.status, `${format} limit=${limit}`).toBe(400);
          expectProblem(await problemOf(res), 400);
        }
      });

      it.each(["junk", "!!!", "eyJhIjoxfQ", "WyJ4IiwieSJd", "%00", "a".repeat(2000)])("before=%j is a 400 problem", async (before) => {
        await publish(seedArticle());
        for (const format of FORMATS) {
          const res = await get(`/nisan/${FILES[format]}?before=${encodeURIComponent(before)}`);
          expect(res.status, `${format}`).toBe(400);
          expectProblem(await problemOf(res), 400);
        }
      });

      it("a bad limit on an unknown site is still not a 5xx", async () => {
        const res = await get("/nowhere/rss.xml?limit=abc");
        expect([400, 404]).toContain(res.status);
      });
    });

    describe("caching and transport", () => {
      beforeEach(async () => {
        h.advance(60_000);
        await publish(seedArticle());
      });

      const LAST_WRITE = () => new Date(START + 60_000).toUTCString();

      it.each(FORMATS)("%s: strong ETag, Last-Modified, Cache-Control, Vary, CORS on every 200", async (format) => {
        for (const path of [`/nisan/${FILES[format]}`, `/nisan/${FILES[format]}?limit=3`, `/nisan/tags/${encodeURIComponent("لا")}/${FILES[format]}`]) {
          const res = await get(path);
          expect(res.status).toBe(200);
          const etag = res.headers.get("etag") ?? "";
          expect(etag).toMatch(/^"[\x21\x23-\x7e]+"$/);
          expect(etag.startsWith("W/")).toBe(false);
          expect(res.headers.get("last-modified")).toBe(LAST_WRITE());
          expect(res.headers.get("cache-control")).toBe("public, max-age=900");
          expect(res.headers.get("vary")?.toLowerCase()).toContain("accept-encoding");
          expect(res.headers.get("access-control-allow-origin")).toBe("*");
        }
      });

      it("a fresh site's Last-Modified is its creation time", async () => {
        await h.createSite("empty");
        const res = await get("/empty/feed.json");
        expect(res.headers.get("last-modified")).toBe(new Date(h.now()).toUTCString());
      });

      it("each document has its own ETag", async () => {
        const tags = new Set<string>();
        for (const format of FORMATS) {
          for (const query of ["", "?limit=3"]) tags.add((await get(`/nisan/${FILES[format]}${query}`)).headers.get("etag") ?? "");
        }
        tags.add((await get(`/nisan/tags/${encodeURIComponent("روسيا")}/rss.xml`)).headers.get("etag") ?? "");
        expect(tags.size).toBe(7);
      });

      it.each(FORMATS)("%s: If-None-Match answers 304 with the ETag and no body", async (format) => {
        const path = `/nisan/${FILES[format]}`;
        const first = await get(path);
        const etag = first.headers.get("etag") ?? "";
        for (const inm of [etag, `"nope", ${etag}`, `W/${etag}`, "*"]) {
          const res = await get(path, { "if-none-match": inm });
          expect(res.status, inm).toBe(304);
          expect(res.headers.get("etag")).toBe(etag);
          expect(res.headers.get("cache-control")).toBe("public, max-age=900");
          expect(res.headers.get("vary")?.toLowerCase()).toContain("accept-encoding");
          expect((await res.arrayBuffer()).byteLength).toBe(0);
        }
        const miss = await get(path, { "if-none-match": '"nope"' });
        expect(miss.status).toBe(200);
        expect(await miss.text()).toBe(await first.text());
      });

      it("If-None-Match takes precedence over If-Modified-Since", async () => {
        const first = await get("/nisan/rss.xml");
        const etag = first.headers.get("etag") ?? "";
        const lastModified = first.headers.get("last-modified") ?? "";
        const mismatch = await get("/nisan/rss.xml", { "if-none-match": '"other"', "if-modified-since": lastModified });
        expect(mismatch.status).toBe(200);
        expect(await mismatch.text()).toBe(await first.text());
        const match = await get("/nisan/rss.xml", { "if-none-match": etag, "if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT" });
        expect(match.status).toBe(304);
      });

      it("If-Modified-Since alone answers 304 when not modified, 200 when modified", async () => {
        const first = await get("/nisan/atom.xml");
        const lastModified = first.headers.get("last-modified") ?? "";
        expect((await get("/nisan/atom.xml", { "if-modified-since": lastModified })).status).toBe(304);
        expect((await get("/nisan/atom.xml", { "if-modified-since": new Date(START + 3_600_000).toUTCString() })).status).toBe(304);
        expect((await get("/nisan/atom.xml", { "if-modified-since": new Date(START).toUTCString() })).status).toBe(200);
        expect((await get("/nisan/atom.xml", { "if-modified-since": new Date(START + 59_000).toUTCString() })).status).toBe(200);
        expect((await get("/nisan/atom.xml", { "if-modified-since": "not a date" })).status).toBe(200);
        h.advance(60_000);
        await publish(story("later", "2024-06-20T00:00:00Z"));
        const after = await get("/nisan/atom.xml", { "if-modified-since": lastModified });
        expect(after.status).toBe(200);
        expect(after.headers.get("last-modified")).toBe(new Date(START + 120_000).toUTCString());
      });

      it("If-Modified-Since works at one-second resolution for a change at a fraction of a second", async () => {
        h.advance(30_500); // the next write is at 12:01:30.500
        await publish(story("half", "2024-06-20T00:00:00Z"));
        const res = await get("/nisan/rss.xml");
        const lastModified = res.headers.get("last-modified") ?? "";
        expect(lastModified).toBe(new Date(START + 90_000).toUTCString());
        expect((await get("/nisan/rss.xml", { "if-modified-since": lastModified })).status).toBe(304);
        expect((await get("/nisan/rss.xml", { "if-modified-since": new Date(START + 89_000).toUTCString() })).status).toBe(200);
      });

      it("Cache-Control follows the site's ttl_minutes", async () => {
        const res = await h.admin("PUT", "/v1/sites/nisan", { ...seedSite(), ttl_minutes: 60 });
        expect(res.status).toBe(200);
        for (const format of FORMATS) {
          const feed = await get(`/nisan/${FILES[format]}`);
          expect(feed.headers.get("cache-control")).toBe("public, max-age=3600");
          const etag = feed.headers.get("etag") ?? "";
          const notModified = await get(`/nisan/${FILES[format]}`, { "if-none-match": etag });
          expect(notModified.status).toBe(304);
          expect(notModified.headers.get("cache-control")).toBe("public, max-age=3600");
        }
        expect(text(rssChannel(await bodyOf("/nisan/rss.xml")), "ttl")).toBe("60");
      });

      it.each(FORMATS)("%s: gzip and br bodies decode to the identity bytes", async (format) => {
        const path = `/nisan/${FILES[format]}`;
        const identity = await get(path);
        expect(identity.headers.get("content-encoding")).toBeNull();
        const plain = await bytesOf(identity);
        const gz = await get(path, { "accept-encoding": "gzip" });
        expect(gz.status).toBe(200);
        expect(gz.headers.get("content-encoding")).toBe("gzip");
        expect(gz.headers.get("content-type")).toBe(CONTENT_TYPES[format]);
        expect(gz.headers.get("vary")?.toLowerCase()).toContain("accept-encoding");
        const gzBytes = await bytesOf(gz);
        expect(Number(gz.headers.get("content-length"))).toBe(gzBytes.byteLength);
        expect(gunzipSync(gzBytes).equals(plain)).toBe(true);
        const br = await get(path, { "accept-encoding": "br" });
        expect(br.headers.get("content-encoding")).toBe("br");
        const brBytes = await bytesOf(br);
        expect(brBytes.equals(plain)).toBe(false);
        expect(brotliDecompressSync(brBytes).equals(plain)).toBe(true);
        // A refused coding is never used.
        const refused = await get(path, { "accept-encoding": "gzip;q=0, br;q=0" });
        expect(refused.headers.get("content-encoding")).toBeNull();
        expect((await bytesOf(refused)).equals(plain)).toBe(true);
        const onlyGzip = await get(path, { "accept-encoding": "br;q=0, gzip" });
        expect(onlyGzip.headers.get("content-encoding")).toBe("gzip");
        expect(gunzipSync(await bytesOf(onlyGzip)).equals(plain)).toBe(true);
        const identityOnly = await get(path, { "accept-encoding": "identity" });
        expect(identityOnly.headers.get("content-encoding")).toBeNull();
      });

      it("same data, same bytes and ETag: across requests, time, and a fresh app over the same store", async () => {
        const paths = FORMATS.flatMap((f) => [`/nisan/${FILES[f]}`, `/nisan/${FILES[f]}?limit=1`, `/nisan/categories/${encodeURIComponent("سياسة")}/${FILES[f]}`]);
        const first = new Map<string, { body: Buffer; etag: string | null; lastModified: string | null }>();
        for (const path of paths) {
          const res = await get(path);
          first.set(path, { body: await bytesOf(res), etag: res.headers.get("etag"), lastModified: res.headers.get("last-modified") });
        }
        h.advance(86_400_000);
        const fresh = createApp({ ...h.deps, feedCache: createMemoryFeedCache({ maxBytes: 1 << 20, maxEntries: 100 }) });
        for (const path of paths) {
          const expected = first.get(path);
          for (const res of [await get(path), await fresh.request(path)]) {
            expect(res.status).toBe(200);
            expect((await bytesOf(res)).equals(expected?.body ?? Buffer.alloc(0)), path).toBe(true);
            expect(res.headers.get("etag")).toBe(expected?.etag);
            expect(res.headers.get("last-modified")).toBe(expected?.lastModified);
          }
        }
      });

      it("a publish, an update and a delete each change the ETag and the body", async () => {
        const seen = new Set<string>();
        const bodies = new Set<string>();
        const snap = async () => {
          const res = await get("/nisan/feed.json");
          seen.add(res.headers.get("etag") ?? "");
          bodies.add(await res.text());
        };
        await snap();
        h.advance(1_000);
        await publish(story("x", "2024-06-20T00:00:00Z"));
        await snap();
        h.advance(1_000);
        await publish(story("x", "2024-06-20T00:00:00Z", { title: "Changed", updated_at: "2024-06-21T00:00:00Z" }));
        await snap();
        h.advance(1_000);
        const del = await h.request("/v1/sites/nisan/articles/x", { method: "DELETE", headers: { authorization: `Bearer ${creds.api_key}` } });
        expect(del.status).toBe(204);
        await snap();
        expect(seen.size).toBe(4);
        expect(bodies.size).toBe(3); // after the delete the feed is the first one again, under a new ETag
      });

      it("a deleted and re-created site shows none of the old articles and matches no old ETag", async () => {
        const old = await get("/nisan/rss.xml");
        const oldEtag = old.headers.get("etag") ?? "";
        const oldBody = await old.text();
        expect(parseFeed("rss", oldBody).ids).toEqual([SEED_TAG]);
        const gone = await h.admin("DELETE", "/v1/sites/nisan");
        expect(gone.status).toBe(204);
        for (const format of FORMATS) expect((await get(`/nisan/${FILES[format]}`)).status).toBe(404);
        h.advance(2 * 86_400_000);
        await h.createSite();
        const fresh = await get("/nisan/rss.xml", { "if-none-match": oldEtag });
        expect(fresh.status).toBe(200);
        expect(fresh.headers.get("etag")).not.toBe(oldEtag);
        expect(parseFeed("rss", await fresh.text()).ids).toEqual([]);
        for (const format of ["atom", "json"] as const) expect(parseFeed(format, await bodyOf(`/nisan/${FILES[format]}`)).ids).toEqual([]);
      });

      it("an old ETag no longer matches after a publish", async () => {
        const etag = (await get("/nisan/rss.xml")).headers.get("etag") ?? "";
        await publish(story("y", "2024-06-20T00:00:00Z"));
        const res = await get("/nisan/rss.xml", { "if-none-match": etag });
        expect(res.status).toBe(200);
        expect(parseFeed("rss", await res.text()).ids).toContain(tagOf("y"));
      });
    });
  });

  describe("store reads", () => {
    const counts = new Map<string, number>();
    /** Every store call that touches articles (the site point read is allowed). */
    const ARTICLE_READS = ["listArticles", "listTombstones", "rangeFingerprint", "getArticle"];
    const reads = () => ARTICLE_READS.reduce((sum, name) => sum + (counts.get(name) ?? 0), 0);
    const lists = () => counts.get("listArticles") ?? 0;

    beforeEach(async () => {
      counts.clear();
      h = await createHarness({ wrapStore: counting(counts) });
      creds = await h.createSite();
      await publish(seedArticle());
      counts.clear();
    });
    afterEach(async () => {
      await h.close();
    });

    it("a conditional GET never reads articles, even on an app with an empty cache", async () => {
      for (const format of FORMATS) {
        const path = `/nisan/${FILES[format]}`;
        const first = await get(path);
        expect(first.status).toBe(200);
        const afterFirst = reads();
        expect(lists()).toBeGreaterThan(0);
        const etag = first.headers.get("etag") ?? "";
        const lastModified = first.headers.get("last-modified") ?? "";
        const fresh = createApp({ ...h.deps, feedCache: createMemoryFeedCache({ maxBytes: 1 << 20, maxEntries: 100 }) });
        const conditions: Record<string, string>[] = [{ "if-none-match": etag }, { "if-modified-since": lastModified }, { "if-none-match": etag, "accept-encoding": "gzip" }];
        for (const headers of conditions) {
          expect((await fresh.request(path, { headers })).status).toBe(304);
          expect((await get(path, headers)).status).toBe(304);
          expect((await fresh.request(path, { method: "HEAD", headers })).status).toBe(304);
        }
        expect(reads()).toBe(afterFirst);
      }
    });

    it("a second plain GET is served from the cache, in any coding", async () => {
      for (const format of FORMATS) {
        const path = `/nisan/${FILES[format]}`;
        const before = lists();
        const body = await bodyOf(path);
        const afterFirst = reads();
        expect(lists()).toBeGreaterThan(before);
        expect(await bodyOf(path)).toBe(body);
        const gz = await get(path, { "accept-encoding": "gzip" });
        expect(gunzipSync(await bytesOf(gz)).toString("utf8")).toBe(body);
        const br = await get(path, { "accept-encoding": "br" });
        expect(brotliDecompressSync(await bytesOf(br)).toString("utf8")).toBe(body);
        expect(reads()).toBe(afterFirst);
      }
    });

    it("a publish makes the next GET read again", async () => {
      await bodyOf("/nisan/feed.json");
      const afterFirst = lists();
      await publish(story("z", "2024-06-20T00:00:00Z"));
      expect(parseFeed("json", await bodyOf("/nisan/feed.json")).ids).toContain(tagOf("z"));
      expect(lists()).toBeGreaterThan(afterFirst);
    });

    it("an empty filtered feed is not cached: a junk name reads every time", async () => {
      for (const segment of ["categories", "tags", "authors"]) {
        const path = `/nisan/${segment}/${encodeURIComponent(`junk-${segment}`)}/rss.xml`;
        const before = lists();
        expect(parseFeed("rss", await bodyOf(path)).ids).toEqual([]);
        const afterFirst = lists();
        expect(afterFirst).toBeGreaterThan(before);
        expect(parseFeed("rss", await bodyOf(path)).ids).toEqual([]);
        expect(lists()).toBe(afterFirst + (afterFirst - before));
      }
    });

    it("an unknown site never reads articles", async () => {
      expect((await get("/nowhere/rss.xml")).status).toBe(404);
      expect((await get("/nowhere/tags/x/rss.xml")).status).toBe(404);
      expect(reads()).toBe(0);
    });

    it("a bad query never reads articles", async () => {
      expect((await get("/nisan/rss.xml?limit=0")).status).toBe(400);
      expect((await get("/nisan/rss.xml?before=junk")).status).toBe(400);
      expect(reads()).toBe(0);
    });
  });

  describe("healthz", () => {
    afterEach(async () => {
      await h.close();
    });

    it("answers 200 {status: ok}", async () => {
      h = await createHarness();
      const res = await h.request("/healthz");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ status: "ok" });
    });

    it("answers 503 problem with Retry-After when the store does not answer", async () => {
      h = await createHarness({
        wrapStore: (store) =>
          new Proxy(store, {
            get(target, prop, receiver) {
              if (prop === "ping") return () => Promise.reject(new Error("database is locked"));
              const value: unknown = Reflect.get(target, prop, receiver);
              return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
            },
          }),
      });
      const res = await h.request("/healthz");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      const problem = await problemOf(res);
      expectProblem(problem, 503);
      expect(JSON.stringify(problem)).not.toContain("database is locked");
    });
  });
});
