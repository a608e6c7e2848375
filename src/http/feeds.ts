// Public feed routes. The read path: one point read of the site (its version), then either a 304,
// cached bytes, or one O(limit) query and a render that is cached by version.

import type { Context, Hono } from "hono";
import { cacheControl, chooseEncoding, feedEtag, isNotModified } from "../core/caching.ts";
import { formatHttpDate } from "../core/dates.ts";
import { buildFeedDocument, documentKey, effectiveLimit, parseFeedQuery } from "../core/feed.ts";
import { normaliseTerm } from "../core/fields.ts";
import type { FeedFilter, FeedFormat } from "../core/model.ts";
import { CONTENT_TYPES, renderFeed } from "../core/render/index.ts";
import { slugProblem } from "../core/site.ts";
import type { CachedBody } from "../store/cache/port.ts";
import type { AppDeps } from "./deps.ts";
import { Problem, invalid } from "./problem.ts";

const FORMAT_BY_FILE: Record<string, FeedFormat> = { "rss.xml": "rss", "atom.xml": "atom", "feed.json": "json" };
const FILTER_BY_SEGMENT = { categories: "category", tags: "tag", authors: "author" } as const;
const MAX_NAME_LENGTH = 200;

const encoder = new TextEncoder();

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

export function registerFeedRoutes(app: Hono, deps: AppDeps): void {
  const serve = async (c: Context, slug: string, filter: FeedFilter, format: FeedFormat): Promise<Response> => {
    const parsed = parseFeedQuery({ limit: c.req.query("limit"), before: c.req.query("before") });
    if (!parsed.ok) throw invalid(parsed.errors, 400);
    const query = parsed.query;
    const record = slugProblem(slug) === undefined ? await deps.store.getSite(slug) : undefined;
    if (!record) throw new Problem(404, { detail: `There is no site named ${JSON.stringify(slug)}.` });

    const key = documentKey(deps.config.baseUrl, slug, filter, format, query);
    const etag = feedEtag(record.version, key);
    const lastModified = Date.parse(record.modified_at);
    const headers: Record<string, string> = {
      etag,
      "last-modified": formatHttpDate(lastModified),
      "cache-control": cacheControl(record.site.ttl_minutes * 60),
      vary: "Accept-Encoding",
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "ETag, Last-Modified, Link",
    };
    if (isNotModified({ ifNoneMatch: c.req.header("if-none-match"), ifModifiedSince: c.req.header("if-modified-since") }, { etag, lastModified })) {
      return new Response(null, { status: 304, headers });
    }

    const coding = chooseEncoding(c.req.header("accept-encoding"), deps.codings);
    const cacheKey = (codingName: string) => `${key}#${record.version}#${codingName}`;
    let encoded = await deps.feedCache.get(cacheKey(coding));
    if (!encoded) {
      let identity = coding === "identity" ? undefined : await deps.feedCache.get(cacheKey("identity"));
      if (!identity) {
        const limit = effectiveLimit(query);
        const page = await deps.store.listArticles(slug, query.before ? { filter, limit, before: query.before } : { filter, limit });
        const doc = buildFeedDocument({
          baseUrl: deps.config.baseUrl,
          site: record.site,
          filter,
          format,
          query,
          items: page.items,
          ...(page.next ? { next: page.next } : {}),
        });
        identity = { body: encoder.encode(renderFeed(format, doc)), empty: page.items.length === 0 };
        await remember(cacheKey("identity"), identity, filter);
      }
      encoded = coding === "identity" ? identity : { body: await deps.compress(identity.body, coding), empty: identity.empty };
      if (coding !== "identity") await remember(cacheKey(coding), encoded, filter);
    }
    if (coding !== "identity") headers["content-encoding"] = coding;
    headers["content-type"] = CONTENT_TYPES[format];
    headers["content-length"] = String(encoded.body.byteLength);
    return new Response(encoded.body as Uint8Array<ArrayBuffer>, { status: 200, headers });
  };

  /** Empty filtered feeds are not cached: any name can be asked for, and junk must not fill the cache. */
  const remember = async (key: string, value: CachedBody, filter: FeedFilter) => {
    if (value.empty && filter.kind !== "all") return;
    await deps.feedCache.put(key, value);
  };

  // One literal route per format: a regex alternation in a Hono param is not anchored per branch.
  for (const [file, format] of Object.entries(FORMAT_BY_FILE)) {
    app.get(`/:site/${file}`, (c) => serve(c, c.req.param("site"), { kind: "all" }, format));
    for (const segment of Object.keys(FILTER_BY_SEGMENT) as (keyof typeof FILTER_BY_SEGMENT)[]) {
      app.get(`/:site/${segment}/:name/${file}`, (c) => {
        // The raw segment: Hono's decoded param cannot tell a bad escape from a literal "%".
        const rawName = new URL(c.req.url).pathname.split("/")[3] ?? "";
        return serve(c, c.req.param("site"), filterFrom(segment, rawName), format);
      });
    }
  }
}
