// Small per-app memos that keep the feed read path at one point read of the site's version.
//
// - Site records by version: a feed request reads only `getSiteVersion` (version, modified_at);
//   the settings are read again only when the version moved (every write to a site or its articles
//   bumps it, so equal versions mean equal settings). Cost: one SiteRecord (~1–2 KB) per site,
//   at most `maxSites`, least recently used forgotten first.
// - The current month per time zone with its bounds, so the subscription feeds' archive key does
//   not ask Intl for the zone's offsets on every request. Cost: one small entry per time zone seen.
//
// - Hot documents: for a subscription feed served a moment ago, the request URL's answer at that
//   site version (validators, headers, where its bytes are cached), so the next request with the
//   same URL at the same version is answered from one version read: a 304, or the cached bytes
//   with ready headers, without parsing the query, planning or formatting dates again. Bodies
//   are not held here (they stay in the bounded feed cache). Cost: ~1 KB of strings per document,
//   at most `maxDocuments`.
//
// All live in createApp's closure: two apps in one process share nothing.

import type { Context } from "hono";
import { monthOf, monthRange, type Month } from "../core/archive.ts";
import { chooseEncoding, codedEtag, isNotModified } from "../core/caching.ts";
import { slugProblem } from "../core/site.ts";
import type { Background, FeedCache } from "../store/cache/port.ts";
import type { SiteRecord, SiteVersion, Store } from "../store/port.ts";

/** A site version read a moment ago (undefined: no such site), to be used rather than read again. */
export interface KnownVersion {
  version: SiteVersion | undefined;
}

export interface SiteReader {
  /**
   * The site's current record, from one version read when it has not changed since the last call;
   * `known` is a version just read by the caller (it is not read again).
   */
  read(slug: string, known?: KnownVersion): Promise<SiteRecord | undefined>;
  /** Records held (for bounds checks). */
  size(): number;
}

export const MEMO_SITES = 1_000;

export function createSiteReader(store: Pick<Store, "getSite" | "getSiteVersion">, maxSites: number = MEMO_SITES): SiteReader {
  const records = new Map<string, SiteRecord>();
  return {
    async read(slug, known) {
      const current = known !== undefined ? known.version : await store.getSiteVersion(slug);
      const held = records.get(slug);
      if (current === undefined) {
        if (held !== undefined) records.delete(slug);
        return undefined;
      }
      if (held !== undefined && held.version === current.version && held.modified_at === current.modified_at) {
        records.delete(slug);
        records.set(slug, held);
        return held;
      }
      const record = await store.getSite(slug);
      records.delete(slug);
      if (record === undefined) return undefined;
      records.set(slug, record);
      for (const oldest of records.keys()) {
        if (records.size <= maxSites) break;
        records.delete(oldest);
      }
      return record;
    },
    size: () => records.size,
  };
}

export interface MonthClock {
  /** The month `now` falls in on the zone's calendar, and that month's first instant (epoch ms). */
  current(now: number, timeZone: string): { month: Month; from: number; to: number };
}

/** Zones remembered; past this the memo starts again (there are about 600 IANA names). */
const MAX_ZONES = 1_000;

export function createMonthClock(): MonthClock {
  const zones = new Map<string, { month: Month; from: number; to: number }>();
  return {
    current(now, timeZone) {
      const held = zones.get(timeZone);
      if (held !== undefined && now >= held.from && now < held.to) return held;
      const month = monthOf(now, timeZone);
      const entry = { month, ...monthRange(month, timeZone) };
      if (zones.size >= MAX_ZONES) zones.clear();
      zones.set(timeZone, entry);
      return entry;
    },
  };
}

/** What respond() knows after a 200 of a subscription feed whose body is in the feed cache. */
export interface HotDocument {
  slug: string;
  version: number;
  modifiedAt: string;
  /** The clock window the document is valid in (its current month: the archive link may change after). */
  from: number;
  to: number;
  etag: string;
  /** Epoch ms of Last-Modified. */
  lastModified: number;
  /** The 200's headers; a 304 gets them without content-type, content-length and content-encoding. */
  headers: Readonly<Record<string, string>>;
  contentType: string;
  /** The feed-cache key of the body without its coding. */
  cacheKeyPrefix: string;
}

export type HotLookup =
  /** Answered: a 304, or the cached bytes. */
  | { response: Response }
  /** Not answered here; `version` is the site's version as just read (pass it on, not read again). */
  | ({ response?: undefined } & KnownVersion);

export interface HotFeeds {
  /** One version read; an answer when the request's URL was served at this version and month. */
  lookup(c: Context, slug: string, now: number, background?: Background): Promise<HotLookup>;
  remember(c: Context, document: HotDocument): void;
  /** Documents held (for bounds checks). */
  size(): number;
}

export const HOT_DOCUMENTS = 1_000;

/** The request target (path and query, as sent): the same for every Host the request may carry. */
function target(c: Context): string {
  const url = c.req.url;
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash);
}

export function createHotFeeds(
  deps: { store: Pick<Store, "getSiteVersion">; feedCache: FeedCache; codings: readonly ("br" | "gzip")[] },
  maxDocuments: number = HOT_DOCUMENTS,
): HotFeeds {
  const documents = new Map<string, HotDocument>();
  return {
    async lookup(c, slug, now, background) {
      if (slugProblem(slug) !== undefined) return { version: undefined };
      const version = await deps.store.getSiteVersion(slug);
      const key = target(c);
      const hot = documents.get(key);
      if (hot === undefined || version === undefined) return { version };
      if (hot.slug !== slug || hot.version !== version.version || hot.modifiedAt !== version.modified_at || now < hot.from || now >= hot.to) {
        documents.delete(key);
        return { version };
      }
      const coding = chooseEncoding(c.req.header("accept-encoding"), deps.codings);
      const conditional = { ifNoneMatch: c.req.header("if-none-match"), ifModifiedSince: c.req.header("if-modified-since") };
      if (isNotModified(conditional, hot)) {
        return { response: new Response(null, { status: 304, headers: { ...hot.headers, etag: codedEtag(hot.etag, coding) } }) };
      }
      const cached = await deps.feedCache.get(`${hot.cacheKeyPrefix}${coding}`, background);
      // Not cached in this coding (yet, or any more): the full path builds or compresses it.
      if (cached === undefined) return { version };
      documents.delete(key);
      documents.set(key, hot);
      const headers: Record<string, string> = { ...hot.headers, etag: codedEtag(hot.etag, coding) };
      if (coding !== "identity") headers["content-encoding"] = coding;
      headers["content-type"] = hot.contentType;
      headers["content-length"] = String(cached.body.byteLength);
      return { response: new Response(cached.body as Uint8Array<ArrayBuffer>, { status: 200, headers }) };
    },

    remember(c, document) {
      const key = target(c);
      const headers = { ...document.headers };
      delete headers["content-type"];
      delete headers["content-length"];
      delete headers["content-encoding"];
      documents.delete(key);
      documents.set(key, { ...document, headers });
      for (const oldest of documents.keys()) {
        if (documents.size <= maxDocuments) break;
        documents.delete(oldest);
      }
    },

    size: () => documents.size,
  };
}
