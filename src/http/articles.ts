// Publisher routes: upsert, read, list and delete articles, and the one-URL event endpoint.

import type { Context, Hono } from "hono";
import { ARTICLE_LIMITS, articleBytes, articleIdProblem, validateArticle } from "../core/article.ts";
import { formatRfc3339 } from "../core/dates.ts";
import { encodeCursor, parseFeedQuery, effectiveLimit, tombstonesPrunableBefore } from "../core/feed.ts";
import { Problems, checkKeys, field, isObject } from "../core/fields.ts";
import type { Article } from "../core/model.ts";
import { changedFeedUrls } from "../core/websub.ts";
import type { SiteRecord } from "../store/port.ts";
import type { Guard } from "./auth.ts";
import { parseJson, readBodyBytes, requireJsonContentType } from "./body.ts";
import type { AppDeps } from "./deps.ts";
import { Problem, invalid } from "./problem.ts";
import type { Replayer, Reply } from "./replay.ts";
import { requireSite } from "./sites.ts";

const EVENT_KEYS = new Set(["type", "timestamp", "data"]);
const DELETE_KEYS = new Set(["id"]);
const EVENT_TYPES = ["article.published", "article.updated", "article.deleted"] as const;

function checkPathId(id: string): void {
  const problem = articleIdProblem(id);
  if (problem) throw invalid([{ field: "id", message: problem }]);
}

export function registerArticleRoutes(app: Hono, deps: AppDeps, guard: Guard, replayer: Replayer): void {
  /** The shared front of every write: site, media type, size, credentials, then replay. */
  const write = async (c: Context, hasBody: boolean, handler: (record: SiteRecord, json: unknown) => Promise<Reply>) => {
    const slug = c.req.param("site") ?? "";
    const record = await requireSite(deps, slug);
    if (hasBody) requireJsonContentType(c);
    const body = await readBodyBytes(c);
    await guard.requirePublisher(c, record, body);
    const json = hasBody ? parseJson(body) : undefined;
    return replayer.run(c, slug, body, () => handler(record, json));
  };

  /** WebSub: after a change, hand the hubs' ping to the platform. Never awaited, never fails the write. */
  const announce = (c: Context, record: SiteRecord, before: Article | undefined, after: Article | undefined) => {
    const hubs = record.site.websub_hubs;
    if (!deps.hubs || hubs.length === 0) return;
    try {
      const urls = changedFeedUrls(deps.config.baseUrl, record.site.slug, before, after);
      const background = deps.hubs.notify({ site: record.site.slug, hubs, urls });
      if (!background) return;
      try {
        c.executionCtx.waitUntil(background);
      } catch {
        // No ExecutionContext (Node, Lambda): the delivery runs on its own.
      }
    } catch (error) {
      deps.log({ event: "websub.error", site: record.site.slug, message: error instanceof Error ? error.message : String(error) });
    }
  };
  /** The stored article before a write, read only when there are hubs to tell which feeds it leaves. */
  const previous = (record: SiteRecord, id: string) =>
    deps.hubs && record.site.websub_hubs.length > 0 ? deps.store.getArticle(record.site.slug, id) : Promise.resolve(undefined);

  const upsert = async (c: Context, record: SiteRecord, input: unknown, pointerBase = "", pathId?: string): Promise<Reply> => {
    const now = deps.clock();
    const context = pathId === undefined ? { site: record.site, now } : { site: record.site, now, pathId };
    const result = validateArticle(input, context, pointerBase);
    if (!result.ok) throw invalid(result.errors);
    const size = articleBytes(result.value);
    if (size > ARTICLE_LIMITS.bytes) {
      throw new Problem(413, { detail: `The normalised article is ${size} bytes; the limit is ${ARTICLE_LIMITS.bytes}.` });
    }
    const before = await previous(record, result.value.id);
    const put = await deps.store.putArticle(record.site.slug, result.value, formatRfc3339(now));
    deps.log({ event: `article.${put.outcome}`, site: record.site.slug, id: put.article.id });
    if (put.outcome === "created" || put.outcome === "updated") announce(c, record, before, put.article);
    return { status: put.outcome === "created" ? 201 : 200, body: JSON.stringify(put.article) };
  };

  const remove = async (c: Context, record: SiteRecord, id: string): Promise<Reply> => {
    const before = await previous(record, id);
    const now = deps.clock();
    const deleted = await deps.store.deleteArticle(record.site.slug, id, formatRfc3339(now));
    if (!deleted) throw new Problem(404, { detail: `There is no article ${JSON.stringify(id)} in ${record.site.slug}.` });
    deps.log({ event: "article.deleted", site: record.site.slug, id });
    // Each delete drops the site's tombstones that no feed can list any more, so they do not pile
    // up; the delete itself is committed, so a failure here is only logged.
    try {
      const pruned = await deps.store.pruneTombstones(record.site.slug, formatRfc3339(tombstonesPrunableBefore(record.site, now)));
      if (pruned > 0) deps.log({ event: "tombstones.pruned", site: record.site.slug, count: pruned });
    } catch (error) {
      deps.log({ event: "tombstones.prune_failed", site: record.site.slug, error: String(error) });
    }
    announce(c, record, before, undefined);
    return { status: 204, body: "" };
  };

  app.post("/v1/sites/:site/articles", (c) => write(c, true, (record, json) => upsert(c, record, json)));

  app.put("/v1/sites/:site/articles/:id", (c) => {
    const id = c.req.param("id");
    checkPathId(id);
    return write(c, true, (record, json) => upsert(c, record, json, "", id));
  });

  app.delete("/v1/sites/:site/articles/:id", (c) => {
    const id = c.req.param("id");
    checkPathId(id);
    return write(c, false, (record) => remove(c, record, id));
  });

  app.post("/v1/sites/:site/events", (c) =>
    write(c, true, async (record, input) => {
      const p = new Problems();
      if (!isObject(input)) throw invalid([{ field: "", message: "must be a JSON object {type, timestamp, data}" }]);
      checkKeys(input, EVENT_KEYS, "", p);
      const type = field(input, "type");
      if (typeof type !== "string" || !(EVENT_TYPES as readonly string[]).includes(type)) {
        p.add("/type", `must be one of ${EVENT_TYPES.join(", ")}`);
      }
      const timestamp = field(input, "timestamp");
      if (timestamp !== undefined && (typeof timestamp !== "string" || !Number.isFinite(Date.parse(timestamp)))) {
        p.add("/timestamp", "must be an RFC 3339 timestamp");
      }
      const data = field(input, "data");
      if (!isObject(data)) p.add("/data", "must be an object");
      if (!p.ok || !isObject(data)) throw invalid(p.errors);
      if (type === "article.deleted") {
        checkKeys(data, DELETE_KEYS, "/data", p);
        const id = field(data, "id");
        const problem = typeof id === "string" ? articleIdProblem(id) : "is required";
        if (problem) p.add("/data/id", problem);
        if (!p.ok || typeof id !== "string") throw invalid(p.errors);
        return remove(c, record, id);
      }
      return upsert(c, record, data, "/data");
    }),
  );

  app.get("/v1/sites/:site/articles/:id", async (c) => {
    const record = await requireSite(deps, c.req.param("site"));
    await guard.requirePublisher(c, record, new Uint8Array(0));
    const id = c.req.param("id");
    checkPathId(id);
    const article = await deps.store.getArticle(record.site.slug, id);
    if (!article) throw new Problem(404, { detail: `There is no article ${JSON.stringify(id)} in ${record.site.slug}.` });
    return c.json(article, 200, { "cache-control": "no-store" });
  });

  app.get("/v1/sites/:site/articles", async (c) => {
    const record = await requireSite(deps, c.req.param("site"));
    await guard.requirePublisher(c, record, new Uint8Array(0));
    const parsed = parseFeedQuery({ limit: c.req.query("limit"), before: c.req.query("before") });
    if (!parsed.ok) throw invalid(parsed.errors, 400);
    const query = { filter: { kind: "all" as const }, limit: effectiveLimit(parsed.query) };
    const page = await deps.store.listArticles(record.site.slug, parsed.query.before ? { ...query, before: parsed.query.before } : query);
    const body: Record<string, unknown> = { items: page.items };
    if (page.next) body.next = encodeCursor(page.next);
    return c.json(body, 200, { "cache-control": "no-store" });
  });
}
