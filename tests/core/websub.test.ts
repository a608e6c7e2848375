// The pure WebSub helpers: which feeds a change touches, the form bodies, the Link header.

import { describe, expect, it } from "vitest";
import type { Article } from "../../src/core/model.ts";
import { changedFeedUrls, feedLinkHeader, hubLabel, publishBodies } from "../../src/core/websub.ts";

const BASE = "https://feeds.example";

function article(overrides: Partial<Article> = {}): Article {
  return {
    id: "a",
    title: "t",
    url: "https://example.org/a",
    published_at: "2024-06-19T11:49:00Z",
    updated_at: "2024-06-19T11:49:00Z",
    authors: [],
    categories: [],
    tags: [],
    attachments: [],
    language: "ar",
    ...overrides,
  };
}

describe("changedFeedUrls", () => {
  it("lists the main feeds first, then each term's feeds in all three formats, once", () => {
    const after = article({ categories: ["سياسة", "x"], tags: ["x"], authors: [{ name: "Ann Lee" }, { name: "Ann Lee" }] });
    expect(changedFeedUrls(BASE, "s", undefined, after)).toEqual([
      `${BASE}/s/rss.xml`,
      `${BASE}/s/atom.xml`,
      `${BASE}/s/feed.json`,
      `${BASE}/s/categories/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/rss.xml`,
      `${BASE}/s/categories/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/atom.xml`,
      `${BASE}/s/categories/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/feed.json`,
      `${BASE}/s/categories/x/rss.xml`,
      `${BASE}/s/categories/x/atom.xml`,
      `${BASE}/s/categories/x/feed.json`,
      `${BASE}/s/tags/x/rss.xml`,
      `${BASE}/s/tags/x/atom.xml`,
      `${BASE}/s/tags/x/feed.json`,
      `${BASE}/s/authors/Ann%20Lee/rss.xml`,
      `${BASE}/s/authors/Ann%20Lee/atom.xml`,
      `${BASE}/s/authors/Ann%20Lee/feed.json`,
    ]);
  });

  it("includes the feeds of the article before the change, and works for a delete", () => {
    const before = article({ categories: ["old", "kept"] });
    const after = article({ categories: ["kept", "new"] });
    const urls = changedFeedUrls(BASE, "s", before, after);
    for (const name of ["old", "kept", "new"]) expect(urls).toContain(`${BASE}/s/categories/${name}/atom.xml`);
    expect(urls).toHaveLength(12);
    expect(changedFeedUrls(BASE, "s", before, undefined)).toHaveLength(9);
  });

  it("percent-encodes reserved characters in names, as the feed routes' self links do", () => {
    const urls = changedFeedUrls(BASE, "s", undefined, article({ tags: ["C/C++ & #1?"] }));
    expect(urls).toContain(`${BASE}/s/tags/C%2FC%2B%2B%20%26%20%231%3F/feed.json`);
  });
});

describe("publishBodies", () => {
  it("is hub.mode=publish and one hub.url per URL, form-encoded", () => {
    const [body, ...rest] = publishBodies([`${BASE}/s/rss.xml`, `${BASE}/s/tags/a%20b/rss.xml`]);
    expect(rest).toEqual([]);
    expect(body).toBe("hub.mode=publish&hub.url=https%3A%2F%2Ffeeds.example%2Fs%2Frss.xml&hub.url=https%3A%2F%2Ffeeds.example%2Fs%2Ftags%2Fa%2520b%2Frss.xml");
    const form = new URLSearchParams(body);
    expect(form.getAll("hub.url")).toEqual([`${BASE}/s/rss.xml`, `${BASE}/s/tags/a%20b/rss.xml`]);
  });

  it("splits long lists, each body with its own hub.mode", () => {
    const urls = Array.from({ length: 5 }, (_, i) => `${BASE}/${i}`);
    const bodies = publishBodies(urls, 2).map((b) => new URLSearchParams(b));
    expect(bodies.map((f) => f.getAll("hub.url"))).toEqual([urls.slice(0, 2), urls.slice(2, 4), urls.slice(4)]);
    expect(bodies.every((f) => f.get("hub.mode") === "publish")).toBe(true);
    expect(publishBodies([])).toEqual([]);
  });
});

describe("feedLinkHeader", () => {
  it("names each hub, then the self URL", () => {
    expect(feedLinkHeader(["https://hub.example/", "https://h2.example/p?a=1,2"], `${BASE}/s/rss.xml?limit=5`)).toBe(
      `<https://hub.example/>; rel="hub", <https://h2.example/p?a=1,2>; rel="hub", <${BASE}/s/rss.xml?limit=5>; rel="self"`,
    );
    expect(feedLinkHeader([], `${BASE}/s/rss.xml`)).toBe(`<${BASE}/s/rss.xml>; rel="self"`);
  });

  it("keeps the header a valid ByteString: non-ASCII and angle brackets are percent-encoded", () => {
    const header = feedLinkHeader([], "https://خبر.example/s/<x> y/rss.xml");
    expect(header).toBe('<https://%D8%AE%D8%A8%D8%B1.example/s/%3Cx%3E%20y/rss.xml>; rel="self"');
    expect(() => new Headers({ link: header })).not.toThrow();
  });
});

describe("hubLabel", () => {
  it("keeps origin and path, never the query", () => {
    expect(hubLabel("https://hub.example/websub?token=secret")).toBe("https://hub.example/websub");
    expect(hubLabel("not a url")).toBe("(invalid hub URL)");
  });
});
