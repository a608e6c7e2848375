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

import { monthOf, monthRange, type Month } from "../core/archive.ts";
import { chooseEncoding, codedEtag, isNotModified, type ContentCoding } from "../core/caching.ts";
import { slugProblem } from "../core/site.ts";
import type { Background, CachedBody, FeedCache } from "../store/cache/port.ts";
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

/** What a hot answer depends on in a GET: the request target and three headers. */
export interface HotRequest {
  /** Path and query as sent (`/nisan/rss.xml?limit=5`). */
  target: string;
  acceptEncoding: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
}

/** A ready answer: a 304, or a 200 with the cached bytes. Headers are shared: never modify them. */
export interface HotAnswer {
  status: 200 | 304;
  headers: Readonly<Record<string, string>>;
  body?: Uint8Array;
}

export type HotLookup =
  /** Answered: a 304, or the cached bytes. */
  | { answer: HotAnswer }
  /** Not answered here; `version` is the site's version as just read (pass it on, not read again). */
  | ({ answer?: undefined } & KnownVersion);

export interface HotFeeds {
  /** The route's lookup: one version read of `slug`; an answer when the target was served at this version and month. */
  lookup(request: HotRequest, slug: string, now: number, background?: Background): Promise<HotLookup>;
  /**
   * For a server in front of the router: an answer only when the target is a hot document (then
   * after one version read of its site); undefined otherwise, without any read.
   */
  answer(request: HotRequest, now: number): Promise<HotAnswer | undefined>;
  /**
   * `answer` without waiting, when the site's version was read a moment ago in this turn
   * (`siteVersionNow`) and the feed cache is in process (`peek`); ASK_LATER when it cannot tell
   * now (then ask `answer`). Same answers as `answer`.
   */
  answerNow(request: HotRequest, now: number): HotAnswer | undefined | typeof ASK_LATER;
  remember(target: string, document: HotDocument): void;
  /** Documents held (for bounds checks). */
  size(): number;
}

export const HOT_DOCUMENTS = 1_000;

/** answerNow's "cannot tell without waiting". */
export const ASK_LATER: unique symbol = Symbol("ask later");

/** The request target (path and query, as sent): the same for every Host the request may carry. */
export function requestTarget(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash);
}

/** A remembered document with its answers' headers and cache keys, built once per coding. */
interface Held extends HotDocument {
  notModified: Map<ContentCoding, Readonly<Record<string, string>>>;
  ok: Map<ContentCoding, { length: number; headers: Readonly<Record<string, string>> }>;
  /** The same string each time: its hash is computed once, not per request. */
  cacheKeys: Map<ContentCoding, string>;
  /** Served since it was last passed over for eviction (second chance, as the memory feed cache). */
  used: boolean;
}

export function createHotFeeds(
  deps: {
    store: Pick<Store, "getSiteVersion">;
    feedCache: FeedCache;
    codings: readonly ("br" | "gzip")[];
    siteVersionNow?: ((slug: string) => SiteVersion | null | undefined) | undefined;
  },
  maxDocuments: number = HOT_DOCUMENTS,
): HotFeeds {
  const documents = new Map<string, Held>();

  /** Whether `hot` is still the answer at `version` and `now`; forgets it when not. */
  const current = (key: string, hot: Held, version: SiteVersion | undefined, now: number): boolean => {
    if (version === undefined || hot.version !== version.version || hot.modifiedAt !== version.modified_at || now < hot.from || now >= hot.to) {
      documents.delete(key);
      return false;
    }
    return true;
  };

  const notModified = (hot: Held, coding: ContentCoding): HotAnswer => {
    let headers = hot.notModified.get(coding);
    if (headers === undefined) {
      headers = { ...hot.headers, etag: codedEtag(hot.etag, coding) };
      hot.notModified.set(coding, headers);
    }
    return { status: 304, headers };
  };

  const cacheKeyOf = (hot: Held, coding: ContentCoding): string => {
    let cacheKey = hot.cacheKeys.get(coding);
    if (cacheKey === undefined) {
      cacheKey = `${hot.cacheKeyPrefix}${coding}`;
      hot.cacheKeys.set(coding, cacheKey);
    }
    return cacheKey;
  };

  const ok = (key: string, hot: Held, coding: ContentCoding, cached: CachedBody): HotAnswer => {
    hot.used = true;
    const length = cached.body.byteLength;
    let held = hot.ok.get(coding);
    if (held === undefined || held.length !== length) {
      const headers: Record<string, string> = { ...hot.headers, etag: codedEtag(hot.etag, coding) };
      if (coding !== "identity") headers["content-encoding"] = coding;
      headers["content-type"] = hot.contentType;
      headers["content-length"] = String(length);
      held = { length, headers };
      hot.ok.set(coding, held);
    }
    return { status: 200, headers: held.headers, body: cached.body };
  };

  /** The answer of `hot` at the version just read, or undefined when the full path must answer. */
  const answerAt = async (key: string, hot: Held, version: SiteVersion | undefined, request: HotRequest, now: number, background?: Background) => {
    if (!current(key, hot, version, now)) return undefined;
    const coding = chooseEncoding(request.acceptEncoding, deps.codings);
    if (isNotModified(request, hot)) return notModified(hot, coding);
    const cached = await deps.feedCache.get(cacheKeyOf(hot, coding), background);
    // Not cached in this coding (yet, or any more): the full path builds or compresses it.
    return cached === undefined ? undefined : ok(key, hot, coding, cached);
  };

  return {
    async lookup(request, slug, now, background) {
      if (slugProblem(slug) !== undefined) return { version: undefined };
      const version = await deps.store.getSiteVersion(slug);
      const hot = documents.get(request.target);
      if (hot === undefined || version === undefined) return { version };
      if (hot.slug !== slug) {
        documents.delete(request.target);
        return { version };
      }
      const answer = await answerAt(request.target, hot, version, request, now, background);
      return answer === undefined ? { version } : { answer };
    },

    async answer(request, now) {
      const hot = documents.get(request.target);
      if (hot === undefined) return undefined;
      const version = await deps.store.getSiteVersion(hot.slug);
      return answerAt(request.target, hot, version, request, now);
    },

    answerNow(request, now) {
      const key = request.target;
      const hot = documents.get(key);
      if (hot === undefined) return undefined;
      const known = deps.siteVersionNow?.(hot.slug);
      if (known === undefined) return ASK_LATER;
      if (!current(key, hot, known ?? undefined, now)) return undefined;
      const coding = chooseEncoding(request.acceptEncoding, deps.codings);
      if (isNotModified(request, hot)) return notModified(hot, coding);
      if (deps.feedCache.peek === undefined) return ASK_LATER;
      const cached = deps.feedCache.peek(cacheKeyOf(hot, coding));
      return cached === undefined ? undefined : ok(key, hot, coding, cached);
    },

    remember(target, document) {
      const headers = { ...document.headers };
      delete headers["content-type"];
      delete headers["content-length"];
      delete headers["content-encoding"];
      documents.delete(target);
      documents.set(target, { ...document, headers, notModified: new Map(), ok: new Map(), cacheKeys: new Map(), used: false });
      for (const [oldest, held] of documents) {
        if (documents.size <= maxDocuments) break;
        documents.delete(oldest);
        if (held.used && oldest !== target) {
          held.used = false;
          documents.set(oldest, held);
        }
      }
    },

    size: () => documents.size,
  };
}
