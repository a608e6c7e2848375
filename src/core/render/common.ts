// Small pure helpers shared by the three renderers.

import type { Article, FeedDocument, Site } from "../model.ts";
import { formatRfc3339, formatRfc822, toMs } from "../dates.ts";
import { itemId } from "../ids.ts";
import { collapseWhitespace, escapeXml, jsonString } from "../text.ts";

export const GENERATOR = "Nashir";

/**
 * The site settings an item's bytes depend on, and nothing else: the tag: id (slug, home page
 * host, creation day) and the feed language (an item in another language is marked). Item
 * fragments take only these, so a fragment cached under them (fragmentScope) cannot go stale
 * through any other setting.
 */
export type ItemSite = Pick<Site, "slug" | "home_page_url" | "created_at" | "language">;

/**
 * A document around its items: `head`, the item fragments joined by `separator`, then `tail`.
 * Each format's renderer is exactly this assembly of its frame and its item fragments, so a feed
 * assembled from cached fragments is byte for byte the feed rendered in one go.
 */
export interface FeedFrame {
  head: string;
  separator: string;
  tail: string;
}

/**
 * Where an item's text goes, in order: a render's UTF-8 output (fragments.ts), or a string
 * (itemText). The long item content goes through `escapedXml` or `jsonEscaped`, so a byte writer
 * can escape and encode it in one pass, without an escaped copy of it as a string.
 */
export interface ItemSink {
  /** Text written as it is (already escaped where it goes). */
  text(text: string): void;
  /** Text written as escapeXml(text). */
  escapedXml(text: string): void;
  /** Text written as jsonString(text) without its two quotes (the inside of a JSON string). */
  jsonEscaped(text: string): void;
}

/** An item written through `write`, as one string. */
export function itemText(write: (sink: ItemSink) => void): string {
  const parts: string[] = [];
  write({
    text: (text) => {
      parts.push(text);
    },
    escapedXml: (text) => {
      parts.push(escapeXml(text));
    },
    jsonEscaped: (text) => {
      parts.push(jsonString(text).slice(1, -1));
    },
  });
  return parts.join("");
}

/** The document as one string: the frame around the rendered items. */
export function assemble(frame: FeedFrame, items: readonly string[]): string {
  return frame.head + items.join(frame.separator) + frame.tail;
}

/** The site the memo below was made for, and its item ids' common start. */
let idSite: ItemSite | undefined;
let idPrefix = "";

/**
 * itemId(site, id), with the site's part (its tag: authority parses the home page URL) made once
 * per site rather than once per item: itemId(site, "") is that part, and the id is appended the
 * way itemId appends it.
 */
export function itemTagId(site: ItemSite, id: string): string {
  if (
    idSite === undefined ||
    idSite.slug !== site.slug ||
    idSite.home_page_url !== site.home_page_url ||
    idSite.created_at !== site.created_at
  ) {
    idPrefix = itemId(site, "");
    idSite = { slug: site.slug, home_page_url: site.home_page_url, created_at: site.created_at, language: site.language };
  }
  return idPrefix + encodeURIComponent(id);
}

/** RFC 5005 feed history namespace. */
export const FH_NS = "http://purl.org/syndication/history/1.0";

/** The RFC 5005 links of a document as [rel, href] pairs, in a fixed order. */
export function historyLinks(doc: FeedDocument): [string, string][] {
  const links: [string, string][] = [];
  if (doc.history.current !== undefined) links.push(["current", doc.history.current]);
  if (doc.history.prevArchive !== undefined) links.push(["prev-archive", doc.history.prevArchive]);
  if (doc.history.nextArchive !== undefined) links.push(["next-archive", doc.history.nextArchive]);
  return links;
}

/**
 * `YYYY-MM-DDTHH:mm:ssZ` with a day of the month that every month has: formatRfc3339 of such a
 * timestamp gives it back unchanged (other days may not exist, as 2023-02-30, and go the long way).
 */
const CANONICAL_UTC = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;

/** RFC 3339 UTC (`2024-06-19T11:49:00Z`) of a stored timestamp. */
export function rfc3339(timestamp: string): string {
  // Stored timestamps are mostly in this form already: a regular expression test instead of
  // parsing and formatting (toISOString is ~0.5 µs, twice per item in Atom and JSON Feed).
  if (CANONICAL_UTC.test(timestamp)) return timestamp;
  return formatRfc3339(toMs(timestamp));
}

/** RFC 822 in GMT (`Wed, 19 Jun 2024 11:49:00 GMT`) of a stored timestamp. */
export function rfc822(timestamp: string): string {
  return formatRfc822(toMs(timestamp));
}

/** True when two BCP 47 tags name the same language (tags compare case-insensitively). */
export function sameLanguage(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The item's categories, then its tags, each term once, in order. */
export function itemTerms(article: Article): string[] {
  return [...new Set([...article.categories, ...article.tags])];
}

/** Longest plain-text excerpt, in code points, before the ellipsis. */
const EXCERPT_LENGTH = 300;

/**
 * One line of plain text of at most EXCERPT_LENGTH code points (plus "…"), cut at a word
 * boundary when there is one, never inside a surrogate pair.
 */
export function plainExcerpt(text: string): string {
  const line = collapseWhitespace(text);
  const chars = Array.from(line);
  if (chars.length <= EXCERPT_LENGTH) return line;
  const head = chars.slice(0, EXCERPT_LENGTH).join("");
  const space = head.lastIndexOf(" ");
  const cut = space > EXCERPT_LENGTH / 2 ? head.slice(0, space) : head;
  return `${cut.trimEnd()}…`;
}
