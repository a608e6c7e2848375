// The SQLite store (node:sqlite, Node 24): one file, WAL, every write one IMMEDIATE
// transaction. Feeds are keyset pages read through an index in feed order, so a page costs
// O(limit) whatever its depth (see FEED_SQL and the EXPLAIN QUERY PLAN test).

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { toMs } from "../core/dates.ts";
import type { Article, Site } from "../core/model.ts";
import { migrations as allMigrations, SCHEMA_MIGRATIONS_SQL, type Migration } from "./migrations.ts";
import {
  StoreUnavailableError,
  type ArticlePage,
  type ArticleQuery,
  type Credential,
  type PutResult,
  type SiteRecord,
  type SiteVersion,
  type Store,
  type WebhookClaim,
  type WebhookResponse,
} from "./port.ts";

export interface SqliteStoreOptions {
  /** The database file (its folder is created when missing), or `:memory:`. */
  path: string;
  /** How long a write waits for another connection's lock before failing; default 5000. */
  busyTimeoutMs?: number;
  /** For tests of the migration runner; defaults to the real list. */
  migrations?: readonly Migration[];
}

/**
 * SQLite result codes (primary, `errcode & 0xff`) that mean the engine cannot answer now,
 * rather than that the request is wrong: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL,
 * CANTOPEN, PROTOCOL. They become StoreUnavailableError (503 + Retry-After).
 */
const UNAVAILABLE_CODES = new Set([5, 6, 7, 8, 10, 13, 14, 15]);

function translate(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (err instanceof Error && "errcode" in err && typeof err.errcode === "number") {
    if (UNAVAILABLE_CODES.has(err.errcode & 0xff)) {
      return new StoreUnavailableError(`SQLite: ${err.message}`, { cause: err });
    }
  }
  return err;
}

function rollback(db: DatabaseSync): void {
  try {
    if (db.isTransaction) db.exec("ROLLBACK");
  } catch {
    // The original error is the one worth reporting; SQLite may have rolled back already.
  }
}

/**
 * The feed queries. `(published_ms, id) < (?, ?)` is a row-value range constraint the
 * planner seeks on (`SEARCH … (site=? AND (published_ms,id)<(?,?))`); the equivalent
 * `published_ms < ? OR (published_ms = ? AND id < ?)` only seeks on `site=?` and then
 * walks every newer row, which would make deep pages O(offset).
 */
export const FEED_SQL = {
  all: `SELECT data FROM articles
WHERE site = ?
ORDER BY published_ms DESC, id DESC LIMIT ?`,
  allBefore: `SELECT data FROM articles
WHERE site = ? AND (published_ms, id) < (?, ?)
ORDER BY published_ms DESC, id DESC LIMIT ?`,
  term: `SELECT a.data FROM article_terms AS t
JOIN articles AS a ON a.site = t.site AND a.id = t.id
WHERE t.site = ? AND t.kind = ? AND t.name = ?
ORDER BY t.published_ms DESC, t.id DESC LIMIT ?`,
  termBefore: `SELECT a.data FROM article_terms AS t
JOIN articles AS a ON a.site = t.site AND a.id = t.id
WHERE t.site = ? AND t.kind = ? AND t.name = ? AND (t.published_ms, t.id) < (?, ?)
ORDER BY t.published_ms DESC, t.id DESC LIMIT ?`,
} as const;

type Row = Record<string, unknown>;

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

function instant(value: string, what: string): number {
  const ms = toMs(value);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not a timestamp: ${JSON.stringify(value)}`);
  return ms;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new RangeError(`limit must be an integer from 1 to 100, got ${limit}`);
  }
}

/** An article's distinct terms: its categories, tags and author names. */
function termsOf(article: Article): Array<["category" | "tag" | "author", string]> {
  const out: Array<["category" | "tag" | "author", string]> = [];
  for (const name of new Set(article.categories)) out.push(["category", name]);
  for (const name of new Set(article.tags)) out.push(["tag", name]);
  for (const name of new Set(article.authors.map((a) => a.name))) out.push(["author", name]);
  return out;
}

/** Applies the pending migrations in one IMMEDIATE transaction; returns the versions applied. */
export function migrate(db: DatabaseSync, list: readonly Migration[] = allMigrations): number[] {
  let previous = 0;
  for (const m of list) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new Error(`migration versions must increase: ${m.version} after ${previous}`);
    }
    previous = m.version;
  }
  db.exec(SCHEMA_MIGRATIONS_SQL);
  db.exec("BEGIN IMMEDIATE");
  try {
    const rows = db.prepare("SELECT version FROM schema_migrations").all() as Row[];
    const applied = new Set(rows.map((r) => num(r, "version")));
    const newest = Math.max(0, ...applied);
    if (newest > previous) {
      throw new Error(`database schema version ${newest} is newer than this code knows (${previous})`);
    }
    const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    const done: number[] = [];
    for (const m of list) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      done.push(m.version);
    }
    db.exec("COMMIT");
    return done;
  } catch (err) {
    rollback(db);
    throw err;
  }
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const inMemory = options.path === ":memory:";
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError("busyTimeoutMs must be an integer >= 0");
  let db: DatabaseSync;
  try {
    if (!inMemory) mkdirSync(dirname(options.path), { recursive: true });
    db = new DatabaseSync(options.path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  } catch (err) {
    throw translate(err);
  }
  try {
    // busy_timeout first: switching to WAL and migrating may wait for another process.
    db.exec(`PRAGMA busy_timeout=${busyTimeoutMs}`);
    const mode = db.prepare("PRAGMA journal_mode=WAL").get() as Row | undefined;
    if (!inMemory && mode?.journal_mode !== "wal") {
      throw new Error(`could not switch ${options.path} to WAL (journal_mode=${String(mode?.journal_mode)})`);
    }
    // FULL: an acknowledged write survives power loss, not only a crash of the process.
    db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
    migrate(db, options.migrations);
  } catch (err) {
    db.close();
    throw translate(err);
  }

  const prepare = (sql: string): StatementSync => db.prepare(sql);
  const q = {
    ping: prepare("SELECT 1 AS ok"),
    getSite: prepare("SELECT data, version, modified_at, credentials FROM sites WHERE slug = ?"),
    getSiteVersion: prepare("SELECT version, modified_at FROM sites WHERE slug = ?"),
    createSite: prepare(
      `INSERT INTO sites (slug, data, version, modified_at, credentials) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (slug) DO NOTHING`,
    ),
    updateSite: prepare(
      "UPDATE sites SET data = ?, version = version + 1, modified_at = ? WHERE slug = ?",
    ),
    setCredentials: prepare("UPDATE sites SET credentials = ? WHERE slug = ?"),
    bump: prepare("UPDATE sites SET version = version + 1, modified_at = ? WHERE slug = ?"),
    siteExists: prepare("SELECT 1 AS ok FROM sites WHERE slug = ?"),
    deleteSiteTerms: prepare("DELETE FROM article_terms WHERE site = ?"),
    deleteSiteArticles: prepare("DELETE FROM articles WHERE site = ?"),
    deleteSiteWebhooks: prepare("DELETE FROM webhooks WHERE site = ?"),
    deleteSite: prepare("DELETE FROM sites WHERE slug = ?"),

    getArticle: prepare("SELECT data FROM articles WHERE site = ? AND id = ?"),
    getStored: prepare("SELECT updated_ms, data FROM articles WHERE site = ? AND id = ?"),
    upsertArticle: prepare(
      `INSERT INTO articles (site, id, published_ms, updated_ms, data) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (site, id) DO UPDATE SET
  published_ms = excluded.published_ms, updated_ms = excluded.updated_ms, data = excluded.data`,
    ),
    deleteTerms: prepare("DELETE FROM article_terms WHERE site = ? AND id = ?"),
    insertTerm: prepare(
      "INSERT INTO article_terms (site, kind, name, published_ms, id) VALUES (?, ?, ?, ?, ?)",
    ),
    deleteArticle: prepare("DELETE FROM articles WHERE site = ? AND id = ?"),
    feedAll: prepare(FEED_SQL.all),
    feedAllBefore: prepare(FEED_SQL.allBefore),
    feedTerm: prepare(FEED_SQL.term),
    feedTermBefore: prepare(FEED_SQL.termBefore),

    getWebhook: prepare(
      "SELECT body_hash, status, response, claimed_ms, completed_ms FROM webhooks WHERE site = ? AND webhook_id = ?",
    ),
    insertWebhook: prepare(
      "INSERT INTO webhooks (site, webhook_id, body_hash, claimed_ms) VALUES (?, ?, ?, ?)",
    ),
    reclaimWebhook: prepare(
      `UPDATE webhooks SET body_hash = ?, claimed_ms = ?
WHERE site = ? AND webhook_id = ? AND completed_ms IS NULL`,
    ),
    completeWebhook: prepare(
      "UPDATE webhooks SET status = ?, response = ?, completed_ms = ? WHERE site = ? AND webhook_id = ?",
    ),
    releaseWebhook: prepare(
      "DELETE FROM webhooks WHERE site = ? AND webhook_id = ? AND completed_ms IS NULL",
    ),
    pruneWebhooks: prepare("DELETE FROM webhooks WHERE coalesce(completed_ms, claimed_ms) < ?"),
  };

  let closed = false;

  /** Runs a read (one statement, so one consistent snapshot). */
  function read<T>(fn: () => T): T {
    if (closed) throw new StoreUnavailableError("store is closed");
    try {
      return fn();
    } catch (err) {
      throw translate(err);
    }
  }

  /** Runs `fn` as one IMMEDIATE transaction: all of it is committed, or none. */
  function write<T>(fn: () => T): T {
    if (closed) throw new StoreUnavailableError("store is closed");
    try {
      db.exec("BEGIN IMMEDIATE");
      const result = fn();
      db.exec("COMMIT");
      return result;
    } catch (err) {
      rollback(db);
      throw translate(err);
    }
  }

  function requireSite(slug: string): void {
    if (!q.siteExists.get(slug)) throw new Error(`unknown site: ${slug}`);
  }

  function page(rows: Row[], limit: number): ArticlePage {
    const items = rows.slice(0, limit).map((r) => JSON.parse(str(r, "data")) as Article);
    const last = items[items.length - 1];
    if (rows.length > limit && last) return { items, next: { published_at: last.published_at, id: last.id } };
    return { items };
  }

  return {
    async getSite(slug: string): Promise<SiteRecord | undefined> {
      const row = read(() => q.getSite.get(slug) as Row | undefined);
      return row ? siteRecord(row) : undefined;
    },

    async getSiteVersion(slug: string): Promise<SiteVersion | undefined> {
      const row = read(() => q.getSiteVersion.get(slug) as Row | undefined);
      return row ? { version: num(row, "version"), modified_at: str(row, "modified_at") } : undefined;
    },

    async createSite(record: SiteRecord): Promise<boolean> {
      return write(() => {
        const r = q.createSite.run(
          record.site.slug,
          JSON.stringify(record.site),
          record.version,
          record.modified_at,
          JSON.stringify(record.credentials),
        );
        return Number(r.changes) === 1;
      });
    },

    async updateSite(slug: string, site: Site, now: string): Promise<SiteRecord | undefined> {
      if (site.slug !== slug) throw new Error(`site.slug ${site.slug} does not match ${slug}`);
      return write(() => {
        if (Number(q.updateSite.run(JSON.stringify(site), now, slug).changes) === 0) return undefined;
        return siteRecord(q.getSite.get(slug) as Row);
      });
    },

    async setCredentials(slug: string, credentials: Credential[]): Promise<boolean> {
      return write(() => Number(q.setCredentials.run(JSON.stringify(credentials), slug).changes) === 1);
    },

    async deleteSite(slug: string): Promise<boolean> {
      return write(() => {
        q.deleteSiteTerms.run(slug);
        q.deleteSiteArticles.run(slug);
        q.deleteSiteWebhooks.run(slug);
        return Number(q.deleteSite.run(slug).changes) === 1;
      });
    },

    async getArticle(slug: string, id: string): Promise<Article | undefined> {
      const row = read(() => q.getArticle.get(slug, id) as Row | undefined);
      return row ? (JSON.parse(str(row, "data")) as Article) : undefined;
    },

    async putArticle(slug: string, article: Article, now: string): Promise<PutResult> {
      const publishedMs = instant(article.published_at, "published_at");
      const updatedMs = instant(article.updated_at, "updated_at");
      const data = JSON.stringify(article);
      return write((): PutResult => {
        requireSite(slug);
        const stored = q.getStored.get(slug, article.id) as Row | undefined;
        if (stored) {
          const storedMs = num(stored, "updated_ms");
          const storedData = str(stored, "data");
          if (storedMs > updatedMs) return { outcome: "stale", article: JSON.parse(storedData) as Article };
          if (storedMs === updatedMs && storedData === data) {
            return { outcome: "unchanged", article: JSON.parse(storedData) as Article };
          }
        }
        q.upsertArticle.run(slug, article.id, publishedMs, updatedMs, data);
        q.deleteTerms.run(slug, article.id);
        for (const [kind, name] of termsOf(article)) q.insertTerm.run(slug, kind, name, publishedMs, article.id);
        q.bump.run(now, slug);
        return { outcome: stored ? "updated" : "created", article: JSON.parse(data) as Article };
      });
    },

    async deleteArticle(slug: string, id: string, now: string): Promise<boolean> {
      return write(() => {
        requireSite(slug);
        q.deleteTerms.run(slug, id);
        if (Number(q.deleteArticle.run(slug, id).changes) === 0) return false;
        q.bump.run(now, slug);
        return true;
      });
    },

    async listArticles(slug: string, query: ArticleQuery): Promise<ArticlePage> {
      checkLimit(query.limit);
      const { filter, before } = query;
      const fetch = query.limit + 1;
      const args: SQLInputValue[] = [slug];
      if (filter.kind !== "all") args.push(filter.kind, filter.name.normalize("NFC"));
      if (before) args.push(instant(before.published_at, "cursor published_at"), before.id);
      args.push(fetch);
      const stmt =
        filter.kind === "all"
          ? before
            ? q.feedAllBefore
            : q.feedAll
          : before
            ? q.feedTermBefore
            : q.feedTerm;
      return page(read(() => stmt.all(...args) as Row[]), query.limit);
    },

    async claimWebhook(
      slug: string,
      webhookId: string,
      bodyHash: string,
      now: string,
      staleAfterMs: number,
    ): Promise<WebhookClaim> {
      const nowMs = instant(now, "now");
      return write((): WebhookClaim => {
        requireSite(slug);
        const row = q.getWebhook.get(slug, webhookId) as Row | undefined;
        if (!row) {
          q.insertWebhook.run(slug, webhookId, bodyHash, nowMs);
          return { state: "claimed" };
        }
        if (row.completed_ms !== null) {
          return {
            state: "done",
            body_hash: str(row, "body_hash"),
            response: { status: num(row, "status"), body: str(row, "response") },
          };
        }
        if (nowMs - num(row, "claimed_ms") < staleAfterMs) {
          return { state: "in_flight", body_hash: str(row, "body_hash") };
        }
        q.reclaimWebhook.run(bodyHash, nowMs, slug, webhookId);
        return { state: "claimed" };
      });
    },

    async completeWebhook(slug: string, webhookId: string, response: WebhookResponse, now: string): Promise<void> {
      const nowMs = instant(now, "now");
      write(() => q.completeWebhook.run(response.status, response.body, nowMs, slug, webhookId));
    },

    async releaseWebhook(slug: string, webhookId: string): Promise<void> {
      write(() => q.releaseWebhook.run(slug, webhookId));
    },

    async pruneWebhooks(olderThan: string): Promise<number> {
      const limitMs = instant(olderThan, "olderThan");
      return write(() => Number(q.pruneWebhooks.run(limitMs).changes));
    },

    async rangeFingerprint() {
      throw new Error("rangeFingerprint: not implemented yet");
    },
    async listTombstones() {
      throw new Error("listTombstones: not implemented yet");
    },
    async pruneTombstones() {
      throw new Error("pruneTombstones: not implemented yet");
    },
    async ping(): Promise<void> {
      const row = read(() => q.ping.get() as Row | undefined);
      if (row?.ok !== 1) throw new StoreUnavailableError("SQLite did not answer SELECT 1");
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
