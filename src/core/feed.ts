// What a feed request asks for, and the document that answers it. Pure: URLs are built from the
// configured base URL, never from the request's Host header, since cached bodies must not vary by it.

import type { Article, Cursor, FeedDocument, FeedFilter, FeedFormat, HistoryLinks, Site, Tombstone } from "./model.ts";
import type { FieldError } from "./fields.ts";
import { filterPath } from "./ids.ts";
import { base64Url } from "./auth.ts";
import { articleIdProblem } from "./article.ts";
import { toMs } from "./dates.ts";
import { monthPath, type Month } from "./archive.ts";

export const FEED_FILES: Record<FeedFormat, string> = { rss: "rss.xml", atom: "atom.xml", json: "feed.json" };
export const DEFAULT_LIMIT = 20;
/** Archive documents default to the largest page: they are read once, to backfill. */
export const ARCHIVE_DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100;
/** WordPress-style `?paged=N` is served up to this page. */
export const MAX_PAGED = 50;

const DAY_MS = 86_400_000;

/**
 * The oldest deletion a site's Atom feed lists (RFC 6721 at:deleted-entry): `tombstone_days`
 * before the site's last write. Measured from the data, not the clock, so the same data always
 * gives the same bytes.
 */
export function tombstonesSince(site: Pick<Site, "tombstone_days">, lastWriteMs: number): number {
  return lastWriteMs - site.tombstone_days * DAY_MS;
}

/**
 * Tombstones deleted before this instant may be dropped by a write made at `writeMs`: no feed of
 * the site can list them again, since its last write only moves forward. One day earlier than
 * tombstonesSince(site, writeMs), for writers whose clocks disagree by up to that much.
 */
export function tombstonesPrunableBefore(site: Pick<Site, "tombstone_days">, writeMs: number): number {
  return tombstonesSince(site, writeMs) - DAY_MS;
}

/** Which document: a subscription feed (whole site or one name), or a closed month of the site. */
export type FeedScope = { kind: "subscription"; filter: FeedFilter } | { kind: "archive"; month: Month };

export interface FeedQuery {
  /** Set only when the client sent it (it is then part of the self link). */
  limit?: number;
  before?: Cursor;
  /** The `before` value as sent, already checked. */
  beforeToken?: string;
  /** WordPress-style page number (1–50), subscription feeds only. */
  paged?: number;
}

export function effectiveLimit(query: FeedQuery, scope?: FeedScope): number {
  return query.limit ?? (scope?.kind === "archive" ? ARCHIVE_DEFAULT_LIMIT : DEFAULT_LIMIT);
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

/** True when cursor a comes strictly before b in feed order (older, or same time and smaller id). */
export function cursorBefore(a: Cursor, b: Cursor): boolean {
  const ta = toMs(a.published_at);
  const tb = toMs(b.published_at);
  return ta < tb || (ta === tb && a.id < b.id);
}

export type QueryParse = { ok: true; query: FeedQuery } | { ok: false; errors: FieldError[] };

/** Reads `limit`, `before` and `paged`; every other parameter is ignored. */
export function parseFeedQuery(params: { limit?: string | undefined; before?: string | undefined; paged?: string | undefined }): QueryParse {
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
  if (params.paged !== undefined) {
    const paged = /^\d{1,2}$/.test(params.paged) ? Number(params.paged) : NaN;
    if (!(paged >= 1 && paged <= MAX_PAGED)) errors.push({ field: "paged", message: `must be an integer from 1 to ${MAX_PAGED}` });
    else if (params.before !== undefined) errors.push({ field: "paged", message: "cannot be combined with before" });
    else query.paged = paged;
  }
  return errors.length ? { ok: false, errors } : { ok: true, query };
}

function queryString(query: FeedQuery): string {
  const parts: string[] = [];
  if (query.limit !== undefined) parts.push(`limit=${query.limit}`);
  if (query.beforeToken !== undefined) parts.push(`before=${query.beforeToken}`);
  if (query.paged !== undefined) parts.push(`paged=${query.paged}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** `/{site}{/categories/…}/{file}`, percent-encoded. */
export function feedPath(slug: string, filter: FeedFilter, format: FeedFormat): string {
  return `/${slug}${filterPath(filter)}/${FEED_FILES[format]}`;
}

/** `/{site}/archive/{YYYY}/{MM}/{file}` */
export function archivePath(slug: string, month: Month, format: FeedFormat): string {
  return `/${slug}/archive/${monthPath(month)}/${FEED_FILES[format]}`;
}

export function scopePath(slug: string, scope: FeedScope, format: FeedFormat): string {
  return scope.kind === "archive" ? archivePath(slug, scope.month, format) : feedPath(slug, scope.filter, format);
}

/** The absolute URL of a document: its self link, and the base of its cache key and ETag. */
export function documentUrl(baseUrl: string, slug: string, scope: FeedScope, format: FeedFormat, query: FeedQuery): string {
  return `${baseUrl}${scopePath(slug, scope, format)}${queryString(query)}`;
}

export interface BuildFeedInput {
  baseUrl: string;
  site: Site;
  scope: FeedScope;
  format: FeedFormat;
  query: FeedQuery;
  items: Article[];
  next?: Cursor;
  history?: HistoryLinks;
  tombstones?: Tombstone[];
}

export function buildFeedDocument(input: BuildFeedInput): FeedDocument {
  const { baseUrl, site, scope, query, items } = input;
  const urlFor = (format: FeedFormat, q: FeedQuery) => documentUrl(baseUrl, site.slug, scope, format, q);
  const doc: FeedDocument = {
    site,
    filter: scope.kind === "subscription" ? scope.filter : { kind: "all" },
    selfUrl: urlFor(input.format, query),
    formatUrls: { rss: urlFor("rss", query), atom: urlFor("atom", query), json: urlFor("json", query) },
    items,
    updated: newestUpdate(items, input.tombstones ?? []) ?? site.updated_at,
    history: input.history ?? {},
    archive: scope.kind === "archive",
    tombstones: input.tombstones ?? [],
  };
  if (input.next) {
    const nextQuery: FeedQuery = { before: input.next, beforeToken: encodeCursor(input.next) };
    if (query.limit !== undefined) nextQuery.limit = query.limit;
    doc.nextUrl = urlFor(input.format, nextQuery);
  }
  return doc;
}

function newestUpdate(items: Article[], tombstones: Tombstone[]): string | undefined {
  let newest: string | undefined;
  const consider = (t: string) => {
    if (newest === undefined || toMs(t) > toMs(newest)) newest = t;
  };
  for (const a of items) consider(a.updated_at);
  for (const t of tombstones) consider(t.deleted_at);
  return newest;
}
