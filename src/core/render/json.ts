// JSON Feed 1.1 (https://jsonfeed.org/version/1.1). Absent fields are omitted, never null.

import type { Article, Attachment, FeedDocument, Person } from "../model.ts";
import { jsonText } from "../text.ts";
import { assemble, historyLinks, itemTagId, itemTerms, itemText, rfc3339, type FeedFrame, type ItemSink, type ItemSite } from "./common.ts";
import { writeJsonDirectedHtml } from "./direction.ts";

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

/** A JSON string value: the quotes, and the text escaped inside them. */
function stringValue(sink: ItemSink, text: string): void {
  sink.text('"');
  sink.jsonEscaped(text);
  sink.text('"');
}

/** `,"key":"value"`: a string member after the first. */
function stringMember(sink: ItemSink, key: string, text: string): void {
  sink.text(`,"${key}":"`);
  sink.jsonEscaped(text);
  sink.text('"');
}

/** Name and URL only: an email address is never published in JSON Feed. */
function writeAuthor(sink: ItemSink, p: Person): void {
  sink.text('{"name":');
  stringValue(sink, p.name);
  if (p.url !== undefined) stringMember(sink, "url", p.url);
  sink.text("}");
}

function writeAttachment(sink: ItemSink, att: Attachment): void {
  sink.text('{"url":');
  stringValue(sink, att.url);
  stringMember(sink, "mime_type", att.mime_type);
  if (att.title !== undefined) stringMember(sink, "title", att.title);
  if (att.size_in_bytes !== undefined) sink.text(`,"size_in_bytes":${JSON.stringify(att.size_in_bytes)}`);
  sink.text("}");
}

/** `,"key":[…]` of `values`, each written by `write`. */
function arrayMember<T>(sink: ItemSink, key: string, values: readonly T[], write: (sink: ItemSink, value: T) => void): void {
  sink.text(`,"${key}":[`);
  for (let index = 0; index < values.length; index++) {
    if (index > 0) sink.text(",");
    write(sink, values[index] as T);
  }
  sink.text("]");
}

/**
 * One item as JSON text: the fragment a JSON Feed document is assembled from. Written member by
 * member in a fixed order (absent fields left out), it is jsonText of the item object
 * (tests/core/render/json-item.test.ts keeps that object as the definition) without building it.
 * jsonText's escapes (U+2028, U+2029) act on single characters inside strings, so escaping each
 * item alone gives the same bytes as escaping the whole document.
 */
export function jsonItem(site: ItemSite, a: Article): string {
  return itemText((sink) => writeJsonItem(site, a, sink));
}

/**
 * jsonItem written to `sink`: keys and punctuation as text, every string value through
 * sink.jsonEscaped, so a byte writer escapes and encodes each value in one pass.
 */
export function writeJsonItem(site: ItemSite, a: Article, sink: ItemSink): void {
  // JSON Feed requires content_html or content_text: a summary-only article shows its summary.
  const text = a.content_text ?? (a.content_html === undefined ? (a.summary ?? "") : undefined);
  const tags = itemTerms(a);
  sink.text('{"id":');
  stringValue(sink, itemTagId(site, a.id));
  stringMember(sink, "url", a.url);
  stringMember(sink, "title", a.title);
  if (a.summary !== undefined) stringMember(sink, "summary", a.summary);
  if (a.content_html !== undefined) {
    sink.text(',"content_html":"');
    writeJsonDirectedHtml(sink, a.content_html, a.language);
    sink.text('"');
  }
  if (text !== undefined) stringMember(sink, "content_text", text);
  if (a.image !== undefined) stringMember(sink, "image", a.image.url);
  stringMember(sink, "date_published", rfc3339(a.published_at));
  stringMember(sink, "date_modified", rfc3339(a.updated_at));
  if (a.authors.length > 0) arrayMember(sink, "authors", a.authors, writeAuthor);
  if (tags.length > 0) arrayMember(sink, "tags", tags, stringValue);
  stringMember(sink, "language", a.language);
  if (a.attachments.length > 0) arrayMember(sink, "attachments", a.attachments, writeAttachment);
  sink.text("}");
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
