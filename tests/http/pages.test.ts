// The pages for people over app.request(): `/{site}/` (HTML) and `/{site}/feeds.opml`:
// structure, direction, escaping, autodiscovery links that answer, OPML that parses, caching.

import { gunzipSync } from "node:zlib";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { DomUtils, parseDocument } from "htmlparser2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/port.ts";
import { BASE_URL, createHarness, problemOf, seedArticle, seedSite, type Harness } from "./harness.ts";

type Element = ReturnType<typeof DomUtils.findAll>[number];

const FEED_TYPES = {
  "application/rss+xml": "application/rss+xml; charset=utf-8",
  "application/atom+xml": "application/atom+xml; charset=utf-8",
  "application/feed+json": "application/feed+json; charset=utf-8",
} as const;

const ENGLISH_ARTICLE = {
  id: "markets-2024-06-20",
  title: "Markets close higher after the central bank holds rates",
  url: "https://nisan.example/en/news/markets-2024-06-20",
  published_at: "2024-06-20T08:00:00Z",
  summary: "Stocks rose for a third day.",
  language: "en",
  categories: ["Economy"],
  tags: ["Markets"],
};

// ---------------------------------------------------------------- helpers

function dom(html: string) {
  return parseDocument(html);
}

function all(root: ReturnType<typeof parseDocument>, predicate: (el: Element) => boolean): Element[] {
  return DomUtils.findAll(predicate, root.children);
}

function byTag(root: ReturnType<typeof parseDocument>, name: string): Element[] {
  return all(root, (el) => el.name === name);
}

function one(root: ReturnType<typeof parseDocument>, predicate: (el: Element) => boolean): Element {
  const found = all(root, predicate);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function textOf(el: Element): string {
  return DomUtils.textContent(el);
}

/** A URL under BASE_URL as the path app.request() takes. */
function localPath(url: string): string {
  expect(url.startsWith(`${BASE_URL}/`)).toBe(true);
  return url.slice(BASE_URL.length);
}

async function publishSeed(h: Harness, apiKey: string, article: unknown = seedArticle()): Promise<void> {
  const res = await h.publish("nisan", apiKey, article);
  expect(res.status, await res.clone().text()).toBe(201);
}

interface Outline {
  [attribute: string]: string | Outline[] | undefined;
  outline?: Outline[];
}

function parseOpml(xml: string): { title: string; outlines: Outline[] } {
  expect(XMLValidator.validate(xml)).toBe(true);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    processEntities: true,
    isArray: (name) => name === "outline",
  }).parse(xml) as { opml: { version: string; head: { title: string }; body: { outline: Outline[] } } };
  expect(parsed.opml.version).toBe("2.0");
  return { title: String(parsed.opml.head.title), outlines: parsed.opml.body.outline };
}

function subscriptions(outlines: Outline[]): Outline[] {
  return outlines.flatMap((o) => (o.outline ? subscriptions(o.outline) : [o]));
}

// ---------------------------------------------------------------- tests

describe("site page /{site}/", () => {
  let h: Harness;
  let apiKey: string;
  beforeEach(async () => {
    h = await createHarness();
    apiKey = (await h.createSite()).api_key;
  });
  afterEach(async () => {
    await h.close();
  });

  it("is an RTL HTML page for an Arabic site, with the latest articles and how to subscribe in Arabic", async () => {
    await publishSeed(h, apiKey);
    await publishSeed(h, apiKey, ENGLISH_ARTICLE);
    const res = await h.request("/nisan/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src https: http:");
    const html = await res.text();
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script/i);
    const doc = dom(html);
    const root = one(doc, (el) => el.name === "html");
    expect(root.attribs.lang).toBe("ar");
    expect(root.attribs.dir).toBe("rtl");
    expect(textOf(one(doc, (el) => el.name === "title"))).toBe("نيسان");

    // Newest first: the English article (20 June), then the seed (19 June).
    const items = all(doc, (el) => el.name === "li" && el.parent !== null && "name" in el.parent && el.parent.attribs.class === "articles");
    expect(items).toHaveLength(2);
    const [english, arabic] = items as [Element, Element];
    const arabicLink = one(dom(DomUtils.getOuterHTML(arabic)), (el) => el.name === "a");
    expect(arabicLink.attribs.href).toBe("https://nisan.example/ar/news/2024-06-19-russia-dprk-treaty");
    expect(textOf(arabicLink)).toBe(seedArticle().title);
    // 11:49Z is 14:49 in Amman (UTC+3), shown as the site's clocks showed it.
    const time = one(dom(DomUtils.getOuterHTML(arabic)), (el) => el.name === "time");
    expect(time.attribs.datetime).toBe("2024-06-19T14:49:00+03:00");
    expect(textOf(time)).toBe("2024-06-19 14:49");
    expect(Date.parse(time.attribs.datetime!)).toBe(Date.parse("2024-06-19T11:49:00Z"));
    expect(textOf(arabic)).toContain("قال الرئيس الروسي فلاديمير بوتين");
    expect(arabic.attribs.lang).toBeUndefined();
    // An article in another language carries its own lang and direction.
    expect(english.attribs.lang).toBe("en");
    expect(english.attribs.dir).toBe("ltr");
    expect(textOf(english)).toContain(ENGLISH_ARTICLE.title);
    expect(textOf(english)).toContain("2024-06-20 11:00");

    // How to subscribe, in Arabic, with the main feed addresses shown in full.
    expect(html).toContain("انسخ أحد العناوين أدناه");
    expect(html).toContain("أحدث المقالات");
    const codes = byTag(doc, "code").map(textOf);
    expect(codes).toEqual([`${BASE_URL}/nisan/rss.xml`, `${BASE_URL}/nisan/atom.xml`, `${BASE_URL}/nisan/feed.json`]);
    for (const code of byTag(doc, "code")) expect(code.attribs.dir).toBe("ltr");
  });

  it("has autodiscovery links for the three main formats, and every feed link answers with its feed type", async () => {
    await publishSeed(h, apiKey);
    await publishSeed(h, apiKey, ENGLISH_ARTICLE);
    const doc = dom(await (await h.request("/nisan/")).text());
    const alternates = all(doc, (el) => el.name === "link" && el.attribs.rel === "alternate");
    expect(alternates.map((l) => [l.attribs.type, l.attribs.href, l.attribs.title])).toEqual([
      ["application/rss+xml", `${BASE_URL}/nisan/rss.xml`, "نيسان (RSS)"],
      ["application/atom+xml", `${BASE_URL}/nisan/atom.xml`, "نيسان (Atom)"],
      ["application/feed+json", `${BASE_URL}/nisan/feed.json`, "نيسان (JSON Feed)"],
    ]);

    // Every feed link on the page: main, per category and per tag, in each format.
    const feedLinks = all(doc, (el) => (el.name === "a" || el.name === "link") && el.attribs.type !== undefined && el.attribs.type in FEED_TYPES);
    const hrefs = new Set(feedLinks.map((a) => a.attribs.href!));
    const names = ["سياسة", "دولي", "Economy"].map((n) => `categories/${encodeURIComponent(n)}`)
      .concat(["روسيا", "كوريا الشمالية", "بوتين", "كيم جونغ أون", "Markets"].map((n) => `tags/${encodeURIComponent(n)}`));
    for (const name of names) {
      for (const file of ["rss.xml", "atom.xml", "feed.json"]) expect(hrefs).toContain(`${BASE_URL}/nisan/${name}/${file}`);
    }
    expect(hrefs.size).toBe(3 + names.length * 3);
    expect([...hrefs].every((href) => /^[\x21-\x7e]+$/.test(href))).toBe(true);
    for (const link of feedLinks) {
      const res = await h.request(localPath(link.attribs.href!));
      expect(res.status, link.attribs.href).toBe(200);
      expect(res.headers.get("content-type")).toBe(FEED_TYPES[link.attribs.type as keyof typeof FEED_TYPES]);
      const body = await res.text();
      // Filtered feeds hold the articles that carry the term.
      if (link.attribs.href!.includes("/tags/Markets/")) expect(body).toContain(ENGLISH_ARTICLE.title);
      if (link.attribs.href!.includes(`/tags/${encodeURIComponent("بوتين")}/`)) expect(body).toContain("2024-06-19-russia-dprk-treaty");
    }
    // The OPML link answers too.
    const opml = one(doc, (el) => el.name === "a" && el.attribs.type === "text/x-opml");
    expect(opml.attribs.href).toBe(`${BASE_URL}/nisan/feeds.opml`);
    expect((await h.request(localPath(opml.attribs.href!))).status).toBe(200);
  });

  it("escapes hostile titles, names and settings everywhere", async () => {
    const hostileSite = { ...seedSite(), title: `&lt;script&gt;alert("site")&lt;/script&gt; & 'co'`, description: `&lt;/style&gt;&lt;img src=x onerror=alert(1)&gt;` };
    const updated = await h.admin("PUT", "/v1/sites/nisan", hostileSite);
    expect(updated.status).toBe(200);
    const siteTitle = ((await updated.json()) as { title: string }).title;
    expect(siteTitle).toBe(`<script>alert("site")</script> & 'co'`);
    const hostileTitle = `&lt;script&gt;alert(1)&lt;/script&gt; "quoted" & 'single' <b>bold</b>`;
    const res0 = await h.publish("nisan", apiKey, {
      id: "hostile",
      title: hostileTitle,
      url: "https://nisan.example/ar/news/x?a=1&b='2'",
      published_at: "2024-06-19T11:49:00Z",
      summary: `&lt;/p&gt;&lt;iframe src="https://evil.example"&gt;`,
      // Titles and terms are plain text: markup is removed on the way in, entities are decoded.
      categories: [`"&gt;&lt;script&gt;x&lt;/script&gt;`, "a/b?c#d e&f%"],
      tags: ["&lt;/textarea&gt;"],
    });
    expect(res0.status).toBe(201);
    const stored = (await res0.json()) as { title: string; url: string; summary: string; categories: string[]; tags: string[] };

    const html = await (await h.request("/nisan/")).text();
    expect(html).not.toMatch(/<script|<iframe|<img|<b>|<\/textarea>/i);
    const doc = dom(html);
    expect(all(doc, (el) => ["script", "iframe", "img", "b", "textarea"].includes(el.name))).toEqual([]);
    expect(all(doc, (el) => Object.keys(el.attribs).some((name) => name.startsWith("on")))).toEqual([]);
    expect(textOf(one(doc, (el) => el.name === "title"))).toBe(siteTitle);
    expect(one(doc, (el) => el.name === "meta" && el.attribs.name === "description").attribs.content).toBe("</style><img src=x onerror=alert(1)>");
    const heading = one(doc, (el) => el.name === "h3");
    expect(textOf(heading)).toBe(stored.title);
    expect(stored.title).toContain("<script>");
    expect(stored.categories[0]).toBe(`"><script>x</script>`);
    expect(stored.tags).toEqual(["</textarea>"]);
    const link = one(doc, (el) => el.name === "a" && el.attribs.href?.startsWith("https://nisan.example/ar/news/x") === true);
    expect(link.attribs.href).toBe(stored.url);
    expect(stored.url).toContain("&");
    expect(html).toContain(stored.summary.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"));
    for (const el of all(doc, (e) => e.name === "link" && e.attribs.rel === "alternate")) {
      expect(el.attribs.title!.startsWith(siteTitle)).toBe(true);
    }
    // Names reach URLs percent-encoded, and those URLs answer.
    const names = all(doc, (el) => el.attribs.class === "name").map(textOf);
    expect(names).toEqual([...stored.categories, ...stored.tags]);
    const weird = `${BASE_URL}/nisan/categories/${encodeURIComponent("a/b?c#d e&f%")}/rss.xml`;
    expect(all(doc, (el) => el.name === "a" && el.attribs.href === weird)).toHaveLength(1);
    const res = await h.request(localPath(weird));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<guid");
  });

  it("is left to right with English words for an English site, and a right-to-left non-Arabic site gets English words marked as such", async () => {
    const english = { ...seedSite(), slug: "daily", title: "The Daily", language: "en-GB", timezone: "Europe/London", home_page_url: "https://daily.example/" };
    const key = (await h.createSite("daily", english)).api_key;
    expect((await h.publish("daily", key, { ...ENGLISH_ARTICLE, language: undefined })).status).toBe(201);
    const html = await (await h.request("/daily/")).text();
    const doc = dom(html);
    const root = one(doc, (el) => el.name === "html");
    expect(root.attribs).toMatchObject({ lang: "en-GB", dir: "ltr" });
    expect(html).toContain("Follow this site in a feed reader");
    expect(html).toContain("Latest articles");
    expect(html).not.toContain('dir="rtl"');
    // 08:00Z is 09:00 in London in June (BST).
    expect(one(doc, (el) => el.name === "time").attribs.datetime).toBe("2024-06-20T09:00:00+01:00");

    const hebrew = { ...seedSite(), slug: "iton", title: "עיתון", language: "he", timezone: "Asia/Jerusalem", home_page_url: "https://iton.example/" };
    await h.createSite("iton", hebrew);
    const hdoc = dom(await (await h.request("/iton/")).text());
    expect(one(hdoc, (el) => el.name === "html").attribs).toMatchObject({ lang: "he", dir: "rtl" });
    const subscribe = one(hdoc, (el) => el.attribs.class === "subscribe");
    expect(subscribe.attribs).toMatchObject({ lang: "en", dir: "ltr" });
    // No articles yet: said so, with no topic sections.
    expect(textOf(one(hdoc, (el) => el.name === "main"))).toContain("No articles have been published yet.");
    expect(all(hdoc, (el) => el.attribs.class === "terms")).toHaveLength(0);
  });

  it("lists the latest 20 articles", async () => {
    for (let i = 0; i < 22; i++) {
      const day = String(i + 1).padStart(2, "0");
      const res = await h.publish("nisan", apiKey, { id: `a-${day}`, title: `Article ${day}`, url: `https://nisan.example/a/${day}`, published_at: `2024-05-${day}T10:00:00Z`, summary: "s" });
      expect(res.status).toBe(201);
    }
    const doc = dom(await (await h.request("/nisan/")).text());
    const titles = byTag(doc, "h3").map(textOf);
    expect(titles).toHaveLength(20);
    expect(titles[0]).toBe("Article 22");
    expect(titles[19]).toBe("Article 03");
  });

  it("answers 304 by ETag and Last-Modified, HEAD without a body, gzip when asked, and a new ETag after a publish", async () => {
    await publishSeed(h, apiKey);
    const first = await h.request("/nisan/");
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    expect(etag).toMatch(/^"[0-9a-z]+-[0-9a-f]{8}"$/);
    expect(lastModified).toMatch(/ GMT$/);
    expect(first.headers.get("cache-control")).toBe("public, max-age=900");
    expect(first.headers.get("vary")).toBe("Accept-Encoding");
    const body = await first.text();

    const byTag304 = await h.request("/nisan/", { headers: { "if-none-match": etag } });
    expect(byTag304.status).toBe(304);
    expect(byTag304.headers.get("etag")).toBe(etag);
    expect(await byTag304.text()).toBe("");
    expect((await h.request("/nisan/", { headers: { "if-modified-since": lastModified } })).status).toBe(304);
    // If-None-Match wins over If-Modified-Since.
    expect((await h.request("/nisan/", { headers: { "if-none-match": '"other"', "if-modified-since": lastModified } })).status).toBe(200);

    const head = await h.request("/nisan/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(head.headers.get("etag")).toBe(etag);
    expect(await head.text()).toBe("");

    const gz = await h.request("/nisan/", { headers: { "accept-encoding": "gzip" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString("utf8")).toBe(body);

    h.advance(60_000);
    await publishSeed(h, apiKey, ENGLISH_ARTICLE);
    const after = await h.request("/nisan/", { headers: { "if-none-match": etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
    expect(await after.text()).toContain(ENGLISH_ARTICLE.title);
    // Same data, same bytes.
    const again = await h.request("/nisan/");
    expect(again.headers.get("etag")).toBe(after.headers.get("etag"));
  });

  it("is rendered once per site version (cached like the feeds)", async () => {
    await h.close();
    let listed = 0;
    h = await createHarness({
      wrapStore: (store: Store): Store => ({
        ...store,
        listArticles: (slug, query) => {
          listed++;
          return store.listArticles(slug, query);
        },
      }),
    });
    apiKey = (await h.createSite()).api_key;
    await publishSeed(h, apiKey);
    const a = await (await h.request("/nisan/")).text();
    const b = await (await h.request("/nisan/")).text();
    const etag = (await h.request("/nisan/", { method: "HEAD" })).headers.get("etag")!;
    expect((await h.request("/nisan/", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect(b).toBe(a);
    expect(listed).toBe(1);
    await publishSeed(h, apiKey, ENGLISH_ARTICLE);
    await h.request("/nisan/");
    expect(listed).toBe(2);
  });

  it("is 404 problem+json for an unknown site; /{site} redirects; other routes are not shadowed", async () => {
    for (const path of ["/nope/", "/nope/feeds.opml", "/nope", "/v1/", "/healthz/", "/Nisan/"]) {
      const res = await h.request(path);
      expect(res.status, path).toBe(404);
      expect((await problemOf(res)).status).toBe(404);
    }
    const redirect = await h.request("/nisan");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe(`${BASE_URL}/nisan/`);
    const health = await h.request("/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect((await h.admin("GET", "/v1/sites/nisan")).status).toBe(200);
    expect((await h.request("/nisan/rss.xml")).headers.get("content-type")).toBe("application/rss+xml; charset=utf-8");
  });
});

describe("OPML /{site}/feeds.opml", () => {
  let h: Harness;
  let apiKey: string;
  beforeEach(async () => {
    h = await createHarness();
    apiKey = (await h.createSite()).api_key;
  });
  afterEach(async () => {
    await h.close();
  });

  it("lists the main feed in three formats and a feed per category and tag, every one answering", async () => {
    await publishSeed(h, apiKey);
    await publishSeed(h, apiKey, { ...ENGLISH_ARTICLE, categories: ["Economy", `<&"'>`], tags: ["Markets", "سياسة"] });
    const res = await h.request("/nisan/feeds.opml");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/x-opml; charset=utf-8");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const xml = await res.text();
    const { title, outlines } = parseOpml(xml);
    expect(title).toBe("نيسان");
    const subs = subscriptions(outlines);
    for (const sub of subs) {
      expect(sub.type).toBe("rss");
      expect(sub.htmlUrl).toBe("https://nisan.example/ar/");
      expect(typeof sub.text).toBe("string");
      expect(sub.title).toBe(sub.text);
    }
    const urls = subs.map((s) => s.xmlUrl as string);
    const term = (kind: string, name: string) => `${BASE_URL}/nisan/${kind}/${encodeURIComponent(name)}/rss.xml`;
    expect(urls).toEqual([
      `${BASE_URL}/nisan/rss.xml`,
      `${BASE_URL}/nisan/atom.xml`,
      `${BASE_URL}/nisan/feed.json`,
      // Categories, then tags, newest article first, each once.
      term("categories", "Economy"),
      term("categories", `<&"'>`),
      term("categories", "سياسة"),
      term("categories", "دولي"),
      term("tags", "Markets"),
      term("tags", "سياسة"),
      term("tags", "روسيا"),
      term("tags", "كوريا الشمالية"),
      term("tags", "بوتين"),
      term("tags", "كيم جونغ أون"),
    ]);
    expect(subs.map((s) => s.text).slice(0, 3)).toEqual(["نيسان (RSS)", "نيسان (Atom)", "نيسان (JSON Feed)"]);
    expect(subs[4]!.text).toBe(`نيسان: <&"'>`);
    const types = ["application/rss+xml; charset=utf-8", "application/atom+xml; charset=utf-8", "application/feed+json; charset=utf-8"];
    for (const [i, url] of urls.entries()) {
      const feed = await h.request(localPath(url));
      expect(feed.status, url).toBe(200);
      expect(feed.headers.get("content-type")).toBe(types[Math.min(i, 3) === 3 ? 0 : i]);
    }
    // Groups carry the site's language (Arabic words for an Arabic site).
    expect(outlines.map((o) => o.text)).toEqual(["نيسان", "خلاصات حسب التصنيف", "خلاصات حسب الوسم"]);
  });

  it("takes categories and tags from the latest 100 articles only", async () => {
    for (let i = 0; i < 101; i++) {
      const n = String(i).padStart(3, "0");
      // Article 000 is the oldest: its tag falls outside the latest 100.
      const res = await h.publish("nisan", apiKey, { id: `a-${n}`, title: `A ${n}`, url: `https://nisan.example/a/${n}`, published_at: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(), summary: "s", tags: [`t-${n}`] });
      expect(res.status).toBe(201);
    }
    const urls = subscriptions(parseOpml(await (await h.request("/nisan/feeds.opml")).text()).outlines).map((s) => s.xmlUrl as string);
    expect(urls).toHaveLength(3 + 100);
    expect(urls).toContain(`${BASE_URL}/nisan/tags/t-001/rss.xml`);
    expect(urls).not.toContain(`${BASE_URL}/nisan/tags/t-000/rss.xml`);
  });

  it("is a valid OPML with only the main feeds for a site without articles, and answers 304", async () => {
    const res = await h.request("/nisan/feeds.opml");
    const xml = await res.text();
    const { outlines } = parseOpml(xml);
    expect(subscriptions(outlines)).toHaveLength(3);
    const etag = res.headers.get("etag")!;
    expect((await h.request("/nisan/feeds.opml", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await h.request("/nisan/feeds.opml", { headers: { "if-modified-since": res.headers.get("last-modified")! } })).status).toBe(304);
    // The page and the OPML are different documents with different validators.
    expect((await h.request("/nisan/")).headers.get("etag")).not.toBe(etag);
  });
});
