// Public feed routes. The read path: one point read of the site (its version), then either a 304,
// cached bytes, or one O(limit) query and a render that is cached by version.

import type { Context, Hono } from "hono";
import { monthOf, monthRange, nextMonth, parseMonth, rangeText, type Month } from "../core/archive.ts";
import { cacheControl, chooseEncoding, codedEtag, feedEtag, isNotModified } from "../core/caching.ts";
import { formatHttpDate, formatRfc3339 } from "../core/dates.ts";
import {
  archivePath,
  buildFeedDocument,
  cursorBefore,
  documentUrl,
  effectiveLimit,
  feedPath,
  parseFeedQuery,
  tombstonesSince,
  type FeedQuery,
  type FeedScope,
} from "../core/feed.ts";
import { normaliseTerm } from "../core/fields.ts";
import type { Article, Cursor, FeedDocument, FeedFilter, FeedFormat, HistoryLinks, Tombstone } from "../core/model.ts";
import { CONTENT_TYPES, fragmentScope, renderFeedFromFragments } from "../core/render/index.ts";
import { slugProblem } from "../core/site.ts";
import type { Background, CachedBody } from "../store/cache/port.ts";
import { cachedFragments } from "../store/cache/fragments.ts";
import { createHotFeeds, createMonthClock, createSiteReader, requestTarget, type HotAnswer, type HotFeeds, type HotRequest, type KnownVersion } from "./feed-memo.ts";
import type { SiteRecord } from "../store/port.ts";
import { feedLinkHeader } from "../core/websub.ts";
import type { AppDeps } from "./deps.ts";
import { createStaleIfError } from "./stale.ts";
import { Problem, invalid } from "./problem.ts";

const FORMAT_BY_FILE: Record<string, FeedFormat> = { "rss.xml": "rss", "atom.xml": "atom", "feed.json": "json" };
const FILTER_BY_SEGMENT = { categories: "category", tags: "tag", authors: "author" } as const;
const MAX_NAME_LENGTH = 200;
/** A closed month never changes unless an article in it does: let caches keep it a day. */
const ARCHIVE_MAX_AGE = 86_400;

/** The filter named by the raw (still percent-encoded) path segment. */
function filterFrom(segment: keyof typeof FILTER_BY_SEGMENT, rawName: string): FeedFilter {
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    throw invalid([{ field: "name", message: "is not percent-encoded UTF-8" }], 400);
  }
  name = normaliseTerm(name);
  if (name.length === 0 || [...name].length > MAX_NAME_LENGTH) {
    throw new Problem(404, { detail: `There is no feed for this ${FILTER_BY_SEGMENT[segment]} name.` });
  }
  return { kind: FILTER_BY_SEGMENT[segment], name };
}

const monthCursor = (start: number): Cursor => ({ published_at: formatRfc3339(start), id: "" });

/** What a document is made of, known before any article is read. */
interface Plan {
  /** Identity of the bytes: changes whenever they may change. */
  key: string;
  /** The document's self link, as in its body (the `Link: rel="self"` header, with the hubs). */
  selfUrl: string;
  /** Version part of the ETag and cache key. */
  version: string;
  maxAge: number;
  /** Whether an empty result may be cached (subscription feeds of the whole site only). */
  cacheEmpty: boolean;
  /** Epoch ms of the document's last change, when it is later than the site's last write. */
  changedAt?: number;
  /** Subscription feeds: the clock window the key holds in (its month), for the hot-document memo. */
  window?: { from: number; to: number };
  build(): Promise<{ body: Uint8Array; empty: boolean }>;
}

/** The parts of a GET a hot answer depends on. */
function hotRequest(c: Context): HotRequest {
  return {
    target: requestTarget(c.req.url),
    acceptEncoding: c.req.header("accept-encoding"),
    ifNoneMatch: c.req.header("if-none-match"),
    ifModifiedSince: c.req.header("if-modified-since"),
  };
}

function hotResponse(answer: HotAnswer): Response {
  return new Response((answer.body ?? null) as Uint8Array<ArrayBuffer> | null, { status: answer.status, headers: answer.headers });
}

/**
 * Registers the feed routes; returns the hot-document memo they fill, which a server may also ask
 * before routing (src/platform/node.ts): its answers are the ones these routes would give.
 */
export function registerFeedRoutes(app: Hono, deps: AppDeps): HotFeeds {
  const store = deps.store;
  const stale = createStaleIfError(deps);
  // One point read (the version) per request; settings and month bounds are re-read only on change.
  const sites = createSiteReader(store);
  const months = createMonthClock();
  const hot = createHotFeeds(deps);
  /** The document's UTF-8 bytes, assembled from item fragments rendered once per article revision. */
  const renderBytes = (format: FeedFormat, doc: FeedDocument): Uint8Array =>
    renderFeedFromFragments(format, doc, cachedFragments(deps.fragmentCache, fragmentScope(doc.site), doc.site, format), deps.allocate);

  /** Stale-if-error (stale.ts): serves `fresh`, or the document's last good body when the store is down. */
  const staleRun = (c: Context, slug: string, scope: FeedScope, format: FeedFormat, fresh: () => Promise<Response>) => {
    // The same parameters as siteAndQuery reads: the normalised self link names the document.
    const parsed = parseFeedQuery({ limit: c.req.query("limit"), before: c.req.query("before"), paged: c.req.query("paged") });
    return stale.run(c, parsed.ok ? documentUrl(deps.config.baseUrl, slug, scope, format, parsed.query) : undefined, fresh);
  };

  /** The cursor after the first `skip` articles (WordPress `paged=N`); null when there are fewer. */
  const skipArticles = async (slug: string, filter: FeedFilter, skip: number): Promise<Cursor | null> => {
    let before: Cursor | undefined;
    for (let remaining = skip; remaining > 0; ) {
      const limit = Math.min(remaining, 100);
      const page = await store.listArticles(slug, before ? { filter, limit, before } : { filter, limit });
      const last = page.items[page.items.length - 1];
      if (page.items.length < limit || !last) return null;
      remaining -= limit;
      before = cursorOf(last);
    }
    return before ?? null;
  };

  /** The newest month before `start` that has an article, as an archive URL. */
  const previousArchive = async (record: SiteRecord, start: number, format: FeedFormat): Promise<string | undefined> => {
    const page = await store.listArticles(record.site.slug, { filter: { kind: "all" }, limit: 1, before: monthCursor(start) });
    const newest = page.items[0];
    if (!newest) return undefined;
    const month = monthOf(Date.parse(newest.published_at), record.site.timezone);
    return `${deps.config.baseUrl}${archivePath(record.site.slug, month, format)}`;
  };

  const subscriptionPlan = (record: SiteRecord, filter: FeedFilter, format: FeedFormat, query: FeedQuery): Plan => {
    const { site } = record;
    const scope: FeedScope = { kind: "subscription", filter };
    const now = deps.clock();
    const { month: current, from: currentStart, to: currentEnd } = months.current(now, site.timezone);
    const limit = effectiveLimit(query, scope);
    const selfUrl = documentUrl(deps.config.baseUrl, site.slug, scope, format, query);
    return {
      // The newest closed month is part of the document (prev-archive), so it is part of the key.
      key: `${selfUrl}|month=${current.year}-${current.month}`,
      selfUrl,
      version: String(record.version),
      maxAge: site.ttl_minutes * 60,
      cacheEmpty: filter.kind === "all",
      // The prev-archive link may move when a month closes: the document changed then too.
      ...(filter.kind === "all" ? { changedAt: currentStart } : {}),
      window: { from: currentStart, to: currentEnd },
      async build() {
        let before = query.before;
        if (query.paged !== undefined && query.paged > 1) {
          const start = await skipArticles(site.slug, filter, (query.paged - 1) * limit);
          if (start === null) return render([], undefined, {}, []);
          before = start;
        }
        const page = await store.listArticles(site.slug, before ? { filter, limit, before } : { filter, limit });
        const history: HistoryLinks = {};
        if (filter.kind === "all") {
          const prev = await previousArchive(record, currentStart, format);
          if (prev) history.prevArchive = prev;
        }
        const firstPage = before === undefined;
        const tombstones =
          format === "atom" && filter.kind === "all" && firstPage
            ? await store.listTombstones(site.slug, {
                since: formatRfc3339(tombstonesSince(site, Date.parse(record.modified_at))),
                limit,
              })
            : [];
        return render(page.items, page.next, history, tombstones);
      },
    };

    function render(items: Article[], next: Cursor | undefined, history: HistoryLinks, tombstones: Tombstone[]) {
      const doc = buildFeedDocument({ baseUrl: deps.config.baseUrl, site, scope, format, query, items, history, tombstones, ...(next ? { next } : {}) });
      return { body: renderBytes(format, doc), empty: items.length === 0 && tombstones.length === 0 };
    }
  };

  const archivePlan = async (record: SiteRecord, month: Month, format: FeedFormat, query: FeedQuery): Promise<Plan> => {
    const { site } = record;
    const scope: FeedScope = { kind: "archive", month };
    const range = monthRange(month, site.timezone);
    const now = deps.clock();
    if (range.to > now) {
      throw new Problem(404, { detail: "This month is not closed yet: its articles are in the subscription feed." });
    }
    const following = nextMonth(month);
    const nextClosed = monthRange(following, site.timezone).to <= now;
    // The fingerprint covers the month's articles; the links cover its neighbours.
    const [fingerprint, prev] = await Promise.all([store.rangeFingerprint(site.slug, rangeText(range)), previousArchive(record, range.from, format)]);
    const limit = effectiveLimit(query, scope);
    const selfUrl = documentUrl(deps.config.baseUrl, site.slug, scope, format, query);
    return {
      key: `${selfUrl}|prev=${prev ?? ""}|next=${nextClosed}|tz=${site.timezone}`,
      selfUrl,
      version: `a${fingerprint}`,
      maxAge: ARCHIVE_MAX_AGE,
      cacheEmpty: true,
      async build() {
        const end = monthCursor(range.to);
        const before = query.before && cursorBefore(query.before, end) ? query.before : end;
        const page = await store.listArticles(site.slug, { filter: { kind: "all" }, limit, before, notBefore: formatRfc3339(range.from) });
        const history: HistoryLinks = { current: `${deps.config.baseUrl}${feedPath(site.slug, { kind: "all" }, format)}` };
        if (prev) history.prevArchive = prev;
        if (nextClosed) history.nextArchive = `${deps.config.baseUrl}${archivePath(site.slug, following, format)}`;
        const doc = buildFeedDocument({ baseUrl: deps.config.baseUrl, site, scope, format, query, items: page.items, history, ...(page.next ? { next: page.next } : {}) });
        return { body: renderBytes(format, doc), empty: page.items.length === 0 };
      },
    };
  };

  const respond = async (c: Context, record: SiteRecord, format: FeedFormat, plan: Plan): Promise<Response> => {
    const etag = feedEtag(plan.version, plan.key);
    const lastModified = Math.max(Date.parse(record.modified_at), plan.changedAt ?? 0);
    const headers: Record<string, string> = {
      etag,
      "last-modified": formatHttpDate(lastModified),
      "cache-control": cacheControl(plan.maxAge),
      vary: "Accept-Encoding",
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "ETag, Last-Modified, Link",
      // WebSub discovery, on 200 and 304 alike.
      link: feedLinkHeader(record.site.websub_hubs, plan.selfUrl),
    };
    const coding = chooseEncoding(c.req.header("accept-encoding"), deps.codings);
    headers.etag = codedEtag(etag, coding);
    if (isNotModified({ ifNoneMatch: c.req.header("if-none-match"), ifModifiedSince: c.req.header("if-modified-since") }, { etag, lastModified })) {
      return new Response(null, { status: 304, headers });
    }

    const cacheKey = (codingName: string) => `${plan.key}#${plan.version}#${codingName}`;
    const background = backgroundFor(c, deps.log);
    const remember = async (key: string, value: CachedBody) => {
      // Empty filtered feeds are not cached: any name can be asked for, and junk must not fill the cache.
      if (value.empty && !plan.cacheEmpty) return;
      await background(deps.feedCache.put(key, value));
    };
    let encoded = await deps.feedCache.get(cacheKey(coding), background);
    if (!encoded) {
      let identity = coding === "identity" ? undefined : await deps.feedCache.get(cacheKey("identity"), background);
      if (!identity) {
        const built = await plan.build();
        identity = { body: built.body, empty: built.empty };
        await remember(cacheKey("identity"), identity);
      }
      encoded = coding === "identity" ? identity : { body: await deps.compress(identity.body, coding), empty: identity.empty };
      if (coding !== "identity") await remember(cacheKey(coding), encoded);
    }
    if (coding !== "identity") headers["content-encoding"] = coding;
    headers["content-type"] = CONTENT_TYPES[format];
    headers["content-length"] = String(encoded.body.byteLength);
    if (!encoded.empty || plan.cacheEmpty) stale.served(c, cacheKey(""), headers);
    if (plan.window && (!encoded.empty || plan.cacheEmpty)) {
      const { slug } = record.site;
      hot.remember(requestTarget(c.req.url), { slug, version: record.version, modifiedAt: record.modified_at, ...plan.window, etag, lastModified, headers, contentType: CONTENT_TYPES[format], cacheKeyPrefix: cacheKey("") });
    }
    return new Response(encoded.body as Uint8Array<ArrayBuffer>, { status: 200, headers });
  };

  const siteAndQuery = async (c: Context, slug: string, known?: KnownVersion) => {
    const parsed = parseFeedQuery({ limit: c.req.query("limit"), before: c.req.query("before"), paged: c.req.query("paged") });
    if (!parsed.ok) throw invalid(parsed.errors, 400);
    const record = slugProblem(slug) === undefined ? await sites.read(slug, known) : undefined;
    if (!record) throw new Problem(404, { detail: `There is no site named ${JSON.stringify(slug)}.` });
    return { record, query: parsed.query };
  };

  const subscription = async (c: Context, slug: string, filter: FeedFilter, format: FeedFormat) => {
    // A URL served a moment ago at the same version is answered from the version read alone.
    let known: KnownVersion | undefined;
    let failure: unknown;
    try {
      const found = await hot.lookup(hotRequest(c), slug, deps.clock(), backgroundFor(c, deps.log));
      if (found.answer) return hotResponse(found.answer);
      known = found;
    } catch (error) {
      failure = error; // Answered below as the store's failure (stale-if-error), never read twice.
    }
    return staleRun(c, slug, { kind: "subscription", filter }, format, async () => {
      if (failure !== undefined) throw failure;
      const { record, query } = await siteAndQuery(c, slug, known);
      return respond(c, record, format, subscriptionPlan(record, filter, format, query));
    });
  };

  // One literal route per format: a regex alternation in a Hono param is not anchored per branch.
  for (const [file, format] of Object.entries(FORMAT_BY_FILE)) {
    app.get(`/:site/${file}`, (c) => subscription(c, c.req.param("site"), { kind: "all" }, format));
    for (const segment of Object.keys(FILTER_BY_SEGMENT) as (keyof typeof FILTER_BY_SEGMENT)[]) {
      app.get(`/:site/${segment}/:name/${file}`, (c) => {
        // The raw segment: Hono's decoded param cannot tell a bad escape from a literal "%".
        const rawName = new URL(c.req.url).pathname.split("/")[3] ?? "";
        return subscription(c, c.req.param("site"), filterFrom(segment, rawName), format);
      });
    }
    app.get(`/:site/archive/:year/:month/${file}`, async (c) => {
      const month = parseMonth(c.req.param("year"), c.req.param("month"));
      if (!month) throw new Problem(404, { detail: "Archive months are /archive/YYYY/MM/." });
      return staleRun(c, c.req.param("site"), { kind: "archive", month }, format, async () => {
        const { record, query } = await siteAndQuery(c, c.req.param("site"));
        if (query.paged !== undefined) throw invalid([{ field: "paged", message: "is for subscription feeds; archives page with before" }], 400);
        return respond(c, record, format, await archivePlan(record, month, format, query));
      });
    });
  }
  return hot;
}

/**
 * Cache writes never delay the answer where the platform can finish work after it (Workers:
 * ctx.waitUntil, through Hono's executionCtx); elsewhere they are awaited. A failed write is
 * logged, never answered: the cache may forget anything.
 */
export function backgroundFor(c: Context, log: AppDeps["log"]): Background {
  // Looked up at the first work, not per request: on Node the lookup throws, and most requests
  // (cache hits, 304s) never hand any work over.
  let waitUntil: ((work: Promise<unknown>) => void) | null | undefined;
  const lookup = () => {
    try {
      const ctx = c.executionCtx;
      return (work: Promise<unknown>) => ctx.waitUntil(work);
    } catch {
      return null; // No ExecutionContext (Node): the work is awaited.
    }
  };
  return async (work) => {
    if (waitUntil === undefined) waitUntil = lookup();
    const settled = work.then(
      () => undefined,
      (error: unknown) => log({ event: "cache.write_failed", message: error instanceof Error ? error.message : String(error) }),
    );
    if (waitUntil) waitUntil(settled);
    else await settled;
  };
}

function cursorOf(a: Article): Cursor {
  return { published_at: a.published_at, id: a.id };
}
