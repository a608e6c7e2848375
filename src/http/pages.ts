// Pages for people: `/{site}/` (HTML: latest articles, feeds, how to subscribe) and
// `/{site}/feeds.opml`. Same read path and caching as the feeds: one point read of the site, then
// a 304, cached bytes, or one query and a render cached by the site's version; background cache
// writes and stale-if-error as in feeds.ts.

import type { Context, Hono, Next } from "hono";
import { cacheControl, chooseEncoding, codedEtag, feedEtag, isNotModified } from "../core/caching.ts";
import { formatHttpDate } from "../core/dates.ts";
import { DEFAULT_LIMIT, MAX_LIMIT } from "../core/feed.ts";
import { OPML_CONTENT_TYPE, renderOpml } from "../core/render/opml.ts";
import { PAGE_CONTENT_TYPE, PAGE_CSP, renderSitePage } from "../core/render/page.ts";
import { slugProblem } from "../core/site.ts";
import type { Site } from "../core/model.ts";
import type { SiteRecord } from "../store/port.ts";
import type { AppDeps } from "./deps.ts";
import { backgroundFor } from "./feeds.ts";
import { Problem } from "./problem.ts";
import { createStaleIfError } from "./stale.ts";

const encoder = new TextEncoder();

interface VersionedDocument {
  /** Path below the base URL: with the base URL, the document key (cache key and ETag input). */
  path: string;
  contentType: string;
  headers: Record<string, string>;
  /** The body, built only on a cache miss. */
  render: () => Promise<string>;
}

export function registerPageRoutes(app: Hono, deps: AppDeps): void {
  const stale = createStaleIfError(deps);

  /** The feeds' caching rules (ETag by version and document key, 304, br/gzip, cache by version). */
  const serve = async (c: Context, record: SiteRecord, doc: VersionedDocument): Promise<Response> => {
    const key = `${deps.config.baseUrl}${doc.path}`;
    const etag = feedEtag(record.version, key);
    const lastModified = Date.parse(record.modified_at);
    const headers: Record<string, string> = {
      etag,
      "last-modified": formatHttpDate(lastModified),
      "cache-control": cacheControl(record.site.ttl_minutes * 60),
      vary: "Accept-Encoding",
      "x-content-type-options": "nosniff",
      ...doc.headers,
    };
    const coding = chooseEncoding(c.req.header("accept-encoding"), deps.codings);
    headers.etag = codedEtag(etag, coding);
    if (isNotModified({ ifNoneMatch: c.req.header("if-none-match"), ifModifiedSince: c.req.header("if-modified-since") }, { etag, lastModified })) {
      return new Response(null, { status: 304, headers });
    }
    const cacheKey = (codingName: string) => `${key}#${record.version}#${codingName}`;
    const background = backgroundFor(c, deps.log);
    const remember = (k: string, body: Uint8Array) => background(deps.feedCache.put(k, { body, empty: false }));
    let body = (await deps.feedCache.get(cacheKey(coding), background))?.body;
    if (!body) {
      let identity = coding === "identity" ? undefined : (await deps.feedCache.get(cacheKey("identity"), background))?.body;
      if (!identity) {
        identity = encoder.encode(await doc.render());
        await remember(cacheKey("identity"), identity);
      }
      body = identity;
      if (coding !== "identity") {
        body = await deps.compress(identity, coding);
        await remember(cacheKey(coding), body);
      }
    }
    if (coding !== "identity") headers["content-encoding"] = coding;
    headers["content-type"] = doc.contentType;
    headers["content-length"] = String(body.byteLength);
    stale.served(c, cacheKey(""), headers);
    return new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers });
  };

  /**
   * One document route. A name no site can have is left to other routes (and the 404 handler);
   * an unknown site is 404; a store that does not answer gets the last good body (stale.ts).
   */
  const route = (file: string, documentOf: (site: Site) => Omit<VersionedDocument, "path">) =>
    async (c: Context, next: Next): Promise<Response | void> => {
      const slug = c.req.param("site") ?? "";
      if (slugProblem(slug) !== undefined) return next();
      const path = `/${slug}/${file}`;
      return stale.run(c, `${deps.config.baseUrl}${path}`, async () => {
        const record = await deps.store.getSite(slug);
        if (!record) throw new Problem(404, { detail: `There is no site named ${JSON.stringify(slug)}.` });
        return serve(c, record, { path, ...documentOf(record.site) });
      });
    };

  app.get(
    "/:site/",
    route("", (site) => ({
      contentType: PAGE_CONTENT_TYPE,
      headers: { "content-security-policy": PAGE_CSP, "referrer-policy": "strict-origin-when-cross-origin" },
      render: async () => {
        const page = await deps.store.listArticles(site.slug, { filter: { kind: "all" }, limit: DEFAULT_LIMIT });
        return renderSitePage({ baseUrl: deps.config.baseUrl, site, articles: page.items });
      },
    })),
  );

  app.get(
    "/:site/feeds.opml",
    route("feeds.opml", (site) => ({
      contentType: OPML_CONTENT_TYPE,
      headers: { "access-control-allow-origin": "*", "access-control-expose-headers": "ETag, Last-Modified" },
      render: async () => {
        const page = await deps.store.listArticles(site.slug, { filter: { kind: "all" }, limit: MAX_LIMIT });
        return renderOpml({ baseUrl: deps.config.baseUrl, site, articles: page.items });
      },
    })),
  );

  // `/{site}` → `/{site}/`, only for a site that exists: any other single segment (`/healthz`, a
  // route registered later) is left to its own route or the 404 handler.
  app.get("/:site", async (c: Context, next: Next) => {
    const slug = c.req.param("site") ?? "";
    if (slugProblem(slug) !== undefined || !(await deps.store.getSiteVersion(slug))) return next();
    const search = new URL(c.req.url).search;
    return new Response(null, {
      status: 301,
      headers: { location: `${deps.config.baseUrl}/${slug}/${search}`, "cache-control": cacheControl(3600) },
    });
  });
}
