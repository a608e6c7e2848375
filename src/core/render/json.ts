// JSON Feed 1.1 (https://jsonfeed.org/version/1.1). Absent fields are omitted, never null.

import type { Article, Attachment, FeedDocument, Person } from "../model.ts";
import { jsonString, jsonText } from "../text.ts";
import { assemble, historyLinks, itemTagId, itemTerms, rfc3339, type FeedFrame, type ItemSink, type ItemSite } from "./common.ts";
import { jsonDirectedHtml } from "./direction.ts";

export const JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1";

interface JsonAuthor {
  name: string;
  url?: string;
}

interface JsonFeed {
  version: string;
  title: string;
  home_page_url: string;
  feed_url: string;
  description?: string;
  icon?: string;
  language: string;
  authors: JsonAuthor[];
  next_url?: string;
  _rfc5005?: Record<string, string | boolean>;
  hubs?: { type: string; url: string }[];
  /** Always empty here: the items are fragments placed after it (see jsonFrame). */
  items: never[];
}

/** `,"key":` then the value's JSON text: one member after the first. */
function member(key: string, json: string): string {
  return `,"${key}":${json}`;
}

/** Name and URL only: an email address is never published in JSON Feed. */
function author(p: Person): string {
  return `{"name":${jsonString(p.name)}${p.url !== undefined ? member("url", jsonString(p.url)) : ""}}`;
}

function attachment(att: Attachment): string {
  let json = `{"url":${jsonString(att.url)},"mime_type":${jsonString(att.mime_type)}`;
  if (att.title !== undefined) json += member("title", jsonString(att.title));
  if (att.size_in_bytes !== undefined) json += member("size_in_bytes", JSON.stringify(att.size_in_bytes));
  return `${json}}`;
}

/**
 * One item as JSON text: the fragment a JSON Feed document is assembled from. Written member by
 * member in a fixed order (absent fields left out), it is jsonText of the item object
 * (tests/core/render/json-item.test.ts keeps that object as the definition) without building it.
 * jsonText's escapes (U+2028, U+2029) act on single characters inside strings, so escaping each
 * item alone gives the same bytes as escaping the whole document.
 */
export function jsonItem(site: ItemSite, a: Article): string {
  // JSON Feed requires content_html or content_text: a summary-only article shows its summary.
  const text = a.content_text ?? (a.content_html === undefined ? (a.summary ?? "") : undefined);
  const tags = itemTerms(a);
  let json = `{"id":${jsonString(itemTagId(site, a.id))},"url":${jsonString(a.url)},"title":${jsonString(a.title)}`;
  if (a.summary !== undefined) json += member("summary", jsonString(a.summary));
  if (a.content_html !== undefined) json += member("content_html", jsonDirectedHtml(a.content_html, a.language));
  if (text !== undefined) json += member("content_text", jsonString(text));
  if (a.image !== undefined) json += member("image", jsonString(a.image.url));
  json += member("date_published", jsonString(rfc3339(a.published_at)));
  json += member("date_modified", jsonString(rfc3339(a.updated_at)));
  if (a.authors.length > 0) json += member("authors", `[${a.authors.map(author).join(",")}]`);
  if (tags.length > 0) json += member("tags", `[${tags.map(jsonString).join(",")}]`);
  json += member("language", jsonString(a.language));
  if (a.attachments.length > 0) json += member("attachments", `[${a.attachments.map(attachment).join(",")}]`);
  return `${json}}`;
}

function historyObject(doc: FeedDocument): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [rel, href] of historyLinks(doc)) out[rel.replace("-", "_")] = href;
  if (doc.archive) out.archive = true;
  return out;
}

export function renderJsonFeed(doc: FeedDocument): string {
  return assemble(jsonFrame(doc), doc.items.map((a) => jsonItem(doc.site, a)));
}

/**
 * The feed object around its items. `items` is its last key, so the document is the feed
 * serialised with no items, opened at `"items":[`, the items joined by commas, and `]}`.
 */
export function jsonFrame(doc: FeedDocument): FeedFrame {
  const { site } = doc;
  const feed: JsonFeed = {
    version: JSON_FEED_VERSION,
    title: site.title,
    home_page_url: site.home_page_url,
    feed_url: doc.selfUrl,
    ...(site.description !== undefined && { description: site.description }),
    ...(site.icon !== undefined && { icon: site.icon }),
    language: site.language,
    authors: [{ name: site.title, url: site.home_page_url }],
    ...(doc.nextUrl !== undefined && { next_url: doc.nextUrl }),
    // JSON Feed has no archive links; RFC 5005's are carried as an extension (keys with "_").
    ...(historyLinks(doc).length > 0 && { _rfc5005: historyObject(doc) }),
    ...(site.websub_hubs.length > 0 && { hubs: site.websub_hubs.map((url) => ({ type: "WebSub", url })) }),
    items: [],
  };
  const empty = jsonText(feed);
  const close = "]}";
  if (!empty.endsWith(`"items":[${close}`)) throw new Error("JSON Feed frame: items must be the last key");
  return { head: empty.slice(0, -close.length), separator: ",", tail: close };
}

/** jsonItem written to `sink` (JSON escaping is done on the strings: nothing goes through escapedXml). */
export function writeJsonItem(site: ItemSite, a: Article, sink: ItemSink): void {
  sink.text(jsonItem(site, a));
}
