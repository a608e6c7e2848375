// JSON Feed 1.1 (https://jsonfeed.org/version/1.1). Absent fields are omitted, never null.

import type { Article, Attachment, FeedDocument, Person } from "../model.ts";
import { itemId } from "../ids.ts";
import { jsonText } from "../text.ts";
import { assemble, historyLinks, itemTerms, rfc3339, type FeedFrame, type ItemSite } from "./common.ts";
import { directedHtml } from "./direction.ts";

export const JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1";

interface JsonAuthor {
  name: string;
  url?: string;
}

interface JsonAttachment {
  url: string;
  mime_type: string;
  title?: string;
  size_in_bytes?: number;
}

interface JsonItem {
  id: string;
  url: string;
  title: string;
  summary?: string;
  content_html?: string;
  content_text?: string;
  image?: string;
  date_published: string;
  date_modified: string;
  authors?: JsonAuthor[];
  tags?: string[];
  language: string;
  attachments?: JsonAttachment[];
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
  items: JsonItem[];
}

/** Name and URL only: an email address is never published in JSON Feed. */
function author(p: Person): JsonAuthor {
  return { name: p.name, ...(p.url !== undefined && { url: p.url }) };
}

function attachment(att: Attachment): JsonAttachment {
  return {
    url: att.url,
    mime_type: att.mime_type,
    ...(att.title !== undefined && { title: att.title }),
    ...(att.size_in_bytes !== undefined && { size_in_bytes: att.size_in_bytes }),
  };
}

function item(site: ItemSite, a: Article): JsonItem {
  // JSON Feed requires content_html or content_text: a summary-only article shows its summary.
  const text = a.content_text ?? (a.content_html === undefined ? (a.summary ?? "") : undefined);
  const tags = itemTerms(a);
  // Keys in a fixed order (spreads, no later assignment): same input, same bytes.
  return {
    id: itemId(site, a.id),
    url: a.url,
    title: a.title,
    ...(a.summary !== undefined && { summary: a.summary }),
    ...(a.content_html !== undefined && { content_html: directedHtml(a.content_html, a.language) }),
    ...(text !== undefined && { content_text: text }),
    ...(a.image !== undefined && { image: a.image.url }),
    date_published: rfc3339(a.published_at),
    date_modified: rfc3339(a.updated_at),
    ...(a.authors.length > 0 && { authors: a.authors.map(author) }),
    ...(tags.length > 0 && { tags }),
    language: a.language,
    ...(a.attachments.length > 0 && { attachments: a.attachments.map(attachment) }),
  };
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

/**
 * One item as JSON text: the fragment a JSON Feed document is assembled from. jsonText's escapes
 * (U+2028, U+2029) act on single characters inside strings, so escaping each item alone gives
 * the same bytes as escaping the whole document.
 */
export function jsonItem(site: ItemSite, a: Article): string {
  return jsonText(item(site, a));
}
