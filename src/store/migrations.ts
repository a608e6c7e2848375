// The SQL schema as an ordered list of versioned migrations, shared by every SQL engine: the
// SQLite store applies it at open; Cloudflare D1 gets it as migrations/NNNN_name.sql, which
// scripts/write-d1-migrations.ts writes from this list for `wrangler d1 migrations apply` (run
// it after adding a migration; a test fails while those files are stale). Each `sql` is plain
// DDL: no BEGIN/COMMIT and no PRAGMA, since D1 refuses both; the runner wraps pending migrations
// in its own transaction and records each version in `schema_migrations`. Never edit a
// released migration: append.

export interface Migration {
  /** Strictly increasing, starting at 1. */
  version: number;
  name: string;
  sql: string;
}

/** Created by the runner before any migration; not itself a migration. */
export const SCHEMA_MIGRATIONS_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
-- One row per site. data: the Site as JSON; credentials: Credential[] as JSON.
CREATE TABLE sites (
  slug TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL,
  version INTEGER NOT NULL,
  modified_at TEXT NOT NULL,
  credentials TEXT NOT NULL
) WITHOUT ROWID;

-- One row per article. published_ms/updated_ms: the instants in Unix milliseconds, so that
-- ordering never depends on how a timestamp is spelled. data: the Article as JSON.
CREATE TABLE articles (
  site TEXT NOT NULL REFERENCES sites (slug),
  id TEXT NOT NULL,
  published_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (site, id)
) WITHOUT ROWID;

-- The feed order: keyset pages seek straight to (published_ms, id) < cursor.
CREATE INDEX articles_feed ON articles (site, published_ms DESC, id DESC);

-- The filtered feeds: one row per distinct (kind, name) of an article, in feed order.
CREATE TABLE article_terms (
  site TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('category', 'tag', 'author')),
  name TEXT NOT NULL,
  published_ms INTEGER NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (site, kind, name, published_ms, id),
  FOREIGN KEY (site, id) REFERENCES articles (site, id)
) WITHOUT ROWID;

-- Finds an article's terms when it is replaced or deleted.
CREATE INDEX article_terms_article ON article_terms (site, id);

-- Webhook replay records: a claim (completed_ms NULL) or a finished response.
CREATE TABLE webhooks (
  site TEXT NOT NULL REFERENCES sites (slug),
  webhook_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  status INTEGER,
  response TEXT,
  claimed_ms INTEGER NOT NULL,
  completed_ms INTEGER,
  PRIMARY KEY (site, webhook_id)
) WITHOUT ROWID;

-- Pruning: finished records by completion time, abandoned claims by claim time.
CREATE INDEX webhooks_age ON webhooks (coalesce(completed_ms, claimed_ms));
`,
  },
  {
    version: 2,
    name: "article_revisions_and_tombstones",
    sql: `
-- Every article write stamps the row with the site version it produced: its revision. Rows
-- written before this migration all take the site's current version, which is enough: a
-- range fingerprint only has to change from here on.
ALTER TABLE articles ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET rev = (SELECT version FROM sites WHERE sites.slug = articles.site);

-- The timeline index carries rev, so a range fingerprint (count, max and sum of rev over a
-- published_ms range) is answered from the index alone, without reading a single article.
DROP INDEX articles_feed;
CREATE INDEX articles_feed ON articles (site, published_ms DESC, id DESC, rev);

-- Deleted articles, remembered for Atom's at:deleted-entry (RFC 6721). published_at and
-- deleted_at are kept as written; deleted_ms orders and prunes them.
CREATE TABLE tombstones (
  site TEXT NOT NULL REFERENCES sites (slug),
  id TEXT NOT NULL,
  published_at TEXT NOT NULL,
  deleted_at TEXT NOT NULL,
  deleted_ms INTEGER NOT NULL,
  PRIMARY KEY (site, id)
) WITHOUT ROWID;

-- A site's most recent deletions first.
CREATE INDEX tombstones_recent ON tombstones (site, deleted_ms DESC, id DESC);

-- Pruning across sites by age.
CREATE INDEX tombstones_age ON tombstones (deleted_ms);
`,
  },
  {
    version: 3,
    name: "tombstones_pruned_per_site",
    sql: `
-- Tombstones are pruned per site (each site keeps its own tombstone_days), through
-- tombstones_recent; the index by age alone served pruning across sites, which is gone.
DROP INDEX tombstones_age;
`,
  },
];
