// The SQL shared by the SQLite-dialect engines, node:sqlite (sqlite.ts) and Cloudflare D1
// (d1.ts), and the one Store built on it. No Node-only imports: this module runs in workerd.
//
// An engine only runs statements: a read (one statement, one consistent snapshot) or a batch
// (a list of statements applied atomically: all of them, or none and it throws). D1 has no
// interactive transactions, so every write below is ONE batch, and no statement of a batch
// depends on a value read by the application between two of its statements.
//
// Read-then-write under races (putArticle, deleteArticle). Answering "stale", "unchanged",
// "created" or "updated" needs the stored article, so those writes first read the site and
// the article (one statement, a join), decide from that snapshot, and then send one batch that
// is only valid for what was read:
//
//   1. The guard, first in the batch, bumps the site version only while the article's
//      revision is still the one that was read (NULL: still absent), and otherwise sets the
//      version to NULL, which violates NOT NULL and aborts the whole batch:
//        UPDATE sites SET version = CASE WHEN (SELECT rev FROM articles …) IS ? THEN version + 1 END
//      Every write to an article stamps it with a new revision (the site version it produced,
//      which only grows), so "same revision" means "not written since the read".
//   2. The rest of the batch (the article with rev = the bumped version, its terms, its
//      tombstone) only ever runs after a guard that passed, inside the same atomic batch.
//
// When the batch fails, the state is read again. If the article's revision or the site's
// existence changed, another writer got in between: the decision is made again from the fresh
// state (a few times at most, then StoreUnavailableError: the caller may retry later). If
// nothing changed, the failure was a real error and is thrown as it is. When the site itself
// was deleted in between, the guard matches no row and the article insert fails on its NOT
// NULL rev (or, for a delete, nothing is written); the next read finds no site and the write
// fails as for an unknown site. "stale" and "unchanged" write nothing and are answered from
// the snapshot: the answer a serial execution at the moment of the read would have given.
//
// Every other write is one batch with no read before it: createSite is a conditional insert,
// updateSite an update followed by a read in the same batch, claimWebhook an upsert whose
// DO UPDATE … WHERE only takes over a stale claim, followed by a read of the row, so that
// "claimed", "in_flight" and "done" are decided by the engine, never by a racing reader.

import type { Article, Site } from "../core/model.ts";
import {
  StoreUnavailableError,
  type ArticlePage,
  type ArticleQuery,
  type Credential,
  type PutResult,
  type SiteRecord,
  type SiteVersion,
  type Store,
  type Tombstone,
  type WebhookClaim,
  type WebhookResponse,
} from "./port.ts";
import { checkLimit, instant } from "./checks.ts";

/** What both engines bind: D1 takes null, numbers and strings; so does node:sqlite. */
export type SqlValue = string | number | null;

export interface Statement {
  sql: string;
  args: SqlValue[];
}

export type Row = Record<string, unknown>;

export interface BatchResult {
  /** The rows of a statement that returns rows; empty for the others. */
  rows: Row[];
  /** Rows inserted, updated or deleted by the statement (0 for a SELECT). */
  changes: number;
}

/** The little an engine has to do; it throws StoreUnavailableError when it cannot answer. */
export interface SqlEngine {
  /** One statement: a consistent snapshot. */
  all(statement: Statement): Promise<Row[]>;
  /**
   * Every statement in order, atomically: all are applied, or none and it throws. `relaxed`
   * batches (replay bookkeeping) may skip the flush to disk where the engine can: they survive a
   * crash of the process, and the next durable batch makes them durable too.
   */
  batch(statements: Statement[], options?: { relaxed?: boolean }): Promise<BatchResult[]>;
  close(): Promise<void>;
  /**
   * How many times a guarded write may lose to other writers of the same row before it answers
   * 503 (default MAX_ATTEMPTS). An engine that commits concurrent writes together, where only
   * the first of them can pass its guard, needs about one attempt per concurrent writer.
   */
  maxWriteAttempts?: number;
}

/**
 * The feed queries. `(published_ms, id) < (?, ?)` is a row-value range constraint the
 * planner seeks on (`SEARCH … (site=? AND (published_ms,id)<(?,?))`); the equivalent
 * `published_ms < ? OR (published_ms = ? AND id < ?)` only seeks on `site=?` and then
 * walks every newer row, which would make deep pages O(offset). The `Since` forms add the
 * lower bound of an archive range (`published_ms >= ?`), which becomes the other end of the
 * same seek, so a page never walks past the range either.
 *
 * Arguments, in order: site, [kind, name], [not-before ms], [cursor ms, cursor id], limit.
 */
export const FEED_SQL = {
  all: `SELECT data FROM articles
WHERE site = ?
ORDER BY published_ms DESC, id DESC LIMIT ?`,
  allBefore: `SELECT data FROM articles
WHERE site = ? AND (published_ms, id) < (?, ?)
ORDER BY published_ms DESC, id DESC LIMIT ?`,
  allSince: `SELECT data FROM articles
WHERE site = ? AND published_ms >= ?
ORDER BY published_ms DESC, id DESC LIMIT ?`,
  allSinceBefore: `SELECT data FROM articles
WHERE site = ? AND published_ms >= ? AND (published_ms, id) < (?, ?)
ORDER BY published_ms DESC, id DESC LIMIT ?`,
  term: `SELECT a.data FROM article_terms AS t
JOIN articles AS a ON a.site = t.site AND a.id = t.id
WHERE t.site = ? AND t.kind = ? AND t.name = ?
ORDER BY t.published_ms DESC, t.id DESC LIMIT ?`,
  termBefore: `SELECT a.data FROM article_terms AS t
JOIN articles AS a ON a.site = t.site AND a.id = t.id
WHERE t.site = ? AND t.kind = ? AND t.name = ? AND (t.published_ms, t.id) < (?, ?)
ORDER BY t.published_ms DESC, t.id DESC LIMIT ?`,
  termSince: `SELECT a.data FROM article_terms AS t
JOIN articles AS a ON a.site = t.site AND a.id = t.id
WHERE t.site = ? AND t.kind = ? AND t.name = ? AND t.published_ms >= ?
ORDER BY t.published_ms DESC, t.id DESC LIMIT ?`,
  termSinceBefore: `SELECT a.data FROM article_terms AS t
JOIN articles AS a ON a.site = t.site AND a.id = t.id
WHERE t.site = ? AND t.kind = ? AND t.name = ? AND t.published_ms >= ? AND (t.published_ms, t.id) < (?, ?)
ORDER BY t.published_ms DESC, t.id DESC LIMIT ?`,
} as const;

/** Every other statement of the store. */
export const SQL = {
  ping: "SELECT 1 AS ok",

  getSite: "SELECT data, version, modified_at, credentials FROM sites WHERE slug = ?",
  getSiteVersion: "SELECT version, modified_at FROM sites WHERE slug = ?",
  createSite: `INSERT INTO sites (slug, data, version, modified_at, credentials) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (slug) DO NOTHING`,
  updateSite: "UPDATE sites SET data = ?, version = version + 1, modified_at = ? WHERE slug = ?",
  setCredentials: "UPDATE sites SET credentials = ? WHERE slug = ?",
  deleteSiteTerms: "DELETE FROM article_terms WHERE site = ?",
  deleteSiteArticles: "DELETE FROM articles WHERE site = ?",
  deleteSiteTombstones: "DELETE FROM tombstones WHERE site = ?",
  deleteSiteWebhooks: "DELETE FROM webhooks WHERE site = ?",
  deleteSite: "DELETE FROM sites WHERE slug = ?",

  getArticle: "SELECT data FROM articles WHERE site = ? AND id = ?",
  /** What a put decides on: one row when the site exists; the article columns NULL when it has no such article. */
  putState: `SELECT a.updated_ms, a.data, a.rev FROM sites AS s
LEFT JOIN articles AS a ON a.site = s.slug AND a.id = ?
WHERE s.slug = ?`,
  /** What a delete decides on, and the published_at its tombstone keeps. */
  deleteState: `SELECT a.rev, json_extract(a.data, '$.published_at') AS published_at FROM sites AS s
LEFT JOIN articles AS a ON a.site = s.slug AND a.id = ?
WHERE s.slug = ?`,
  /**
   * The guard that opens every article write: bumps the version while the article's revision
   * is the one read (`IS NULL`: still absent); otherwise NOT NULL fails and the batch aborts.
   * Arguments: site, id, the revision read (or null), now, site.
   */
  guardArticle: `UPDATE sites SET
  version = CASE WHEN (SELECT rev FROM articles WHERE site = ? AND id = ?) IS ? THEN version + 1 END,
  modified_at = ?
WHERE slug = ?`,
  /** rev is the version the guard just produced; NULL (and NOT NULL fails) when the site is gone. */
  upsertArticle: `INSERT INTO articles (site, id, published_ms, updated_ms, data, rev)
VALUES (?, ?, ?, ?, ?, (SELECT version FROM sites WHERE slug = ?))
ON CONFLICT (site, id) DO UPDATE SET
  published_ms = excluded.published_ms, updated_ms = excluded.updated_ms, data = excluded.data, rev = excluded.rev`,
  deleteTerms: "DELETE FROM article_terms WHERE site = ? AND id = ?",
  /** All of an article's terms in one statement: the last argument is a JSON array of [kind, name]. */
  insertTerms: `INSERT INTO article_terms (site, kind, name, published_ms, id)
SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?, ? FROM json_each(?)`,
  deleteArticle: "DELETE FROM articles WHERE site = ? AND id = ?",
  /** Count, newest and sum of the revisions in [from, to): from the timeline index alone. */
  rangeFingerprint: `SELECT count(*) AS n, coalesce(max(rev), 0) AS max_rev, coalesce(sum(rev), 0) AS sum_rev
FROM articles WHERE site = ? AND published_ms >= ? AND published_ms < ?`,

  /** Selected from sites, so that a site deleted in the meantime gets no orphan tombstone. */
  upsertTombstone: `INSERT INTO tombstones (site, id, published_at, deleted_at, deleted_ms)
SELECT slug, ?, ?, ?, ? FROM sites WHERE slug = ?
ON CONFLICT (site, id) DO UPDATE SET
  published_at = excluded.published_at, deleted_at = excluded.deleted_at, deleted_ms = excluded.deleted_ms`,
  deleteTombstone: "DELETE FROM tombstones WHERE site = ? AND id = ?",
  listTombstones: `SELECT id, published_at, deleted_at FROM tombstones
WHERE site = ? AND deleted_ms >= ?
ORDER BY deleted_ms DESC, id DESC LIMIT ?`,
  pruneTombstones: "DELETE FROM tombstones WHERE site = ? AND deleted_ms < ?",

  /**
   * Claims a webhook id: inserts a claim, or takes over one still unfinished after
   * `staleAfterMs`; a finished or fresh record is left alone (0 changes). Nothing is inserted
   * for an unknown site. Arguments: webhook id, body hash, now ms, site, stale-after ms.
   */
  claimWebhook: `INSERT INTO webhooks (site, webhook_id, body_hash, claimed_ms)
SELECT slug, ?, ?, ? FROM sites WHERE slug = ?
ON CONFLICT (site, webhook_id) DO UPDATE SET body_hash = excluded.body_hash, claimed_ms = excluded.claimed_ms
WHERE webhooks.completed_ms IS NULL AND excluded.claimed_ms - webhooks.claimed_ms >= ?`,
  getWebhook: "SELECT body_hash, status, response, completed_ms FROM webhooks WHERE site = ? AND webhook_id = ?",
  completeWebhook: "UPDATE webhooks SET status = ?, response = ?, completed_ms = ? WHERE site = ? AND webhook_id = ?",
  releaseWebhook: "DELETE FROM webhooks WHERE site = ? AND webhook_id = ? AND completed_ms IS NULL",
  pruneWebhooks: "DELETE FROM webhooks WHERE coalesce(completed_ms, claimed_ms) < ?",
} as const;

/** How often a guarded write is decided again after losing a race, before giving up. */
const MAX_ATTEMPTS = 5;

function stmt(sql: string, ...args: SqlValue[]): Statement {
  return { sql, args };
}

function str(row: Row, column: string): string {
  const v = row[column];
  if (typeof v !== "string") throw new TypeError(`column ${column} is not text`);
  return v;
}

function num(row: Row, column: string): number {
  const v = row[column];
  if (typeof v !== "number") throw new TypeError(`column ${column} is not a number`);
  return v;
}

function siteRecord(row: Row): SiteRecord {
  return {
    site: JSON.parse(str(row, "data")) as Site,
    version: num(row, "version"),
    modified_at: str(row, "modified_at"),
    credentials: JSON.parse(str(row, "credentials")) as Credential[],
  };
}


/** An article's distinct terms: its categories, tags and author names. */
function termsOf(article: Article): Array<["category" | "tag" | "author", string]> {
  const out: Array<["category" | "tag" | "author", string]> = [];
  for (const name of new Set(article.categories)) out.push(["category", name]);
  for (const name of new Set(article.tags)) out.push(["tag", name]);
  for (const name of new Set(article.authors.map((a) => a.name))) out.push(["author", name]);
  return out;
}

function changes(results: BatchResult[], index: number): number {
  const r = results[index];
  if (!r) throw new Error(`batch answered ${results.length} results, expected at least ${index + 1}`);
  return r.changes;
}

/** What a guarded write decided: its answer, and the batch that makes it true (none: nothing to write). */
interface Plan<R> {
  result: R;
  statements?: Statement[];
}

/** The state a guarded write depends on: whether the site exists and the article's revision. */
function revisionOf(state: Row | undefined): string {
  if (!state) return "no site";
  const rev = state.rev;
  return rev === null || rev === undefined ? "no article" : `rev ${String(rev)}`;
}

export function createSqlStore(engine: SqlEngine): Store {
  let closed = false;

  function open(): void {
    if (closed) throw new StoreUnavailableError("store is closed");
  }

  async function all(sql: string, ...args: SqlValue[]): Promise<Row[]> {
    open();
    return engine.all(stmt(sql, ...args));
  }

  async function first(sql: string, ...args: SqlValue[]): Promise<Row | undefined> {
    return (await all(sql, ...args))[0];
  }

  async function batch(statements: Statement[], options?: { relaxed?: boolean }): Promise<BatchResult[]> {
    open();
    return engine.batch(statements, options);
  }

  /**
   * Read, decide, write one guarded batch whose first statement is the guard; decide again
   * when another writer changed the state in between (see the comment at the top).
   */
  async function guarded<R>(read: () => Promise<Row | undefined>, decide: (state: Row | undefined) => Plan<R>): Promise<R> {
    let state = await read();
    for (let attempt = 1; ; attempt++) {
      const plan = decide(state);
      if (!plan.statements) return plan.result;
      try {
        const results = await batch(plan.statements);
        // The guard updated no row: the site was deleted after the read.
        if (changes(results, 0) === 1) return plan.result;
        state = await read();
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
        const again = await read();
        if (revisionOf(again) === revisionOf(state)) throw err;
        state = again;
      }
      if (attempt >= (engine.maxWriteAttempts ?? MAX_ATTEMPTS)) {
        throw new StoreUnavailableError(`write lost ${attempt} races in a row to other writers of the same article`);
      }
    }
  }

  function page(rows: Row[], limit: number): ArticlePage {
    const items = rows.slice(0, limit).map((r) => JSON.parse(str(r, "data")) as Article);
    const last = items[items.length - 1];
    if (rows.length > limit && last) return { items, next: { published_at: last.published_at, id: last.id } };
    return { items };
  }

  return {
    async getSite(slug: string): Promise<SiteRecord | undefined> {
      const row = await first(SQL.getSite, slug);
      return row ? siteRecord(row) : undefined;
    },

    async getSiteVersion(slug: string): Promise<SiteVersion | undefined> {
      const row = await first(SQL.getSiteVersion, slug);
      return row ? { version: num(row, "version"), modified_at: str(row, "modified_at") } : undefined;
    },

    async createSite(record: SiteRecord): Promise<boolean> {
      const results = await batch([
        stmt(
          SQL.createSite,
          record.site.slug,
          JSON.stringify(record.site),
          record.version,
          record.modified_at,
          JSON.stringify(record.credentials),
        ),
      ]);
      return changes(results, 0) === 1;
    },

    async updateSite(slug: string, site: Site, now: string): Promise<SiteRecord | undefined> {
      if (site.slug !== slug) throw new Error(`site.slug ${site.slug} does not match ${slug}`);
      const results = await batch([stmt(SQL.updateSite, JSON.stringify(site), now, slug), stmt(SQL.getSite, slug)]);
      const row = results[1]?.rows[0];
      return changes(results, 0) === 1 && row ? siteRecord(row) : undefined;
    },

    async setCredentials(slug: string, credentials: Credential[]): Promise<boolean> {
      const results = await batch([stmt(SQL.setCredentials, JSON.stringify(credentials), slug)]);
      return changes(results, 0) === 1;
    },

    async deleteSite(slug: string): Promise<boolean> {
      const results = await batch([
        stmt(SQL.deleteSiteTerms, slug),
        stmt(SQL.deleteSiteArticles, slug),
        stmt(SQL.deleteSiteTombstones, slug),
        stmt(SQL.deleteSiteWebhooks, slug),
        stmt(SQL.deleteSite, slug),
      ]);
      return changes(results, 4) === 1;
    },

    async getArticle(slug: string, id: string): Promise<Article | undefined> {
      const row = await first(SQL.getArticle, slug, id);
      return row ? (JSON.parse(str(row, "data")) as Article) : undefined;
    },

    async putArticle(slug: string, article: Article, now: string): Promise<PutResult> {
      const publishedMs = instant(article.published_at, "published_at");
      const updatedMs = instant(article.updated_at, "updated_at");
      const data = JSON.stringify(article);
      const terms = termsOf(article);
      return guarded(
        () => first(SQL.putState, article.id, slug),
        (state): Plan<PutResult> => {
          if (!state) throw new Error(`unknown site: ${slug}`);
          const stored = state.data;
          if (typeof stored === "string") {
            const storedMs = num(state, "updated_ms");
            if (storedMs > updatedMs) return { result: { outcome: "stale", article: JSON.parse(stored) as Article } };
            if (storedMs === updatedMs && stored === data) {
              return { result: { outcome: "unchanged", article: JSON.parse(stored) as Article } };
            }
          }
          const created = typeof stored !== "string";
          const statements = [
            stmt(SQL.guardArticle, slug, article.id, created ? null : num(state, "rev"), now, slug),
            stmt(SQL.upsertArticle, slug, article.id, publishedMs, updatedMs, data, slug),
          ];
          if (!created) statements.push(stmt(SQL.deleteTerms, slug, article.id));
          if (terms.length > 0) statements.push(stmt(SQL.insertTerms, slug, publishedMs, article.id, JSON.stringify(terms)));
          // Publishing a deleted id again: it is no longer deleted.
          if (created) statements.push(stmt(SQL.deleteTombstone, slug, article.id));
          return {
            result: { outcome: created ? "created" : "updated", article: JSON.parse(data) as Article },
            statements,
          };
        },
      );
    },

    async deleteArticle(slug: string, id: string, now: string): Promise<boolean> {
      const nowMs = instant(now, "now");
      return guarded(
        () => first(SQL.deleteState, id, slug),
        (state): Plan<boolean> => {
          if (!state) throw new Error(`unknown site: ${slug}`);
          if (state.rev === null || state.rev === undefined) return { result: false };
          return {
            result: true,
            statements: [
              stmt(SQL.guardArticle, slug, id, num(state, "rev"), now, slug),
              stmt(SQL.upsertTombstone, id, str(state, "published_at"), now, nowMs, slug),
              stmt(SQL.deleteTerms, slug, id),
              stmt(SQL.deleteArticle, slug, id),
            ],
          };
        },
      );
    },

    async listArticles(slug: string, query: ArticleQuery): Promise<ArticlePage> {
      checkLimit(query.limit);
      const { filter, before, notBefore } = query;
      const args: SqlValue[] = [slug];
      if (filter.kind !== "all") args.push(filter.kind, filter.name.normalize("NFC"));
      if (notBefore !== undefined) args.push(instant(notBefore, "notBefore"));
      if (before) args.push(instant(before.published_at, "cursor published_at"), before.id);
      args.push(query.limit + 1);
      const since = notBefore !== undefined;
      const sql =
        filter.kind === "all"
          ? since
            ? before
              ? FEED_SQL.allSinceBefore
              : FEED_SQL.allSince
            : before
              ? FEED_SQL.allBefore
              : FEED_SQL.all
          : since
            ? before
              ? FEED_SQL.termSinceBefore
              : FEED_SQL.termSince
            : before
              ? FEED_SQL.termBefore
              : FEED_SQL.term;
      return page(await all(sql, ...args), query.limit);
    },

    async rangeFingerprint(slug: string, range: { from: string; to: string }): Promise<string> {
      const fromMs = instant(range.from, "from");
      const toMs = instant(range.to, "to");
      const row = await first(SQL.rangeFingerprint, slug, fromMs, toMs);
      if (!row) throw new Error("an aggregate query answered no row");
      return `${num(row, "n")}:${num(row, "max_rev")}:${num(row, "sum_rev")}`;
    },

    async listTombstones(slug: string, query: { since: string; limit: number }): Promise<Tombstone[]> {
      if (!Number.isInteger(query.limit) || query.limit < 1) {
        throw new RangeError(`limit must be a positive integer, got ${query.limit}`);
      }
      const rows = await all(SQL.listTombstones, slug, instant(query.since, "since"), query.limit);
      return rows.map((r) => ({ id: str(r, "id"), published_at: str(r, "published_at"), deleted_at: str(r, "deleted_at") }));
    },

    async pruneTombstones(slug: string, olderThan: string): Promise<number> {
      const limitMs = instant(olderThan, "olderThan");
      return changes(await batch([stmt(SQL.pruneTombstones, slug, limitMs)]), 0);
    },

    async claimWebhook(
      slug: string,
      webhookId: string,
      bodyHash: string,
      now: string,
      staleAfterMs: number,
    ): Promise<WebhookClaim> {
      const nowMs = instant(now, "now");
      // Relaxed: a claim lost to power failure only belonged to a request that got no answer.
      const results = await batch(
        [stmt(SQL.claimWebhook, webhookId, bodyHash, nowMs, slug, staleAfterMs), stmt(SQL.getWebhook, slug, webhookId)],
        { relaxed: true },
      );
      if (changes(results, 0) === 1) return { state: "claimed" };
      const row = results[1]?.rows[0];
      if (!row) throw new Error(`unknown site: ${slug}`);
      if (row.completed_ms !== null) {
        return {
          state: "done",
          body_hash: str(row, "body_hash"),
          response: { status: num(row, "status"), body: str(row, "response") },
        };
      }
      return { state: "in_flight", body_hash: str(row, "body_hash") };
    },

    async completeWebhook(slug: string, webhookId: string, response: WebhookResponse, now: string): Promise<void> {
      const nowMs = instant(now, "now");
      // Relaxed: the article write before it was durable; if power fails before the next durable
      // write, a retry finds the claim open, re-applies the same article (answered 200, unchanged).
      await batch([stmt(SQL.completeWebhook, response.status, response.body, nowMs, slug, webhookId)], { relaxed: true });
    },

    async releaseWebhook(slug: string, webhookId: string): Promise<void> {
      await batch([stmt(SQL.releaseWebhook, slug, webhookId)]);
    },

    async pruneWebhooks(olderThan: string): Promise<number> {
      const limitMs = instant(olderThan, "olderThan");
      return changes(await batch([stmt(SQL.pruneWebhooks, limitMs)]), 0);
    },

    async ping(): Promise<void> {
      const row = await first(SQL.ping);
      if (row?.ok !== 1) throw new StoreUnavailableError("the database did not answer SELECT 1");
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await engine.close();
    },
  };
}
