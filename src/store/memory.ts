// The in-memory store: tests and local development. It behaves exactly like the SQL stores,
// including what survives a round trip: values are stored as their JSON form (undefined
// properties dropped, as every persistent engine does) and copied on the way out, so no
// caller can reach stored state.

import type { Article, FeedFilter, Site } from "../core/model.ts";
import {
  StoreUnavailableError,
  type ArticlePage,
  type ArticleQuery,
  type Credential,
  type Cursor,
  type PutResult,
  type SiteRecord,
  type SiteVersion,
  type Store,
  type Tombstone,
  type WebhookClaim,
  type WebhookResponse,
} from "./port.ts";
import { checkLimit, instant } from "./checks.ts";

interface StoredArticle {
  article: Article;
  /** JSON.stringify(article), for the "unchanged" check. */
  json: string;
  publishedMs: number;
  updatedMs: number;
  /** The site version its last write produced (see rangeFingerprint). */
  rev: number;
}

interface StoredTombstone {
  tombstone: Tombstone;
  deletedMs: number;
}

interface StoredWebhook {
  bodyHash: string;
  claimedMs: number;
  completed?: { ms: number; response: WebhookResponse };
}

interface StoredSite {
  record: SiteRecord;
  articles: Map<string, StoredArticle>;
  tombstones: Map<string, StoredTombstone>;
  webhooks: Map<string, StoredWebhook>;
}

/** A deep copy holding exactly what a JSON round trip keeps. */
function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}


/** (published_at desc, id desc): instants first, then ids by code unit, as SQLite's BINARY. */
function newestFirst(a: StoredArticle, b: StoredArticle): number {
  if (a.publishedMs !== b.publishedMs) return b.publishedMs - a.publishedMs;
  if (a.article.id === b.article.id) return 0;
  return a.article.id < b.article.id ? 1 : -1;
}

/** True when the article comes strictly after the cursor in feed order. */
function isAfter(a: StoredArticle, cursorMs: number, cursorId: string): boolean {
  return a.publishedMs < cursorMs || (a.publishedMs === cursorMs && a.article.id < cursorId);
}

function matches(article: Article, filter: FeedFilter): boolean {
  switch (filter.kind) {
    case "all":
      return true;
    case "category":
      return article.categories.includes(filter.name.normalize("NFC"));
    case "tag":
      return article.tags.includes(filter.name.normalize("NFC"));
    case "author": {
      const name = filter.name.normalize("NFC");
      return article.authors.some((a) => a.name === name);
    }
  }
}

export function createMemoryStore(): Store {
  const sites = new Map<string, StoredSite>();
  let closed = false;

  function open(): void {
    if (closed) throw new StoreUnavailableError("store is closed");
  }

  function existing(slug: string): StoredSite {
    const s = sites.get(slug);
    if (!s) throw new Error(`unknown site: ${slug}`);
    return s;
  }

  function bump(s: StoredSite, now: string): void {
    s.record.version += 1;
    s.record.modified_at = now;
  }

  return {
    async getSite(slug: string): Promise<SiteRecord | undefined> {
      open();
      const s = sites.get(slug);
      return s ? structuredClone(s.record) : undefined;
    },

    async getSiteVersion(slug: string): Promise<SiteVersion | undefined> {
      open();
      const s = sites.get(slug);
      return s ? { version: s.record.version, modified_at: s.record.modified_at } : undefined;
    },

    async createSite(record: SiteRecord): Promise<boolean> {
      open();
      const slug = record.site.slug;
      if (sites.has(slug)) return false;
      sites.set(slug, { record: jsonCopy(record), articles: new Map(), tombstones: new Map(), webhooks: new Map() });
      return true;
    },

    async updateSite(slug: string, site: Site, now: string): Promise<SiteRecord | undefined> {
      open();
      if (site.slug !== slug) throw new Error(`site.slug ${site.slug} does not match ${slug}`);
      const s = sites.get(slug);
      if (!s) return undefined;
      s.record.site = jsonCopy(site);
      bump(s, now);
      return structuredClone(s.record);
    },

    async setCredentials(slug: string, credentials: Credential[]): Promise<boolean> {
      open();
      const s = sites.get(slug);
      if (!s) return false;
      s.record.credentials = jsonCopy(credentials);
      return true;
    },

    async deleteSite(slug: string): Promise<boolean> {
      open();
      return sites.delete(slug);
    },

    async getArticle(slug: string, id: string): Promise<Article | undefined> {
      open();
      const a = sites.get(slug)?.articles.get(id);
      return a ? structuredClone(a.article) : undefined;
    },

    async putArticle(slug: string, article: Article, now: string): Promise<PutResult> {
      open();
      const s = existing(slug);
      const publishedMs = instant(article.published_at, "published_at");
      const updatedMs = instant(article.updated_at, "updated_at");
      const json = JSON.stringify(article);
      const stored = s.articles.get(article.id);
      if (stored) {
        if (stored.updatedMs > updatedMs) return { outcome: "stale", article: structuredClone(stored.article) };
        if (stored.updatedMs === updatedMs && stored.json === json) {
          return { outcome: "unchanged", article: structuredClone(stored.article) };
        }
      }
      const copy = JSON.parse(json) as Article;
      bump(s, now);
      s.articles.set(article.id, { article: copy, json, publishedMs, updatedMs, rev: s.record.version });
      // Publishing a deleted id again: it is no longer deleted.
      if (!stored) s.tombstones.delete(article.id);
      return { outcome: stored ? "updated" : "created", article: structuredClone(copy) };
    },

    async deleteArticle(slug: string, id: string, now: string): Promise<boolean> {
      open();
      const s = existing(slug);
      const deletedMs = instant(now, "now");
      const stored = s.articles.get(id);
      if (!stored) return false;
      s.articles.delete(id);
      s.tombstones.set(id, { tombstone: { id, published_at: stored.article.published_at, deleted_at: now }, deletedMs });
      bump(s, now);
      return true;
    },

    async listArticles(slug: string, query: ArticleQuery): Promise<ArticlePage> {
      open();
      checkLimit(query.limit);
      const s = sites.get(slug);
      if (!s) return { items: [] };
      const before = query.before;
      const cursorMs = before ? instant(before.published_at, "cursor published_at") : undefined;
      const notBeforeMs = query.notBefore === undefined ? undefined : instant(query.notBefore, "notBefore");
      const candidates: StoredArticle[] = [];
      for (const a of s.articles.values()) {
        if (cursorMs !== undefined && before && !isAfter(a, cursorMs, before.id)) continue;
        if (notBeforeMs !== undefined && a.publishedMs < notBeforeMs) continue;
        if (matches(a.article, query.filter)) candidates.push(a);
      }
      candidates.sort(newestFirst);
      const page = candidates.slice(0, query.limit);
      const items = page.map((a) => structuredClone(a.article));
      const last = items[items.length - 1];
      if (candidates.length > query.limit && last) {
        const next: Cursor = { published_at: last.published_at, id: last.id };
        return { items, next };
      }
      return { items };
    },

    async claimWebhook(
      slug: string,
      webhookId: string,
      bodyHash: string,
      now: string,
      staleAfterMs: number,
    ): Promise<WebhookClaim> {
      open();
      const s = existing(slug);
      const nowMs = instant(now, "now");
      const w = s.webhooks.get(webhookId);
      if (w?.completed) {
        return { state: "done", body_hash: w.bodyHash, response: { ...w.completed.response } };
      }
      if (w && nowMs - w.claimedMs < staleAfterMs) return { state: "in_flight", body_hash: w.bodyHash };
      s.webhooks.set(webhookId, { bodyHash, claimedMs: nowMs });
      return { state: "claimed" };
    },

    async completeWebhook(slug: string, webhookId: string, response: WebhookResponse, now: string): Promise<void> {
      open();
      const nowMs = instant(now, "now");
      const w = sites.get(slug)?.webhooks.get(webhookId);
      if (!w) return;
      w.completed = { ms: nowMs, response: { status: response.status, body: response.body } };
    },

    async releaseWebhook(slug: string, webhookId: string): Promise<void> {
      open();
      const hooks = sites.get(slug)?.webhooks;
      if (hooks && !hooks.get(webhookId)?.completed) hooks.delete(webhookId);
    },

    async pruneWebhooks(olderThan: string): Promise<number> {
      open();
      const limitMs = instant(olderThan, "olderThan");
      let count = 0;
      for (const s of sites.values()) {
        for (const [id, w] of s.webhooks) {
          if ((w.completed?.ms ?? w.claimedMs) < limitMs) {
            s.webhooks.delete(id);
            count += 1;
          }
        }
      }
      return count;
    },

    async rangeFingerprint(slug: string, range: { from: string; to: string }): Promise<string> {
      open();
      const fromMs = instant(range.from, "from");
      const toMs = instant(range.to, "to");
      let count = 0;
      let max = 0;
      let sum = 0;
      for (const a of sites.get(slug)?.articles.values() ?? []) {
        if (a.publishedMs < fromMs || a.publishedMs >= toMs) continue;
        count += 1;
        max = Math.max(max, a.rev);
        sum += a.rev;
      }
      return `${count}:${max}:${sum}`;
    },

    async listTombstones(slug: string, query: { since: string; limit: number }): Promise<Tombstone[]> {
      open();
      if (!Number.isInteger(query.limit) || query.limit < 1) {
        throw new RangeError(`limit must be a positive integer, got ${query.limit}`);
      }
      const sinceMs = instant(query.since, "since");
      const found = [...(sites.get(slug)?.tombstones.values() ?? [])].filter((t) => t.deletedMs >= sinceMs);
      // Most recent deletion first, then ids by code unit descending (as SQLite's BINARY).
      found.sort((a, b) => {
        if (a.deletedMs !== b.deletedMs) return b.deletedMs - a.deletedMs;
        if (a.tombstone.id === b.tombstone.id) return 0;
        return a.tombstone.id < b.tombstone.id ? 1 : -1;
      });
      return found.slice(0, query.limit).map((t) => ({ ...t.tombstone }));
    },

    async pruneTombstones(slug: string, olderThan: string): Promise<number> {
      open();
      const limitMs = instant(olderThan, "olderThan");
      const s = sites.get(slug);
      if (!s) return 0;
      let count = 0;
      for (const [id, t] of s.tombstones) {
        if (t.deletedMs < limitMs) {
          s.tombstones.delete(id);
          count += 1;
        }
      }
      return count;
    },

    async ping(): Promise<void> {
      open();
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}
