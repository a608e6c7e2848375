// The store port: the one interface every engine adapter (memory, sqlite, d1, dynamodb) implements.
// Times are passed in as UTC RFC 3339 strings (the clock lives outside the store).

import type { Article, Cursor, FeedFilter, Site, Tombstone } from "../core/model.ts";

/** One generation of publisher credentials. Rotation keeps the previous one until `expires_at`. */
export interface Credential {
  /** Lowercase hex SHA-256 of the API key: the key itself is never stored. */
  api_key_hash: string;
  /** `whsec_…`: kept as sent, since HMAC verification needs the secret itself. */
  webhook_secret: string;
  created_at: string;
  /** Set when rotated out; the credential is refused after this instant. */
  expires_at?: string;
}

export interface SiteRecord {
  site: Site;
  /** Bumped by every write to the site or any of its articles; feeds are cached by it. */
  version: number;
  /** When `version` last changed (the Last-Modified of every feed of the site). */
  modified_at: string;
  credentials: Credential[];
}

/** The cheap point read a conditional GET needs: never touches articles. */
export interface SiteVersion {
  version: number;
  modified_at: string;
}

export type { Cursor };

export interface ArticleQuery {
  filter: FeedFilter;
  /** 1–100 */
  limit: number;
  before?: Cursor;
  /** Only articles published at or after this instant (the start of an archive month). */
  notBefore?: string;
}

export type { Tombstone };

export interface ArticlePage {
  items: Article[];
  /** Set when older articles exist: pass it as `before` for the next page. */
  next?: Cursor;
}

export type PutOutcome =
  /** A new article (also after an earlier delete). */
  | "created"
  /** An existing article was replaced. */
  | "updated"
  /** Same updated_at and identical content: nothing written, version not bumped. */
  | "unchanged"
  /** The stored updated_at is newer: nothing written; `article` is the stored one. */
  | "stale";

export interface PutResult {
  outcome: PutOutcome;
  /** The article as stored after the call. */
  article: Article;
}

/** A stored webhook response, replayed for the same webhook-id and body. */
export interface WebhookResponse {
  status: number;
  body: string;
}

export type WebhookClaim =
  /** Ours now: process it, then complete or release it. */
  | { state: "claimed" }
  /** Another request holds it and has not finished. */
  | { state: "in_flight"; body_hash: string }
  /** Finished before: replay the response (when the body hash matches). */
  | { state: "done"; body_hash: string; response: WebhookResponse };

export interface Store {
  getSite(slug: string): Promise<SiteRecord | undefined>;
  getSiteVersion(slug: string): Promise<SiteVersion | undefined>;
  /** Conditional create: false (and nothing written) when the slug exists. */
  createSite(record: SiteRecord): Promise<boolean>;
  /** Replaces the settings and bumps the version; undefined when the site does not exist. */
  updateSite(slug: string, site: Site, now: string): Promise<SiteRecord | undefined>;
  /** Replaces the credential list (rotation; feeds do not change, so the version does not); false when the site does not exist. */
  setCredentials(slug: string, credentials: Credential[]): Promise<boolean>;
  /** Removes the site, its articles, indexes, tombstones and webhook records. */
  deleteSite(slug: string): Promise<boolean>;

  getArticle(slug: string, id: string): Promise<Article | undefined>;
  /**
   * Atomic upsert by id. A stored article with a newer updated_at wins ("stale"). Any change
   * bumps the site version in the same atomic step.
   */
  putArticle(slug: string, article: Article, now: string): Promise<PutResult>;
  /** Removes the article and its index entries, leaves a tombstone, bumps the version; false when unknown. */
  deleteArticle(slug: string, id: string, now: string): Promise<boolean>;
  /** Newest first by (published_at, id). Cost is O(limit), never O(articles). */
  listArticles(slug: string, query: ArticleQuery): Promise<ArticlePage>;
  /**
   * A short opaque string that changes whenever an article published in [from, to) is created,
   * written, deleted, or moves in or out of the range, and only then. Every write stamps the
   * article with the new site version (its revision); the fingerprint is built from the count
   * and revisions of the range's index entries, never from article bodies.
   */
  rangeFingerprint(slug: string, range: { from: string; to: string }): Promise<string>;

  /**
   * Tombstones left by deleteArticle (publishing the id again removes its tombstone), with
   * deleted_at >= since, most recent deletion first (ties by id descending), at most `limit`.
   */
  listTombstones(slug: string, query: { since: string; limit: number }): Promise<Tombstone[]>;
  /**
   * Drops the site's tombstones deleted before `olderThan`; returns how many. Not a site write (no
   * version bump): the caller prunes only what no feed of the site can list any more.
   */
  pruneTombstones(slug: string, olderThan: string): Promise<number>;

  /**
   * Conditional insert of a replay record. A record still in flight after `staleAfterMs`
   * (its request died) is taken over and claimed again.
   */
  claimWebhook(slug: string, webhookId: string, bodyHash: string, now: string, staleAfterMs: number): Promise<WebhookClaim>;
  /** Stores the response of a successful request (no-op without a claim); kept until pruned. */
  completeWebhook(slug: string, webhookId: string, response: WebhookResponse, now: string): Promise<void>;
  /** Forgets a claim whose request failed, so that a retry is processed afresh. */
  releaseWebhook(slug: string, webhookId: string): Promise<void>;
  /** Drops replay records (finished or abandoned) older than `olderThan`; returns how many. */
  pruneWebhooks(olderThan: string): Promise<number>;

  /** Throws when the engine does not answer (health check). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by adapters when the engine does not answer or times out (answered 503 + Retry-After). */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}
