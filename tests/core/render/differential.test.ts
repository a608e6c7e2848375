// Differential test: the same articles through our renderers and through the `feed` package
// (the reference), compared after parsing: same ids, titles, links and instants, same order.

import { describe, expect, it } from "vitest";
import { Feed } from "feed";
import type { Article, FeedDocument } from "../../../src/core/model.ts";
import { feedId, itemId } from "../../../src/core/ids.ts";
import { renderAtom, renderJsonFeed, renderRss } from "../../../src/core/render/index.ts";
import { article, asArray, asObject, attr, child, children, makeDoc, parseXml, seedArticle, text, textOf } from "./helpers.ts";

/** 4 articles, newest first: Arabic seed, ampersands and quotes, milliseconds, no HTML. */
function articles(): Article[] {
  const plain = article(4, {
    id: "2024-07-14:no-html",
    title: "Plain text only",
    content_text: "Just text.",
    published_at: "2024-06-01T00:00:00Z",
    updated_at: "2024-06-01T00:00:00Z",
  });
  delete plain.content_html;
  return [
    article(3, {
      title: 'Tom & Jerry say "hi" <again>',
      url: "https://nisan.example/ar/news/tom-and-jerry?ref=feed&x=1",
      published_at: "2024-07-13T23:59:59.250Z",
      updated_at: "2024-07-14T01:00:00Z",
      categories: ["a & b"],
    }),
    seedArticle({ updated_at: "2024-06-20T06:00:00Z" }),
    article(2, { language: "fr", title: "L'été à Amman", published_at: "2024-06-19T09:00:00Z" }),
    plain,
  ];
}

function doc(): FeedDocument {
  return makeDoc(articles());
}

/** The reference feed built from the same document with the `feed` package. */
function reference(d: FeedDocument): Feed {
  const feed = new Feed({
    id: feedId(d.site, d.filter),
    title: d.site.title,
    description: d.site.description ?? d.site.title,
    link: d.site.home_page_url,
    language: d.site.language,
    updated: new Date(d.updated),
    generator: "Nashir",
    feedLinks: d.formatUrls,
    author: { name: d.site.title, link: d.site.home_page_url },
  });
  for (const a of d.items) {
    feed.addItem({
      id: itemId(d.site, a.id),
      guid: itemId(d.site, a.id),
      title: a.title,
      link: a.url,
      date: new Date(a.updated_at),
      published: new Date(a.published_at),
      description: a.summary,
      content: a.content_html ?? a.content_text,
      author: a.authors.map((p) => ({ name: p.name })),
      category: [...a.categories, ...a.tags].map((name) => ({ name, term: name })),
    });
  }
  return feed;
}

interface Row {
  id: string;
  title: string;
  link: string;
  dates: number[];
}

function rssRows(xml: string): Row[] {
  return children(child(child(parseXml(xml), "rss"), "channel"), "item").map((i) => ({
    id: text(i, "guid"),
    title: text(i, "title"),
    link: text(i, "link"),
    dates: [Date.parse(text(i, "pubDate"))],
  }));
}

function atomRows(xml: string): Row[] {
  return children(child(parseXml(xml), "feed"), "entry").map((e) => {
    const alternate = children(e, "link").find((l) => (attr(l, "rel") ?? "alternate") === "alternate");
    return {
      id: text(e, "id"),
      title: textOf(child(e, "title")),
      link: (alternate && attr(alternate, "href")) ?? "",
      dates: [Date.parse(text(e, "published")), Date.parse(text(e, "updated"))],
    };
  });
}

function jsonRows(json: string): Row[] {
  return asArray(asObject(JSON.parse(json))["items"]).map((raw) => {
    const i = asObject(raw);
    return {
      id: String(i["id"]),
      title: String(i["title"]),
      link: String(i["url"]),
      dates: [Date.parse(String(i["date_published"])), Date.parse(String(i["date_modified"]))],
    };
  });
}

describe("differential against the feed package", () => {
  it("agrees on RSS item guids, titles, links and dates", () => {
    const ours = rssRows(renderRss(doc()));
    const theirs = rssRows(reference(doc()).rss2());
    expect(ours).toHaveLength(4);
    expect(ours).toEqual(theirs);
  });

  it("agrees on Atom entry ids, titles, links and published/updated instants", () => {
    const ours = atomRows(renderAtom(doc()));
    const theirs = atomRows(reference(doc()).atom1());
    expect(ours).toHaveLength(4);
    expect(ours).toEqual(theirs);
  });

  it("agrees on JSON Feed item ids, titles, urls and dates (reference writes 1.0)", () => {
    const ours = jsonRows(renderJsonFeed(doc()));
    const theirs = jsonRows(reference(doc()).json1());
    expect(ours).toHaveLength(4);
    expect(ours).toEqual(theirs);
  });

  it("agrees on channel/feed identity: title, home link, language and last change", () => {
    const d = doc();
    const ourChannel = child(child(parseXml(renderRss(d)), "rss"), "channel");
    const refChannel = child(child(parseXml(reference(doc()).rss2()), "rss"), "channel");
    for (const name of ["title", "link", "language"]) expect(text(ourChannel, name)).toBe(text(refChannel, name));
    expect(Date.parse(text(ourChannel, "lastBuildDate"))).toBe(Date.parse(text(refChannel, "lastBuildDate")));

    const ourFeed = child(parseXml(renderAtom(d)), "feed");
    const refFeed = child(parseXml(reference(doc()).atom1()), "feed");
    expect(text(ourFeed, "id")).toBe(text(refFeed, "id"));
    expect(Date.parse(text(ourFeed, "updated"))).toBe(Date.parse(text(refFeed, "updated")));
  });
});
