// What a feed request asks for, and the document that answers it. Pure: URLs are built from the
// configured base URL, never from the request's Host header, since cached bodies must not vary by it.

import type { Article, Cursor, FeedDocument, FeedFilter, FeedFormat, Site } from "./model.ts";
import { toMs } from "./dates.ts";
import type { FieldError } from "./fields.ts";
import { filterPath } from "./ids.ts";
import { base64Url } from "./auth.ts";
import { articleIdProblem } from "./article.ts";

export const FEED_FILES: Record<FeedFormat, string> = { rss: "rss.xml", atom: "atom.xml", json: "feed.json" };
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface FeedQuery {
  /** Set only when the client sent it (it is then part of the self link). */
  limit?: number;
  before?: Cursor;
  /** The `before` value as sent, already checked. */
  beforeToken?: string;
}

export function effectiveLimit(query: FeedQuery): number {
  return query.limit ?? DEFAULT_LIMIT;
}

export function encodeCursor(cursor: Cursor): string {
  return base64Url(new TextEncoder().encode(JSON.stringify([cursor.published_at, cursor.id])));
}

export function decodeCursor(token: string): Cursor | undefined {
  if (token.length > 400 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  try {
    const padded = token.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((token.length + 3) % 4);
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [published, id] = parsed as unknown[];
    if (typeof published !== "string" || typeof id !== "string") return undefined;
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(published) || !Number.isFinite(Date.parse(published))) return undefined;
    if (articleIdProblem(id)) return undefined;
    return { published_at: published, id };
  } catch {
    return undefined;
  }
}

export type QueryParse = { ok: true; query: FeedQuery } | { ok: false; errors: FieldError[] };

/** Reads `limit` and `before`; every other parameter is ignored. */
export function parseFeedQuery(params: { limit?: string | undefined; before?: string | undefined }): QueryParse {
  const errors: FieldError[] = [];
  const query: FeedQuery = {};
  if (params.limit !== undefined) {
    const limit = /^\d{1,3}$/.test(params.limit) ? Number(params.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) errors.push({ field: "limit", message: `must be an integer from 1 to ${MAX_LIMIT}` });
    else query.limit = limit;
  }
  if (params.before !== undefined) {
    const cursor = decodeCursor(params.before);
    if (!cursor) errors.push({ field: "before", message: "is not a cursor this server issued" });
    else {
      query.before = cursor;
      query.beforeToken = params.before;
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, query };
}

function queryString(query: FeedQuery): string {
  const parts: string[] = [];
  if (query.limit !== undefined) parts.push(`limit=${query.limit}`);
  if (query.beforeToken !== undefined) parts.push(`before=${query.beforeToken}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** `/{site}{/categories/…}/{file}`, percent-encoded. */
export function feedPath(slug: string, filter: FeedFilter, format: FeedFormat): string {
  return `/${slug}${filterPath(filter)}/${FEED_FILES[format]}`;
}

/** Everything that shapes the bytes of a feed document: its cache key and ETag input. */
export function documentKey(baseUrl: string, slug: string, filter: FeedFilter, format: FeedFormat, query: FeedQuery): string {
  return `${baseUrl}${feedPath(slug, filter, format)}${queryString(query)}`;
}

export interface BuildFeedInput {
  baseUrl: string;
  site: Site;
  filter: FeedFilter;
  format: FeedFormat;
  query: FeedQuery;
  items: Article[];
  next?: Cursor;
}

export function buildFeedDocument(input: BuildFeedInput): FeedDocument {
  const { baseUrl, site, filter, query, items } = input;
  const urlFor = (format: FeedFormat, q: FeedQuery) => `${baseUrl}${feedPath(site.slug, filter, format)}${queryString(q)}`;
  const doc: FeedDocument = {
    site,
    filter,
    selfUrl: urlFor(input.format, query),
    formatUrls: { rss: urlFor("rss", query), atom: urlFor("atom", query), json: urlFor("json", query) },
    items,
    updated: newestUpdate(items) ?? site.updated_at,
  };
  if (input.next) {
    const nextQuery: FeedQuery = { before: input.next, beforeToken: encodeCursor(input.next) };
    if (query.limit !== undefined) nextQuery.limit = query.limit;
    doc.nextUrl = urlFor(input.format, nextQuery);
  }
  return doc;
}

function newestUpdate(items: Article[]): string | undefined {
  let newest: string | undefined;
  for (const a of items) if (newest === undefined || toMs(a.updated_at) > toMs(newest)) newest = a.updated_at;
  return newest;
}
