import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatRfc3339 } from "../../../src/core/dates.ts";
import { rfc3339 } from "../../../src/core/render/common.ts";
import type { Article, FeedDocument, FeedFormat } from "../../../src/core/model.ts";
import { feedId, itemId } from "../../../src/core/ids.ts";
import {
  CONTENT_TYPES,
  directedHtml,
  isRtlLanguage,
  renderAtom,
  renderFeed,
  renderJsonFeed,
  renderRss,
} from "../../../src/core/render/index.ts";
import {
  article,
  asArray,
  asObject,
  attr,
  child,
  children,
  jsonFeedErrors,
  makeDoc,
  parseXml,
  seedArticle,
  seedSite,
  text,
  textOf,
  type XmlNode,
} from "./helpers.ts";

const SEED_ID = "tag:nisan.example,2026-01-05:nisan/2024-06-19-russia-dprk-treaty";
const SEED_TITLE = "الاتفاقية بين روسيا وكوريا الشمالية تنص على المساعدة المتبادلة ضد أي عدوان";

function seedDoc(overrides: Partial<FeedDocument> = {}): FeedDocument {
  return makeDoc([seedArticle()], overrides);
}

function rssChannel(doc: FeedDocument): XmlNode {
  return child(child(parseXml(renderRss(doc)), "rss"), "channel");
}

function atomFeed(doc: FeedDocument): XmlNode {
  return child(parseXml(renderAtom(doc)), "feed");
}

function jsonFeed(doc: FeedDocument): Record<string, unknown> {
  return asObject(JSON.parse(renderJsonFeed(doc)));
}

function firstItem(channel: XmlNode): XmlNode {
  const item = children(channel, "item")[0];
  if (!item) throw new Error("no item");
  return item;
}

function firstEntry(feed: XmlNode): XmlNode {
  const entry = children(feed, "entry")[0];
  if (!entry) throw new Error("no entry");
  return entry;
}

function jsonItems(doc: FeedDocument): Record<string, unknown>[] {
  return asArray(jsonFeed(doc)["items"]).map(asObject);
}

describe("RSS 2.0", () => {
  it("renders the seed article with its exact title, id, date, creator and language", () => {
    const channel = rssChannel(seedDoc());
    expect(text(channel, "title")).toBe("نيسان");
    expect(text(channel, "language")).toBe("ar");
    expect(text(channel, "link")).toBe("https://nisan.example/ar/");
    expect(text(channel, "generator")).toBe("Nashir");
    expect(text(channel, "ttl")).toBe("30");
    expect(text(channel, "lastBuildDate")).toBe("Wed, 19 Jun 2024 11:49:00 GMT");
    const self = children(channel, "atom:link").find((l) => attr(l, "rel") === "self");
    expect(self && attr(self, "href")).toBe("https://feeds.nisan.example/nisan/rss.xml?limit=20");
    expect(self && attr(self, "type")).toBe("application/rss+xml");

    const item = firstItem(channel);
    expect(text(item, "title")).toBe(SEED_TITLE);
    expect(text(item, "link")).toBe("https://nisan.example/ar/news/2024-06-19-russia-dprk-treaty");
    expect(text(item, "guid")).toBe(SEED_ID);
    expect(attr(child(item, "guid"), "isPermaLink")).toBe("false");
    expect(text(item, "pubDate")).toBe("Wed, 19 Jun 2024 11:49:00 GMT");
    expect(children(item, "dc:creator").map(textOf)).toEqual(["نيسان"]);
    expect(item["author"]).toBeUndefined();
    expect(children(item, "category").map(textOf)).toEqual([
      "سياسة",
      "دولي",
      "روسيا",
      "كوريا الشمالية",
      "بوتين",
      "كيم جونغ أون",
    ]);
    // Same language as the site: no per-item language.
    expect(item["dc:language"]).toBeUndefined();
  });

  it("declares the atom, content, dc and media namespaces", () => {
    const rss = child(parseXml(renderRss(seedDoc())), "rss");
    expect(attr(rss, "version")).toBe("2.0");
    expect(attr(rss, "xmlns:atom")).toBe("http://www.w3.org/2005/Atom");
    expect(attr(rss, "xmlns:content")).toBe("http://purl.org/rss/1.0/modules/content/");
    expect(attr(rss, "xmlns:dc")).toBe("http://purl.org/dc/elements/1.1/");
    expect(attr(rss, "xmlns:media")).toBe("http://search.yahoo.com/mrss/");
  });

  it("puts the HTML in content:encoded, escaped as text (no CDATA) and wrapped right-to-left", () => {
    const xml = renderRss(seedDoc());
    expect(xml).not.toContain("CDATA");
    const encoded = text(firstItem(rssChannel(seedDoc())), "content:encoded");
    expect(encoded).toBe(`<div dir="rtl" lang="ar">${seedArticle().content_html ?? ""}</div>`);
  });

  it("keeps description plain: the summary, encoded so no markup can reach a reader", () => {
    const summary = 'A <b>bold</b> claim & "quote"';
    const item = firstItem(rssChannel(makeDoc([article(1, { summary })])));
    const description = text(item, "description");
    expect(description).not.toContain("<");
    expect(description).toBe("A &lt;b&gt;bold&lt;/b&gt; claim &amp; &quot;quote&quot;");
  });

  it("uses a plain-text excerpt of content_text when there is no summary", () => {
    const long = "word ".repeat(200);
    const a = article(1, { content_text: `First\n\nparagraph. ${long}` });
    delete a.summary;
    delete a.content_html;
    const item = firstItem(rssChannel(makeDoc([a])));
    const description = text(item, "description");
    expect(description.startsWith("First paragraph. word word")).toBe(true);
    expect(description.endsWith("…")).toBe(true);
    expect(Array.from(description).length).toBeLessThanOrEqual(301);
    expect(item["content:encoded"]).toBeUndefined();
  });

  it("falls back to the escaped HTML in description only when content_html is all there is", () => {
    const a = article(1, { content_html: "<p>Only <em>HTML</em></p>" });
    delete a.summary;
    const item = firstItem(rssChannel(makeDoc([a])));
    expect(text(item, "description")).toBe("<p>Only <em>HTML</em></p>");
    expect(text(item, "content:encoded")).toBe("<p>Only <em>HTML</em></p>");
  });

  it("writes an enclosure with length 0 when the size is unknown, and the image as media elements", () => {
    const a = article(1, {
      attachments: [
        { url: "https://cdn.nisan.example/a.mp3", mime_type: "audio/mpeg" },
        { url: "https://cdn.nisan.example/b.pdf", mime_type: "application/pdf", size_in_bytes: 12345 },
      ],
      image: { url: "https://cdn.nisan.example/p.jpg", mime_type: "image/jpeg" },
    });
    const item = firstItem(rssChannel(makeDoc([a])));
    const enclosures = children(item, "enclosure").map((e) => [attr(e, "url"), attr(e, "length"), attr(e, "type")]);
    expect(enclosures).toEqual([
      ["https://cdn.nisan.example/a.mp3", "0", "audio/mpeg"],
      ["https://cdn.nisan.example/b.pdf", "12345", "application/pdf"],
    ]);
    const media = child(item, "media:content");
    expect([attr(media, "url"), attr(media, "medium"), attr(media, "type")]).toEqual([
      "https://cdn.nisan.example/p.jpg",
      "image",
      "image/jpeg",
    ]);
    expect(attr(child(item, "media:thumbnail"), "url")).toBe("https://cdn.nisan.example/p.jpg");
  });

  it("writes channel extras: next, hubs, copyright, image; description falls back to the title", () => {
    const site = seedSite({
      icon: "https://nisan.example/icon.png",
      copyright: "© نيسان",
      websub_hubs: ["https://hub.example/", "https://hub2.example/"],
    });
    delete site.description;
    const channel = rssChannel(makeDoc([], { nextUrl: "https://feeds.nisan.example/nisan/rss.xml?before=abc" }, site));
    const links = children(channel, "atom:link").map((l) => [attr(l, "rel"), attr(l, "href")]);
    expect(links).toContainEqual(["next", "https://feeds.nisan.example/nisan/rss.xml?before=abc"]);
    expect(links.filter(([rel]) => rel === "hub").map(([, href]) => href)).toEqual([
      "https://hub.example/",
      "https://hub2.example/",
    ]);
    expect(text(channel, "copyright")).toBe("© نيسان");
    expect(text(channel, "description")).toBe("نيسان");
    const image = child(channel, "image");
    expect([text(image, "url"), text(image, "title"), text(image, "link")]).toEqual([
      "https://nisan.example/icon.png",
      "نيسان",
      "https://nisan.example/ar/",
    ]);
  });

  it("marks an item whose language differs from the site's with dc:language", () => {
    const item = firstItem(rssChannel(makeDoc([article(1, { language: "en-GB" })])));
    expect(text(item, "dc:language")).toBe("en-GB");
  });

  it("never writes RSS dates in ISO form or with a numeric offset", () => {
    const xml = renderRss(makeDoc([article(1, { published_at: "2024-07-11T08:15:00.250Z" })]));
    for (const m of xml.matchAll(/<(pubDate|lastBuildDate)>([^<]*)</g)) {
      expect(m[2]).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    }
  });
});

describe("Atom 1.0", () => {
  it("renders the seed article with its exact title, id, dates, authors and language", () => {
    const feed = atomFeed(seedDoc());
    expect(attr(feed, "xmlns")).toBe("http://www.w3.org/2005/Atom");
    expect(attr(feed, "xml:lang")).toBe("ar");
    expect(text(feed, "id")).toBe("tag:nisan.example,2026-01-05:nisan");
    expect(text(feed, "title")).toBe("نيسان");
    expect(text(feed, "subtitle")).toBe("آخر الأخبار المحلية والدولية");
    expect(text(feed, "updated")).toBe("2024-06-19T11:49:00Z");
    expect(text(feed, "generator")).toBe("Nashir");
    const feedAuthor = children(feed, "author")[0];
    expect(feedAuthor && [text(feedAuthor, "name"), text(feedAuthor, "uri")]).toEqual(["نيسان", "https://nisan.example/ar/"]);
    const links = children(feed, "link").map((l) => [attr(l, "rel"), attr(l, "type"), attr(l, "href")]);
    expect(links).toContainEqual(["self", "application/atom+xml", "https://feeds.nisan.example/nisan/rss.xml?limit=20"]);
    expect(links).toContainEqual(["alternate", "text/html", "https://nisan.example/ar/"]);

    const entry = firstEntry(feed);
    expect(text(entry, "id")).toBe(SEED_ID);
    expect(text(entry, "title")).toBe(SEED_TITLE);
    expect(attr(child(entry, "title"), "type")).toBe("text");
    expect(text(entry, "published")).toBe("2024-06-19T11:49:00Z");
    expect(text(entry, "updated")).toBe("2024-06-19T11:49:00Z");
    expect(attr(entry, "xml:lang")).toBeUndefined();
    expect(children(entry, "author").map((a) => text(a, "name"))).toEqual(["نيسان"]);
    expect(children(entry, "category").map((c) => attr(c, "term"))).toEqual([
      "سياسة",
      "دولي",
      "روسيا",
      "كوريا الشمالية",
      "بوتين",
      "كيم جونغ أون",
    ]);
    const alternate = children(entry, "link").find((l) => attr(l, "rel") === "alternate");
    expect(alternate && attr(alternate, "href")).toBe("https://nisan.example/ar/news/2024-06-19-russia-dprk-treaty");
    expect(attr(child(entry, "summary"), "type")).toBe("text");
    const content = child(entry, "content");
    expect(attr(content, "type")).toBe("html");
    expect(textOf(content)).toBe(`<div dir="rtl" lang="ar">${seedArticle().content_html ?? ""}</div>`);
  });

  it("gives entries published and updated always, authors with uri and email, and xml:lang when it differs", () => {
    const a = article(1, {
      language: "fr",
      published_at: "2024-07-11T08:15:00Z",
      updated_at: "2024-07-12T10:00:00.500Z",
      authors: [{ name: "Ada", url: "https://ada.example/", email: "ada@example.com" }, { name: "Bob" }],
    });
    const entry = firstEntry(atomFeed(makeDoc([a])));
    expect(attr(entry, "xml:lang")).toBe("fr");
    expect(text(entry, "published")).toBe("2024-07-11T08:15:00Z");
    expect(text(entry, "updated")).toBe("2024-07-12T10:00:00.500Z");
    const authors = children(entry, "author");
    expect(authors.map((p) => text(p, "name"))).toEqual(["Ada", "Bob"]);
    expect(authors[0] && [text(authors[0], "uri"), text(authors[0], "email")]).toEqual([
      "https://ada.example/",
      "ada@example.com",
    ]);
    expect(authors[1]?.["email"]).toBeUndefined();
  });

  it("writes content type=text when there is no HTML", () => {
    const a = article(1, { content_text: "Plain & simple <not a tag>" });
    delete a.content_html;
    const content = child(firstEntry(atomFeed(makeDoc([a]))), "content");
    expect(attr(content, "type")).toBe("text");
    expect(textOf(content)).toBe("Plain & simple <not a tag>");
  });

  it("writes attachments as enclosure links and the image only when its type is known", () => {
    const withType = article(1, {
      attachments: [{ url: "https://cdn.nisan.example/a.mp3", mime_type: "audio/mpeg", title: "Audio" }],
      image: { url: "https://cdn.nisan.example/p.jpg", mime_type: "image/jpeg" },
    });
    const withoutType = article(2, { image: { url: "https://cdn.nisan.example/q.png" } });
    const [e1, e2] = children(atomFeed(makeDoc([withType, withoutType])), "entry");
    const enclosures = (e: XmlNode | undefined): (string | undefined)[][] =>
      children(e ?? {}, "link")
        .filter((l) => attr(l, "rel") === "enclosure")
        .map((l) => [attr(l, "href"), attr(l, "type"), attr(l, "length")]);
    expect(enclosures(e1)).toEqual([
      ["https://cdn.nisan.example/a.mp3", "audio/mpeg", undefined],
      ["https://cdn.nisan.example/p.jpg", "image/jpeg", undefined],
    ]);
    expect(enclosures(e2)).toEqual([]);
  });

  it("writes next, hub, icon and rights, and a percent-encoded id for an Arabic category feed", () => {
    const site = seedSite({ icon: "https://nisan.example/icon.png", copyright: "© نيسان", websub_hubs: ["https://hub.example/"] });
    const filter = { kind: "category", name: "سياسة" } as const;
    const feed = atomFeed(makeDoc([], { filter, nextUrl: "https://feeds.nisan.example/n?before=x&limit=5" }, site));
    expect(text(feed, "id")).toBe(feedId(site, filter));
    expect(text(feed, "id")).toMatch(/^tag:nisan\.example,2026-01-05:nisan\/categories\/%D8%B3/);
    const links = children(feed, "link").map((l) => [attr(l, "rel"), attr(l, "href")]);
    expect(links).toContainEqual(["next", "https://feeds.nisan.example/n?before=x&limit=5"]);
    expect(links).toContainEqual(["hub", "https://hub.example/"]);
    expect(text(feed, "icon")).toBe("https://nisan.example/icon.png");
    expect(text(feed, "rights")).toBe("© نيسان");
  });
});

describe("JSON Feed 1.1", () => {
  it("renders the seed article and passes the JSON Feed 1.1 schema", () => {
    const doc = seedDoc({ selfUrl: "https://feeds.nisan.example/nisan/feed.json" });
    const feed = jsonFeed(doc);
    expect(jsonFeedErrors(feed)).toEqual([]);
    expect(feed["version"]).toBe("https://jsonfeed.org/version/1.1");
    expect(Object.keys(feed)[0]).toBe("version");
    expect(feed["title"]).toBe("نيسان");
    expect(feed["language"]).toBe("ar");
    expect(feed["feed_url"]).toBe("https://feeds.nisan.example/nisan/feed.json");
    expect(feed["authors"]).toEqual([{ name: "نيسان", url: "https://nisan.example/ar/" }]);
    expect(feed).not.toHaveProperty("hubs");
    expect(feed).not.toHaveProperty("next_url");
    const [item] = jsonItems(doc);
    expect(item?.["id"]).toBe(SEED_ID);
    expect(item?.["title"]).toBe(SEED_TITLE);
    expect(item?.["date_published"]).toBe("2024-06-19T11:49:00Z");
    expect(item?.["date_modified"]).toBe("2024-06-19T11:49:00Z");
    expect(item?.["language"]).toBe("ar");
    expect(item?.["authors"]).toEqual([{ name: "نيسان" }]);
    expect(item?.["tags"]).toEqual(["سياسة", "دولي", "روسيا", "كوريا الشمالية", "بوتين", "كيم جونغ أون"]);
    expect(item?.["content_html"]).toBe(`<div dir="rtl" lang="ar">${seedArticle().content_html ?? ""}</div>`);
    expect(JSON.stringify(feed)).not.toContain("null");
  });

  it("never publishes an author's email, and de-duplicates tags (categories first)", () => {
    const a = article(1, {
      authors: [{ name: "Ada", url: "https://ada.example/", email: "ada@example.com" }],
      categories: ["world", "politics"],
      tags: ["politics", "elections", "world"],
    });
    const raw = renderJsonFeed(makeDoc([a]));
    expect(raw).not.toContain("ada@example.com");
    expect(raw).not.toContain('"email"');
    const [item] = jsonItems(makeDoc([a]));
    for (const p of asArray(item?.["authors"])) expect(asObject(p)).not.toHaveProperty("email");
    expect(item?.["authors"]).toEqual([{ name: "Ada", url: "https://ada.example/" }]);
    expect(item?.["tags"]).toEqual(["world", "politics", "elections"]);
  });

  it("writes image as a URL string, attachments, next_url and WebSub hubs, and stays schema-valid", () => {
    const a = article(1, {
      image: { url: "https://cdn.nisan.example/p.jpg", alt: "A picture" },
      attachments: [
        { url: "https://cdn.nisan.example/a.mp3", mime_type: "audio/mpeg" },
        { url: "https://cdn.nisan.example/b.pdf", mime_type: "application/pdf", size_in_bytes: 10, title: "Report" },
      ],
    });
    const site = seedSite({ websub_hubs: ["https://hub.example/"], icon: "https://nisan.example/icon.png" });
    const doc = makeDoc([a], { nextUrl: "https://feeds.nisan.example/nisan/feed.json?before=x" }, site);
    const feed = jsonFeed(doc);
    expect(jsonFeedErrors(feed)).toEqual([]);
    expect(feed["hubs"]).toEqual([{ type: "WebSub", url: "https://hub.example/" }]);
    expect(feed["next_url"]).toBe("https://feeds.nisan.example/nisan/feed.json?before=x");
    expect(feed["icon"]).toBe("https://nisan.example/icon.png");
    const [item] = jsonItems(doc);
    expect(item?.["image"]).toBe("https://cdn.nisan.example/p.jpg");
    expect(item?.["attachments"]).toEqual([
      { url: "https://cdn.nisan.example/a.mp3", mime_type: "audio/mpeg" },
      { url: "https://cdn.nisan.example/b.pdf", mime_type: "application/pdf", title: "Report", size_in_bytes: 10 },
    ]);
  });

  it("gives a summary-only article content_text so the item stays valid", () => {
    const a = article(1, { summary: "Just a summary" });
    delete a.content_html;
    const doc = makeDoc([a]);
    expect(jsonFeedErrors(jsonFeed(doc))).toEqual([]);
    const [item] = jsonItems(doc);
    expect(item?.["content_text"]).toBe("Just a summary");
    expect(item).not.toHaveProperty("content_html");
  });

  it("rejects what the schema rejects (the validator is live)", () => {
    const feed = jsonFeed(seedDoc());
    const broken = { ...feed, items: [{ title: "no id, no content" }] };
    expect(jsonFeedErrors(broken).length).toBeGreaterThan(0);
  });
});

describe("all formats", () => {
  const formats: FeedFormat[] = ["rss", "atom", "json"];

  it("serves the content types of the contract", () => {
    expect(CONTENT_TYPES).toEqual({
      rss: "application/rss+xml; charset=utf-8",
      atom: "application/atom+xml; charset=utf-8",
      json: "application/feed+json; charset=utf-8",
    });
  });

  it("dispatches renderFeed to the format's renderer", () => {
    expect(renderFeed("rss", seedDoc())).toBe(renderRss(seedDoc()));
    expect(renderFeed("atom", seedDoc())).toBe(renderAtom(seedDoc()));
    expect(renderFeed("json", seedDoc())).toBe(renderJsonFeed(seedDoc()));
  });

  it("gives the same bytes for the same input", () => {
    const build = (): FeedDocument =>
      makeDoc([seedArticle(), article(1, { image: { url: "https://cdn.nisan.example/p.jpg" } }), article(2)], {
        nextUrl: "https://feeds.nisan.example/nisan/rss.xml?before=abc",
      });
    for (const f of formats) expect(renderFeed(f, build())).toBe(renderFeed(f, build()));
  });

  it("uses the same id string in RSS guid, Atom id and JSON id", () => {
    const doc = makeDoc([article(1, { id: "a:b~c" }), seedArticle()]);
    const expected = doc.items.map((a) => itemId(doc.site, a.id));
    expect(children(rssChannel(doc), "item").map((i) => text(i, "guid"))).toEqual(expected);
    expect(children(atomFeed(doc), "entry").map((e) => text(e, "id"))).toEqual(expected);
    expect(jsonItems(doc).map((i) => i["id"])).toEqual(expected);
  });

  it("renders valid empty feeds", () => {
    const doc = makeDoc([]);
    expect(doc.updated).toBe("2026-01-06T08:30:00Z");
    const channel = rssChannel(doc);
    expect(children(channel, "item")).toEqual([]);
    expect(text(channel, "lastBuildDate")).toBe("Tue, 06 Jan 2026 08:30:00 GMT");
    const feed = atomFeed(doc);
    expect(children(feed, "entry")).toEqual([]);
    expect(text(feed, "updated")).toBe("2026-01-06T08:30:00Z");
    const json = jsonFeed(doc);
    expect(json["items"]).toEqual([]);
    expect(jsonFeedErrors(json)).toEqual([]);
  });

  it("stays well-formed with hostile text", () => {
    const hostile = "a ]]> b <script>alert(1)</script> & c \u0001 d \u0085 e \uD800 f \uDC00 g &amp; 'q' \"dq\"";
    const a: Article = article(1, {
      id: "hostile",
      title: hostile,
      summary: hostile,
      content_html: `<p>${hostile}</p>`,
      content_text: hostile,
      authors: [{ name: hostile, url: "https://x.example/?a=1&b=<2>" }],
      categories: [hostile],
      tags: ["]]>"],
      image: { url: "https://x.example/i.png?a=1&b=2", mime_type: "image/png", alt: hostile },
      attachments: [{ url: "https://x.example/f?a=1&b=2", mime_type: "audio/mpeg", title: hostile }],
      language: "ar",
    });
    const site = seedSite({ title: hostile, description: hostile, copyright: hostile });
    const doc = makeDoc([a], { nextUrl: "https://x.example/?a=1&b=2" }, site);
    const cleaned = "a ]]> b <script>alert(1)</script> & c  d  e  f  g &amp; 'q' \"dq\"";

    const item = firstItem(rssChannel(doc));
    expect(text(item, "title")).toBe(cleaned);
    expect(text(item, "content:encoded")).toBe(`<div dir="rtl" lang="ar"><p>${cleaned}</p></div>`);
    expect(text(item, "description")).not.toContain("<");
    const entry = firstEntry(atomFeed(doc));
    expect(text(entry, "title")).toBe(cleaned);
    expect(textOf(child(entry, "content"))).toBe(`<div dir="rtl" lang="ar"><p>${cleaned}</p></div>`);
    expect(() => JSON.parse(renderJsonFeed(doc))).not.toThrow();
  });

  it("wraps right-to-left HTML in every format, and leaves left-to-right HTML alone", () => {
    const site = seedSite({ language: "en" });
    const doc = makeDoc([article(1, { language: "he" }), article(2, { language: "en" })], {}, site);
    const [rssHe, rssEn] = children(rssChannel(doc), "item");
    const [atomHe, atomEn] = children(atomFeed(doc), "entry");
    const [jsonHe, jsonEn] = jsonItems(doc);
    const rtl = '<div dir="rtl" lang="he"><p>Body of story 1.</p></div>';
    expect(rssHe && text(rssHe, "content:encoded")).toBe(rtl);
    expect(atomHe && textOf(child(atomHe, "content"))).toBe(rtl);
    expect(jsonHe?.["content_html"]).toBe(rtl);
    expect(rssEn && text(rssEn, "content:encoded")).toBe("<p>Body of story 2.</p>");
    expect(atomEn && textOf(child(atomEn, "content"))).toBe("<p>Body of story 2.</p>");
    expect(jsonEn?.["content_html"]).toBe("<p>Body of story 2.</p>");
    expect(atomHe && attr(atomHe, "xml:lang")).toBe("he");
    expect(rssHe && text(rssHe, "dc:language")).toBe("he");
  });

  it("keeps LRM and RLM untouched", () => {
    const title = "\u200Fعنوان\u200E ABC\u200F";
    const doc = makeDoc([article(1, { title, content_html: `<p>${title}</p>` })]);
    expect(text(firstItem(rssChannel(doc)), "title")).toBe(title);
    expect(text(firstEntry(atomFeed(doc)), "title")).toBe(title);
    expect(jsonItems(doc)[0]?.["title"]).toBe(title);
    expect(renderRss(doc)).toContain("\u200F");
  });
});

describe("direction", () => {
  it("knows the right-to-left languages by primary subtag, with an explicit script winning", () => {
    for (const tag of ["ar", "ar-JO", "he", "fa-IR", "ur", "ps", "sd", "ckb", "ckb-IQ", "yi", "dv", "AR", "az-Arab"]) {
      expect(isRtlLanguage(tag), tag).toBe(true);
    }
    for (const tag of ["en", "fr-CA", "ku", "arn", "hebrew", "ar-Latn", "tr", ""]) {
      expect(isRtlLanguage(tag), tag).toBe(false);
    }
  });

  it("wraps only right-to-left HTML, escaping the language", () => {
    expect(directedHtml("<p>x</p>", "fa")).toBe('<div dir="rtl" lang="fa"><p>x</p></div>');
    expect(directedHtml("<p>x</p>", "en")).toBe("<p>x</p>");
  });
});

describe("rfc3339", () => {
  it("is formatRfc3339 of the parsed timestamp, for canonical timestamps of any day and for other forms", () => {
    const pad = (n: number, width: number) => String(n).padStart(width, "0");
    const canonical = fc
      .record({
        year: fc.integer({ min: 0, max: 9999 }),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 31 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.integer({ min: 0, max: 59 }),
      })
      .map((t) => `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}Z`);
    const other = fc
      .integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) })
      .chain((ms) =>
        fc.constantFrom(
          new Date(ms).toISOString(),
          new Date(ms).toISOString().replace("Z", "+00:00"),
          new Date(ms - 90 * 60_000).toISOString().replace(".", ",").replace(/,\d+Z$/, "+01:30"),
        ),
      );
    fc.assert(
      fc.property(fc.oneof(canonical, other), (timestamp) => {
        const ms = Date.parse(timestamp);
        fc.pre(Number.isFinite(ms));
        expect(rfc3339(timestamp)).toBe(formatRfc3339(ms));
      }),
      { numRuns: 5_000 },
    );
    // Days a month lacks are not given back as they are.
    expect(rfc3339("2023-02-29T10:00:00Z")).toBe(formatRfc3339(Date.parse("2023-02-29T10:00:00Z")));
  });
});
