// WebSub (W3C), the publisher's side, pure: which feed URLs an article change touches, the publish
// ping's form body, and the Link header that announces the hubs. No I/O: the platform sends the pings.

import { feedPath } from "./feed.ts";
import type { Article, FeedFilter, FeedFormat } from "./model.ts";

const FORMATS: readonly FeedFormat[] = ["rss", "atom", "json"];

/** A hub ping stays well under any form-body limit: a bigger change is sent as several pings. */
export const MAX_URLS_PER_PING = 100;

/** The first-page URL of a feed: exactly the self link the feed route serves without a query. */
export function feedUrl(baseUrl: string, slug: string, filter: FeedFilter, format: FeedFormat): string {
  return `${baseUrl}${feedPath(slug, filter, format)}`;
}

/** The filtered feeds an article appears in: its categories, tags and author names. */
function filtersOf(article: Article): FeedFilter[] {
  return [
    ...article.categories.map((name): FeedFilter => ({ kind: "category", name })),
    ...article.tags.map((name): FeedFilter => ({ kind: "tag", name })),
    ...article.authors.map((a): FeedFilter => ({ kind: "author", name: a.name })),
  ];
}

/**
 * Every feed URL a change of one article touches: the site's main feeds, and each category, tag
 * and author feed of the article before the change (it may leave them) and after it (it may join
 * them), in all three formats. `before` is undefined for a create, `after` for a delete.
 * No duplicates; main feeds first, then the article's feeds in the order it lists them.
 */
export function changedFeedUrls(baseUrl: string, slug: string, before: Article | undefined, after: Article | undefined): string[] {
  const urls = new Set<string>();
  const filters: FeedFilter[] = [{ kind: "all" }, ...(after ? filtersOf(after) : []), ...(before ? filtersOf(before) : [])];
  for (const filter of filters) for (const format of FORMATS) urls.add(feedUrl(baseUrl, slug, filter, format));
  return [...urls];
}

/**
 * The `application/x-www-form-urlencoded` bodies of the publish pings for `urls`: `hub.mode=publish`
 * and one `hub.url` per URL, at most `perPing` URLs in each body.
 */
export function publishBodies(urls: readonly string[], perPing = MAX_URLS_PER_PING): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < urls.length; i += perPing) {
    const form = new URLSearchParams([["hub.mode", "publish"]]);
    for (const url of urls.slice(i, i + perPing)) form.append("hub.url", url);
    bodies.push(form.toString());
  }
  return bodies;
}

/** `<url>` for a Link header: anything outside visible ASCII (or `<`, `>`) is percent-encoded. */
function linkTarget(url: string): string {
  return `<${url.replace(/[^\x21-\x3b\x3d\x3f-\x7e]/gu, (ch) => encodeURIComponent(ch.toWellFormed()))}>`;
}

/**
 * The Link header of a feed response (WebSub discovery): one `rel="hub"` per hub, then the
 * `rel="self"` URL, which must be the exact URL of the document served (its self link).
 */
export function feedLinkHeader(hubs: readonly string[], selfUrl: string): string {
  return [...hubs.map((hub) => `${linkTarget(hub)}; rel="hub"`), `${linkTarget(selfUrl)}; rel="self"`].join(", ");
}

/** A hub URL for logs: origin and path only, since a query might carry a token. */
export function hubLabel(hub: string): string {
  try {
    const url = new URL(hub);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "(invalid hub URL)";
  }
}
