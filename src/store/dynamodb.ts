// The DynamoDB store: one table, no transactions (dynalite has none, and none are needed).
// The design is written down in ARCHITECTURE.md ("Storage design: DynamoDB"); in short:
//
// - The site item (`SITE#{slug}` / `SITE`) holds the settings, credentials, the feed `version`,
//   a revision counter `seq` and the site's `inc`arnation. Everything else of the site lives in
//   one partition `S#{slug}#{inc}`, so a deleted and recreated site can never see leftovers.
// - An article item (`A#{id}`) is the commit point of every article write: a conditional put on
//   its previous revision (optimistic concurrency). Its `feed_pos` puts it in the `timeline` GSI.
// - Category/tag/author index entries are separate small items written BEFORE the commit and
//   stamped with the revision being committed. Readers fetch the articles by key (strongly
//   consistent) and ignore entries whose revision is not the article's: an entry written by a
//   write that lost or died is never shown, and stale entries are deleted after the commit.
// - Feeds are Query with Limit (and ExclusiveStartKey to go on), O(limit), never a Scan.
// - GSIs are eventually consistent, so the version bump also logs the write on the site item
//   (slot `l{rev mod 32}`: id, rev, position, deleted, term hashes). Every GSI read reconciles
//   with the log of the site item it read: a GSI item older than the logged write of its id is
//   skipped, and a logged article or tombstone that belongs in the window but that the GSI does
//   not show as logged is read by key. Pages answer the committed state as of that site item for
//   every write the GSI lags behind on, as long as the lag is shorter than 32 revisions.
//
// Plain AttributeValue marshalling (no lib-dynamodb): every item has a handful of attributes.

import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type QueryCommandInput,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { sha256Hex } from "../core/auth.ts";
import { formatRfc3339 } from "../core/dates.ts";
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

// ---- the table ----

/** Attribute that DynamoDB's TTL deletes by (epoch seconds): replay records and tombstones. */
export const TTL_ATTRIBUTE = "expires";

/** One GSI per access pattern. Replay records are never read through a GSI (never consistent). */
export const INDEXES = {
  /** Article items of a site, newest first: (pk, feed_pos). */
  timeline: "timeline",
  /** Category index entries: (category_pk, term_pos). */
  category: "by_category",
  /** Tag index entries: (tag_pk, term_pos). */
  tag: "by_tag",
  /** Author index entries: (author_pk, term_pos). */
  author: "by_author",
  /** Tombstones of a site, most recent deletion first: (pk, deleted_pos). */
  tombstones: "tombstones",
  /** Replay records and tombstones by age, for pruning where TTL is missing: (expiry_pk, expiry_ms). */
  expiry: "expiry",
} as const;

type TermKind = "category" | "tag" | "author";

const TERM_PK: Record<TermKind, string> = { category: "category_pk", tag: "tag_pk", author: "author_pk" };
const TERM_INDEX: Record<TermKind, string> = { category: INDEXES.category, tag: INDEXES.tag, author: INDEXES.author };
const TERM_LETTER: Record<TermKind, string> = { category: "c", tag: "t", author: "a" };

/** Everything CreateTable needs except the name; template.yaml declares the same (a test compares). */
export const TABLE_SCHEMA: Required<
  Pick<CreateTableCommandInput, "AttributeDefinitions" | "KeySchema" | "GlobalSecondaryIndexes" | "BillingMode">
> = {
  BillingMode: "PAY_PER_REQUEST",
  AttributeDefinitions: [
    { AttributeName: "pk", AttributeType: "S" },
    { AttributeName: "sk", AttributeType: "S" },
    { AttributeName: "feed_pos", AttributeType: "S" },
    { AttributeName: "term_pos", AttributeType: "S" },
    { AttributeName: "category_pk", AttributeType: "S" },
    { AttributeName: "tag_pk", AttributeType: "S" },
    { AttributeName: "author_pk", AttributeType: "S" },
    { AttributeName: "deleted_pos", AttributeType: "S" },
    { AttributeName: "expiry_pk", AttributeType: "S" },
    { AttributeName: "expiry_ms", AttributeType: "N" },
  ],
  KeySchema: [
    { AttributeName: "pk", KeyType: "HASH" },
    { AttributeName: "sk", KeyType: "RANGE" },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: INDEXES.timeline,
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "feed_pos", KeyType: "RANGE" },
      ],
      // The page is answered from the index alone: one Query per feed page.
      Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["id", "rev", "data"] },
    },
    ...(["category", "tag", "author"] as const).map((kind) => ({
      IndexName: TERM_INDEX[kind],
      KeySchema: [
        { AttributeName: TERM_PK[kind], KeyType: "HASH" as const },
        { AttributeName: "term_pos", KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "INCLUDE" as const, NonKeyAttributes: ["id", "rev"] },
    })),
    {
      IndexName: INDEXES.tombstones,
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "deleted_pos", KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["id", "published_at", "deleted_at"] },
    },
    {
      IndexName: INDEXES.expiry,
      KeySchema: [
        { AttributeName: "expiry_pk", KeyType: "HASH" },
        { AttributeName: "expiry_ms", KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "KEYS_ONLY" },
    },
  ],
};

/**
 * Creates the table with its GSIs (when missing) and waits until it is ACTIVE. For local engines
 * and tests; in AWS, template.yaml creates it (with TTL on `expires`, which dynalite lacks).
 */
export async function createTable(client: DynamoDBClient, table: string, timeoutMs = 30_000): Promise<void> {
  try {
    await client.send(new CreateTableCommand({ TableName: table, ...TABLE_SCHEMA }));
  } catch (err) {
    if (!(err instanceof Error && err.name === "ResourceInUseException")) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === "ACTIVE" && indexes.every((i) => i.IndexStatus === "ACTIVE")) return;
    if (Date.now() > deadline) throw new Error(`table ${table} did not become ACTIVE`);
    await sleep(20);
  }
}

// ---- keys ----

type Item = Record<string, AttributeValue>;

/** 1e14 ms before 1970 (year ~1200 BC) is 0: every RFC 3339 instant (years 0000–9999) fits 15 digits. */
const MS_OFFSET = 100_000_000_000_000;
const MS_WIDTH = 15;
/** Sorts just above `#`: `{ms}$` is above every `{ms}#{id}` position and below the next millisecond. */
const ABOVE = "$";
/** Names whose encoded form is longer are keyed by their SHA-256 (keys have byte limits). */
const MAX_NAME_KEY = 300;
const MAX_ID_KEY = 600;
/** DynamoDB items are at most 400 KB; articles are capped at 100 KiB before they get here. */
const MAX_DATA_BYTES = 300 * 1024;
const EXPIRY_SHARDS = 4;
const OVERFETCH = 4;
const MAX_QUERY_ROUNDS = 6;
const MAX_WRITE_ATTEMPTS = 8;
/** Batch rounds in a row that process nothing before giving up (rounds that make progress are free). */
const MAX_BATCH_STALLS = 8;
/** Article writes the site item remembers (slots `l0`…`l31`, by revision modulo this): the recent-writes log. */
export const LOG_SIZE = 32;
/** Term hashes logged per write; an article with more terms is logged as matching every filter. */
const LOG_MAX_TERMS = 16;

const encoder = new TextEncoder();

function enc(text: string): string {
  return encodeURIComponent(text);
}

function padMs(ms: number): string {
  const shifted = ms + MS_OFFSET;
  if (!Number.isSafeInteger(shifted) || shifted < 0 || shifted >= 10 ** MS_WIDTH) {
    throw new RangeError(`instant out of range for DynamoDB keys: ${ms}`);
  }
  return String(shifted).padStart(MS_WIDTH, "0");
}

/** The sort position of (instant, id): descending Query order is feed order. */
function position(ms: number, id: string): string {
  return `${padMs(ms)}#${id}`;
}

/** A bound that every position at `ms` or later is above (and every earlier one below). */
function fromBound(ms: number): string {
  return `${padMs(ms - 1)}${ABOVE}`;
}

function positionMs(pos: string): number {
  return Number(pos.slice(0, MS_WIDTH)) - MS_OFFSET;
}

function siteKey(slug: string): Item {
  return { pk: { S: `SITE#${enc(slug)}` }, sk: { S: "SITE" } };
}

function partitionOf(slug: string, inc: string): string {
  return `S#${enc(slug)}#${inc}`;
}

function articleSk(id: string): string {
  return `A#${id}`;
}

function webhookSk(webhookId: string): string {
  return `W#${webhookId}`;
}

function entryPrefix(id: string): string {
  return `X#${enc(id)}#`;
}

/** NFC, percent-encoded (case kept, `#` escaped); long names by hash (readers re-check membership). */
async function nameKey(name: string): Promise<string> {
  const nfc = name.normalize("NFC");
  let encoded: string | undefined;
  try {
    encoded = enc(nfc);
  } catch {
    encoded = undefined; // a lone surrogate
  }
  // "%%" never occurs in encodeURIComponent output, so hashed keys cannot meet encoded ones.
  return encoded !== undefined && encoded.length <= MAX_NAME_KEY ? encoded : `%%${await sha256Hex(nfc)}`;
}

function checkId(id: string): void {
  if (id.length === 0) throw new RangeError("article id is empty");
  let encoded: string;
  try {
    encoded = enc(id);
  } catch {
    throw new RangeError("article id is not well-formed Unicode");
  }
  if (encoded.length > MAX_ID_KEY) throw new RangeError("article id is too long for DynamoDB keys");
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Expiry entries are spread over a few GSI partitions, so no one key takes every write. */
function expiryPk(kind: "W", partition: string): string {
  return `${kind}#${fnv1a(partition) % EXPIRY_SHARDS}`;
}

// ---- attribute values ----

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

function str(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new TypeError(`DynamoDB item has no string ${name}`);
  return value;
}

function optStr(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

function num(item: Item, name: string): number {
  const value = item[name]?.N;
  if (value === undefined) throw new TypeError(`DynamoDB item has no number ${name}`);
  return Number(value);
}

function optNum(item: Item, name: string): number | undefined {
  const value = item[name]?.N;
  return value === undefined ? undefined : Number(value);
}

/** `#name` placeholders for every attribute an expression names (several are reserved words). */
function names(...list: string[]): Record<string, string> {
  return Object.fromEntries(list.map((n) => [`#${n}`, n]));
}

// ---- errors ----

const UNAVAILABLE_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "ResourceNotFoundException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "AbortError",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

function networkCode(err: Error): string | undefined {
  const code = "code" in err ? err.code : undefined;
  if (typeof code === "string") return code;
  // Node's fetch/http may wrap the socket error.
  const cause = err.cause;
  if (cause instanceof Error) return networkCode(cause);
  if (err instanceof AggregateError) {
    for (const inner of err.errors) if (inner instanceof Error && networkCode(inner)) return networkCode(inner);
  }
  return undefined;
}

/** Engine down, throttled or timed out: 503 + Retry-After. Everything else stays as it is. */
function translate(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof StoreUnavailableError) return err;
  const fault = "$fault" in err ? err.$fault : undefined;
  const code = networkCode(err);
  if (fault === "server" || UNAVAILABLE_NAMES.has(err.name) || (code !== undefined && NETWORK_CODES.has(code))) {
    return new StoreUnavailableError(`DynamoDB: ${err.message || err.name}`, { cause: err });
  }
  return err;
}

function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === "ConditionalCheckFailedException";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff with jitter: 25, 50, 100 … 1600 ms (times 0.5–1). */
function backoff(attempt: number): Promise<void> {
  return sleep(Math.min(1600, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
}

// ---- shared logic ----


/** An article's distinct terms: its categories, tags and author names. */
function termsOf(article: Article): Array<[TermKind, string]> {
  const out: Array<[TermKind, string]> = [];
  for (const name of new Set(article.categories)) out.push(["category", name]);
  for (const name of new Set(article.tags)) out.push(["tag", name]);
  for (const name of new Set(article.authors.map((a) => a.name))) out.push(["author", name]);
  return out;
}

function hasTerm(article: Article, filter: Exclude<FeedFilter, { kind: "all" }>): boolean {
  const name = filter.name.normalize("NFC");
  switch (filter.kind) {
    case "category":
      return article.categories.includes(name);
    case "tag":
      return article.tags.includes(name);
    case "author":
      return article.authors.some((a) => a.name === name);
  }
}

interface SiteHead {
  inc: string;
  partition: string;
  item: Item;
}

// ---- the recent-writes log: what the GSIs may not show yet ----

/** One article write as the site item's log remembers it. */
interface LoggedWrite {
  id: string;
  rev: number;
  /** The write left a tombstone (deleteArticle). */
  deleted: boolean;
  /** published_at (a live article) or deleted_at (a tombstone) in ms: with the id, its position. */
  ms: number;
  /** termHash of each of a live article's terms; "any" when it has more than LOG_MAX_TERMS. */
  terms: string[] | "any";
}

/** A short hash of a term (kind and name key): a logged write matches a filter feed by it. */
function termHash(kind: TermKind, key: string): string {
  return fnv1a(`${TERM_LETTER[kind]}#${key}`).toString(36);
}

/** The slot of a write in the site item: `l{rev mod LOG_SIZE}` = { r: rev, w: JSON [id, ms, deleted, terms] }. */
function logSlot(write: LoggedWrite): { name: string; value: AttributeValue } {
  const terms = write.terms === "any" ? "*" : write.terms.join(" ");
  const body = write.deleted ? [write.id, write.ms, 1] : [write.id, write.ms, 0, terms];
  return { name: `l${write.rev % LOG_SIZE}`, value: { M: { r: N(write.rev), w: S(JSON.stringify(body)) } } };
}

/** The log of a site item: the newest logged write of each id (malformed slots are ignored). */
function logOf(item: Item): Map<string, LoggedWrite> {
  const latest = new Map<string, LoggedWrite>();
  for (let slot = 0; slot < LOG_SIZE; slot++) {
    const entry = item[`l${slot}`]?.M;
    if (!entry) continue;
    const rev = optNum(entry, "r");
    const text = optStr(entry, "w");
    if (rev === undefined || !Number.isSafeInteger(rev) || text === undefined) continue;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      continue;
    }
    if (!Array.isArray(body)) continue;
    const [id, ms, deleted, terms] = body as unknown[];
    if (typeof id !== "string" || typeof ms !== "number" || !Number.isSafeInteger(ms) || (deleted !== 0 && deleted !== 1)) continue;
    if (deleted === 0 && typeof terms !== "string") continue;
    const write: LoggedWrite = {
      id,
      rev,
      deleted: deleted === 1,
      ms,
      terms: deleted === 1 ? [] : terms === "*" ? "any" : String(terms).split(" ").filter((t) => t.length > 0),
    };
    const seen = latest.get(id);
    if (!seen || seen.rev < rev) latest.set(id, write);
  }
  return latest;
}

// ---- reconciling a GSI page with the log ----

/** An item of a GSI Query, in the index's (descending) order. */
interface IndexHit<T> {
  id: string;
  pos: string;
  /** The revision the GSI item carries (the tombstones GSI projects none). */
  rev?: number;
  /** What the GSI item answers by itself (the timeline projects the article); absent: read by key. */
  value?: T;
}

/** An answer placed at its position. */
interface Placed<T> {
  pos: string;
  value: T;
}

interface PageSpec<T> {
  /** How many answers the page needs (limit + 1 for article pages: one more tells of a next page). */
  want: number;
  /** The page's window: below the cursor, not before notBefore or since. */
  inRange(pos: string): boolean;
  /** One GSI Query of at most `limit` items from `start`; `start` undefined in the answer: nothing further. */
  query(limit: number, start: Item | undefined): Promise<{ hits: IndexHit<T>[]; start?: Item }>;
  /**
   * What a hit is worth next to the log: "trust" it (it shows the newest logged write of its id,
   * or one the log does not know), "read" its id by key, or "skip" it (it shows an older write
   * than the log's: the log's candidate, if any, places the id where it is now).
   */
  judge(hit: IndexHit<T>): "trust" | "read" | "skip";
  /** Logged writes that put their id in this window, at the log's position: read by key unless a trusted hit shows them. */
  candidates: Array<{ id: string; pos: string }>;
  /** Strongly consistent reads by key: where each id belongs in this feed now (absent: nowhere). */
  read(ids: string[]): Promise<Map<string, Placed<T>>>;
  /** Examine only as many hits at a time as the page still needs (hits that must all be read by key). */
  frugal: boolean;
  /** Extra items per Query, so that a few skipped hits do not cost another round trip. */
  overfetch: number;
  maxRounds: number;
}

/**
 * A page as of the site item that gave the log: GSI Queries, with every id the log names answered
 * where the log says the GSI is behind. The GSI has been examined down to `floor`: every answer at
 * or above it is certain (a GSI item not yet examined could only place something below it), so
 * logged candidates are read once the floor passes them, and the loop stops when `want` answers
 * are certain, or the GSI and every candidate are exhausted (`complete`). Costs the GSI items
 * examined plus the logged writes that the GSI does not show yet: O(want + LOG_SIZE).
 */
async function reconcilePage<T>(spec: PageSpec<T>): Promise<{ placed: Placed<T>[]; complete: boolean; floor: string | undefined }> {
  /** id → where it belongs (null: not in this feed), from a trusted hit or a read by key. */
  const known = new Map<string, Placed<T> | null>();
  /** Ids answered by a trusted hit, with its revision (−1: none projected). */
  const fromIndex = new Map<string, number>();
  /** Ids read by key: the truth, above any hit. */
  const fromKey = new Set<string>();
  let nominated = new Set<string>();
  let pending: IndexHit<T>[] = [];
  let floor: string | undefined;
  let start: Item | undefined;
  let exhausted = false;
  let rounds = 0;
  const complete = (): boolean => exhausted && pending.length === 0;
  const above = (pos: string): boolean => complete() || (floor !== undefined && pos >= floor);
  const settled = (): number => {
    let count = 0;
    for (const p of known.values()) if (p && spec.inRange(p.pos) && above(p.pos)) count += 1;
    return count;
  };
  for (;;) {
    for (const c of spec.candidates) {
      if (above(c.pos) && !fromKey.has(c.id) && !fromIndex.has(c.id)) nominated.add(c.id);
    }
    if (nominated.size > 0) {
      const ids = [...nominated];
      nominated = new Set();
      const found = await spec.read(ids);
      for (const id of ids) {
        fromKey.add(id);
        fromIndex.delete(id);
        known.set(id, found.get(id) ?? null);
      }
    }
    const have = settled();
    if (have >= spec.want || complete()) break;
    if (pending.length === 0) {
      if (rounds >= spec.maxRounds) break;
      rounds += 1;
      const out = await spec.query(spec.want - have + spec.overfetch, start);
      pending = out.hits;
      start = out.start;
      exhausted = start === undefined;
      continue;
    }
    const batch = pending.splice(0, spec.frugal ? spec.want - have : pending.length);
    for (const hit of batch) {
      floor = hit.pos;
      if (fromKey.has(hit.id)) continue;
      const verdict = spec.judge(hit);
      if (verdict === "skip") continue;
      if (verdict === "read" || hit.value === undefined) {
        nominated.add(hit.id);
        continue;
      }
      // The same id twice (a move the GSI shows half done): the newer revision wins.
      const rev = hit.rev ?? -1;
      const seen = fromIndex.get(hit.id);
      if (seen !== undefined && seen >= rev) continue;
      fromIndex.set(hit.id, rev);
      known.set(hit.id, { pos: hit.pos, value: hit.value });
    }
  }
  const placed: Placed<T>[] = [];
  for (const p of known.values()) if (p && spec.inRange(p.pos) && above(p.pos)) placed.push(p);
  placed.sort((a, b) => (a.pos < b.pos ? 1 : a.pos > b.pos ? -1 : 0));
  return { placed, complete: complete(), floor };
}

export interface DynamoStoreOptions {
  /** The store owns this client from now on: close() destroys it. */
  client: DynamoDBClient;
  table: string;
  /** Replay records carry a TTL this long after their last change (the contract keeps them ≥ 72 h). */
  webhookTtlSeconds?: number;
}

export function createDynamoStore(options: DynamoStoreOptions): Store {
  const { client, table } = options;
  const webhookTtlSeconds = options.webhookTtlSeconds ?? 7 * 86_400;
  let closed = false;

  /** Every request goes through here: closed → unavailable; engine errors translated. */
  async function call<T>(run: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError("store is closed");
    try {
      return await run();
    } catch (err) {
      throw translate(err);
    }
  }

  async function getItem(key: Item, projection?: string[]): Promise<Item | undefined> {
    const out = await call(() =>
      client.send(
        new GetItemCommand({
          TableName: table,
          Key: key,
          ConsistentRead: true,
          ...(projection ? { ProjectionExpression: projection.map((p) => `#${p}`).join(", "), ExpressionAttributeNames: names(...projection) } : {}),
        }),
      ),
    );
    return out.Item;
  }

  async function readSite(slug: string): Promise<SiteHead | undefined> {
    const item = await getItem(siteKey(slug));
    if (!item) return undefined;
    const inc = str(item, "inc");
    return { inc, partition: partitionOf(slug, inc), item };
  }

  async function requireSite(slug: string): Promise<SiteHead> {
    const head = await readSite(slug);
    if (!head) throw new Error(`unknown site: ${slug}`);
    return head;
  }

  function recordOf(item: Item): SiteRecord {
    return {
      site: JSON.parse(str(item, "site")) as Site,
      version: num(item, "version"),
      modified_at: str(item, "modified_at"),
      credentials: JSON.parse(str(item, "credentials")) as Credential[],
    };
  }

  /**
   * A fresh revision for one article write: an atomic counter on the site item, so no two writes
   * of a site ever share one (conditional on the incarnation: a deleted site takes no writes).
   */
  async function allocateRevision(slug: string, inc: string): Promise<number> {
    try {
      const out = await call(() =>
        client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: siteKey(slug),
            UpdateExpression: "ADD #seq :one",
            ConditionExpression: "#inc = :inc",
            ExpressionAttributeNames: names("seq", "inc"),
            ExpressionAttributeValues: { ":one": N(1), ":inc": S(inc) },
            ReturnValues: "UPDATED_NEW",
          }),
        ),
      );
      return num(out.Attributes ?? {}, "seq");
    } catch (err) {
      if (isConditionFailed(err)) throw new Error(`unknown site: ${slug}`);
      throw err;
    }
  }

  /**
   * The site version bump, after the commit point: a reader that sees the new version also sees
   * the write (a render cached under the old version may already include it, which is harmless).
   * The same conditional update logs the write in slot `l{rev mod LOG_SIZE}` of the site item,
   * unless that slot already holds a newer revision (LOG_SIZE revisions were allocated while this
   * write was in flight): then the version is bumped without logging it.
   */
  async function bumpVersion(slug: string, inc: string, now: string, write?: LoggedWrite): Promise<void> {
    const slot = write ? { ...logSlot(write), rev: write.rev } : undefined;
    try {
      await call(() =>
        client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: siteKey(slug),
            UpdateExpression: slot ? "SET #modified_at = :now, #slot = :write ADD #version :one" : "SET #modified_at = :now ADD #version :one",
            ConditionExpression: slot ? "#inc = :inc AND (attribute_not_exists(#slot) OR #slot.#r < :rev)" : "#inc = :inc",
            ExpressionAttributeNames: { ...names("modified_at", "version", "inc"), ...(slot ? { "#slot": slot.name, "#r": "r" } : {}) },
            ExpressionAttributeValues: {
              ":now": S(now),
              ":one": N(1),
              ":inc": S(inc),
              ...(slot ? { ":write": slot.value, ":rev": N(slot.rev) } : {}),
            },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      // A newer write holds the slot, or the site is gone (which the plain bump then reports).
      if (slot) return bumpVersion(slug, inc, now);
      throw new Error(`unknown site: ${slug} (deleted during the write)`);
    }
  }

  /** BatchWriteItem in chunks of 25, retrying unprocessed items with backoff (exponential while nothing moves). */
  async function batchWrite(requests: WriteRequest[]): Promise<void> {
    for (let start = 0; start < requests.length; start += 25) {
      let pending = requests.slice(start, start + 25);
      for (let stalls = 0, round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(stalls);
        const batch = pending;
        const out = await call(() => client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } })));
        pending = out.UnprocessedItems?.[table] ?? [];
        stalls = pending.length < batch.length ? 0 : stalls + 1;
        if (stalls >= MAX_BATCH_STALLS) throw new StoreUnavailableError("DynamoDB kept items of a batch write unprocessed");
      }
    }
  }

  /** BatchGetItem (strongly consistent) in chunks of 100, retrying unprocessed keys with backoff. */
  async function batchGet(keys: Item[], projection?: string[]): Promise<Item[]> {
    const shape = projection ? { ProjectionExpression: projection.map((p) => `#${p}`).join(", "), ExpressionAttributeNames: names(...projection) } : {};
    const found: Item[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let pending = keys.slice(start, start + 100);
      for (let stalls = 0, round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(stalls);
        const batch = pending;
        const out = await call(() =>
          client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: batch, ConsistentRead: true, ...shape } } })),
        );
        found.push(...(out.Responses?.[table] ?? []));
        pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
        stalls = pending.length < batch.length ? 0 : stalls + 1;
        if (stalls >= MAX_BATCH_STALLS) throw new StoreUnavailableError("DynamoDB kept keys of a batch read unprocessed");
      }
    }
    return found;
  }

  /** All items of a Query, page by page (for bounded sets: one article's entries, a range, a partition). */
  async function queryAll(input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">, each: (items: Item[]) => Promise<void>): Promise<void> {
    let start: Item | undefined;
    do {
      const from = start;
      const out = await call(() =>
        client.send(new QueryCommand({ TableName: table, ...input, ...(from ? { ExclusiveStartKey: from } : {}) })),
      );
      await each(out.Items ?? []);
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /** Deletes the index entries of an article whose revision passes `doomed` (never one in flight above it). */
  async function deleteEntries(partition: string, id: string, doomed: (rev: number) => boolean): Promise<void> {
    const deletes: WriteRequest[] = [];
    await queryAll(
      {
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: names("pk", "sk", "rev"),
        ExpressionAttributeValues: { ":pk": S(partition), ":prefix": S(entryPrefix(id)) },
        ProjectionExpression: "#pk, #sk, #rev",
        ConsistentRead: true,
      },
      async (items) => {
        for (const item of items) {
          if (doomed(num(item, "rev"))) deletes.push({ DeleteRequest: { Key: { pk: item.pk!, sk: item.sk! } } });
        }
      },
    );
    await batchWrite(deletes);
  }

  /**
   * Deletes the items a Query of `index` finds under `condition` (a key condition), each only if
   * the condition still holds on the item itself: the GSI may lag, so an item written again since
   * is kept. Returns how many went; deletes run 25 at a time.
   */
  async function deleteFound(index: string, condition: string, attributeNames: Record<string, string>, values: Item): Promise<number> {
    const keys: Item[] = [];
    await queryAll(
      { IndexName: index, KeyConditionExpression: condition, ExpressionAttributeNames: attributeNames, ExpressionAttributeValues: values },
      async (items) => {
        for (const item of items) keys.push({ pk: item.pk!, sk: item.sk! });
      },
    );
    let count = 0;
    for (let i = 0; i < keys.length; i += 25) {
      const results = await Promise.all(
        keys.slice(i, i + 25).map(async (key) => {
          try {
            await call(() =>
              client.send(
                new DeleteItemCommand({
                  TableName: table,
                  Key: key,
                  ConditionExpression: condition,
                  ExpressionAttributeNames: attributeNames,
                  ExpressionAttributeValues: values,
                }),
              ),
            );
            return 1;
          } catch (err) {
            if (isConditionFailed(err)) return 0;
            throw err;
          }
        }),
      );
      for (const r of results) count += r;
    }
    return count;
  }

  /** Expired replay records, over every shard of the `expiry` GSI (a record claimed again since is kept). */
  async function pruneExpired(kind: "W", olderThan: string): Promise<number> {
    const limitMs = instant(olderThan, "olderThan");
    let count = 0;
    for (let shard = 0; shard < EXPIRY_SHARDS; shard++) {
      count += await deleteFound(INDEXES.expiry, "#expiry_pk = :pk AND #expiry_ms < :t", names("expiry_pk", "expiry_ms"), {
        ":pk": S(`${kind}#${shard}`),
        ":t": N(limitMs),
      });
    }
    return count;
  }

  /** Removes every item of a dead incarnation: Query the partition, batch-delete 25 at a time. */
  async function purgePartition(partition: string): Promise<void> {
    let start: Item | undefined;
    do {
      const from = start;
      const out = await call(() =>
        client.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: names("pk", "sk"),
            ExpressionAttributeValues: { ":pk": S(partition) },
            ProjectionExpression: "#pk, #sk",
            ...(from ? { ExclusiveStartKey: from } : {}),
          }),
        ),
      );
      await batchWrite((out.Items ?? []).map((item) => ({ DeleteRequest: { Key: { pk: item.pk!, sk: item.sk! } } })));
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /** Finishes deletions that were interrupted: each `GONE#{inc}` marker names a partition to purge. */
  async function sweepGraveyard(slug: string): Promise<void> {
    const markers: Item[] = [];
    await queryAll(
      {
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :gone)",
        ExpressionAttributeNames: names("pk", "sk"),
        ExpressionAttributeValues: { ":pk": siteKey(slug).pk!, ":gone": S("GONE#") },
        ConsistentRead: true,
      },
      async (items) => {
        markers.push(...items);
      },
    );
    for (const marker of markers) {
      await purgePartition(partitionOf(slug, str(marker, "sk").slice("GONE#".length)));
      await call(() => client.send(new DeleteItemCommand({ TableName: table, Key: { pk: marker.pk!, sk: marker.sk! } })));
    }
  }

  function pageOf(articles: Article[], limit: number): ArticlePage {
    const items = articles.slice(0, limit);
    const last = items[items.length - 1];
    if (articles.length > limit && last) return { items, next: { published_at: last.published_at, id: last.id } };
    return { items };
  }

  /** Articles by key (strongly consistent), placed at their timeline position when they belong in the feed. */
  async function readArticles(partition: string, ids: string[], filter: Exclude<FeedFilter, { kind: "all" }> | undefined): Promise<Map<string, Placed<Article>>> {
    const out = new Map<string, Placed<Article>>();
    for (const item of await batchGet(ids.map((id) => ({ pk: S(partition), sk: S(articleSk(id)) })))) {
      const data = optStr(item, "data");
      const pos = optStr(item, "feed_pos");
      if (data === undefined || pos === undefined) continue; // a tombstone
      const article = JSON.parse(data) as Article;
      if (filter && !hasTerm(article, filter)) continue;
      out.set(str(item, "id"), { pos, value: article });
    }
    return out;
  }

  /**
   * A feed page. The whole-site feed Queries `timeline` (limit + 1 items, answered from the
   * projection); a category/tag/author feed Queries its term GSI (limit + 1 + OVERFETCH entries)
   * and reads the articles by key, only as many as the page still needs, each placed where the
   * article itself says (at most MAX_QUERY_ROUNDS Queries: a page cut short by that many stale
   * entries ends with a `next` cursor at the last entry looked at, so nothing is skipped). Either
   * way the page is reconciled with the site item's log (reconcilePage): a GSI item older than
   * the logged write of its id is skipped, and a logged article that belongs in the window but is
   * not shown as logged is read by key.
   */
  async function listPage(head: SiteHead, query: ArticleQuery, notBeforeMs: number | undefined): Promise<ArticlePage> {
    const filter = query.filter.kind === "all" ? undefined : query.filter;
    const log = logOf(head.item);
    const beforePos = query.before ? position(instant(query.before.published_at, "cursor published_at"), query.before.id) : undefined;
    const inRange = (pos: string): boolean =>
      (beforePos === undefined || pos < beforePos) && (notBeforeMs === undefined || positionMs(pos) >= notBeforeMs);
    const key = filter ? await nameKey(filter.name) : undefined;
    const hash = filter && key !== undefined ? termHash(filter.kind, key) : undefined;
    const gsi = filter
      ? { index: TERM_INDEX[filter.kind], pkName: TERM_PK[filter.kind], pk: `${head.partition}#${key}`, posName: "term_pos" }
      : { index: INDEXES.timeline, pkName: "pk", pk: head.partition, posName: "feed_pos" };
    const values: Item = { ":pk": S(gsi.pk) };
    let condition = "#gpk = :pk";
    if (beforePos !== undefined) {
      condition += " AND #pos < :before";
      values[":before"] = S(beforePos);
    } else if (notBeforeMs !== undefined) {
      condition += " AND #pos >= :from";
      values[":from"] = S(fromBound(notBeforeMs));
    }
    const attributeNames: Record<string, string> = condition.includes("#pos") ? { "#gpk": gsi.pkName, "#pos": gsi.posName } : { "#gpk": gsi.pkName };
    const candidates = [...log.values()]
      .filter((w) => !w.deleted && (hash === undefined || w.terms === "any" || w.terms.includes(hash)))
      .map((w) => ({ id: w.id, pos: position(w.ms, w.id) }))
      .filter((c) => inRange(c.pos));

    const { placed, complete, floor } = await reconcilePage<Article>({
      want: query.limit + 1,
      inRange,
      candidates,
      frugal: filter !== undefined,
      overfetch: filter ? OVERFETCH : 0,
      maxRounds: filter ? MAX_QUERY_ROUNDS : Number.POSITIVE_INFINITY,
      query: async (limit, from) => {
        const out = await call(() =>
          client.send(
            new QueryCommand({
              TableName: table,
              IndexName: gsi.index,
              KeyConditionExpression: condition,
              ExpressionAttributeNames: attributeNames,
              ExpressionAttributeValues: values,
              ScanIndexForward: false,
              Limit: limit,
              ...(from ? { ExclusiveStartKey: from } : {}),
            }),
          ),
        );
        const hits: IndexHit<Article>[] = [];
        for (const item of out.Items ?? []) {
          const pos = str(item, gsi.posName);
          if (notBeforeMs !== undefined && positionMs(pos) < notBeforeMs) return { hits };
          const data = filter ? undefined : optStr(item, "data");
          hits.push({ id: str(item, "id"), pos, rev: num(item, "rev"), ...(data !== undefined ? { value: JSON.parse(data) as Article } : {}) });
        }
        return out.LastEvaluatedKey ? { hits, start: out.LastEvaluatedKey } : { hits };
      },
      judge: (hit) => {
        const logged = log.get(hit.id);
        return logged && hit.rev !== undefined && hit.rev < logged.rev ? "skip" : "trust";
      },
      read: (ids) => readArticles(head.partition, ids, filter),
    });
    const articles = placed.map((p) => p.value);
    if (!complete && articles.length <= query.limit && floor !== undefined) {
      // Cut short by stale entries: go on from the last entry looked at.
      return { items: articles, next: { published_at: formatRfc3339(positionMs(floor)), id: floor.slice(MS_WIDTH + 1) } };
    }
    return pageOf(articles, query.limit);
  }

  return {
    async getSite(slug: string): Promise<SiteRecord | undefined> {
      const item = await getItem(siteKey(slug));
      return item ? recordOf(item) : undefined;
    },

    async getSiteVersion(slug: string): Promise<SiteVersion | undefined> {
      const item = await getItem(siteKey(slug), ["version", "modified_at"]);
      return item ? { version: num(item, "version"), modified_at: str(item, "modified_at") } : undefined;
    },

    async createSite(record: SiteRecord): Promise<boolean> {
      const inc = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
      try {
        await call(() =>
          client.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                ...siteKey(record.site.slug),
                site: S(JSON.stringify(record.site)),
                version: N(record.version),
                modified_at: S(record.modified_at),
                credentials: S(JSON.stringify(record.credentials)),
                inc: S(inc),
                seq: N(0),
              },
              ConditionExpression: "attribute_not_exists(#pk)",
              ExpressionAttributeNames: names("pk"),
            }),
          ),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async updateSite(slug: string, site: Site, now: string): Promise<SiteRecord | undefined> {
      if (site.slug !== slug) throw new Error(`site.slug ${site.slug} does not match ${slug}`);
      try {
        const out = await call(() =>
          client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: siteKey(slug),
              UpdateExpression: "SET #site = :site, #modified_at = :now ADD #version :one",
              ConditionExpression: "attribute_exists(#pk)",
              ExpressionAttributeNames: names("site", "modified_at", "version", "pk"),
              ExpressionAttributeValues: { ":site": S(JSON.stringify(site)), ":now": S(now), ":one": N(1) },
              ReturnValues: "ALL_NEW",
            }),
          ),
        );
        return recordOf(out.Attributes ?? {});
      } catch (err) {
        if (isConditionFailed(err)) return undefined;
        throw err;
      }
    },

    async setCredentials(slug: string, credentials: Credential[]): Promise<boolean> {
      try {
        await call(() =>
          client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: siteKey(slug),
              UpdateExpression: "SET #credentials = :c",
              ConditionExpression: "attribute_exists(#pk)",
              ExpressionAttributeNames: names("credentials", "pk"),
              ExpressionAttributeValues: { ":c": S(JSON.stringify(credentials)) },
            }),
          ),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    /**
     * 1. A `GONE#{inc}` marker is written next to the site item; 2. the site item is deleted
     * (the commit point: from here the site does not exist, and a site created again gets a new
     * incarnation, so its keys can never reach the old partition); 3. the old partition is purged
     * (Query by partition, BatchWrite deletes of 25); 4. the marker is deleted. If this is
     * interrupted after 2, the leftovers are invisible, and the next deleteSite of the slug (also
     * when it answers false) purges every partition still named by a marker. TTL removes leftover
     * replay records and tombstones meanwhile.
     */
    async deleteSite(slug: string): Promise<boolean> {
      const head = await readSite(slug);
      if (!head) {
        await sweepGraveyard(slug);
        return false;
      }
      await call(() =>
        client.send(new PutItemCommand({ TableName: table, Item: { pk: siteKey(slug).pk!, sk: S(`GONE#${head.inc}`) } })),
      );
      try {
        await call(() =>
          client.send(
            new DeleteItemCommand({
              TableName: table,
              Key: siteKey(slug),
              ConditionExpression: "#inc = :inc",
              ExpressionAttributeNames: names("inc"),
              ExpressionAttributeValues: { ":inc": S(head.inc) },
            }),
          ),
        );
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        // Someone else deleted it first (their marker is ours too: same key); they purge.
        return false;
      }
      await sweepGraveyard(slug);
      return true;
    },

    async getArticle(slug: string, id: string): Promise<Article | undefined> {
      const head = await readSite(slug);
      if (!head) return undefined;
      const item = await getItem({ pk: S(head.partition), sk: S(articleSk(id)) });
      const data = item && optStr(item, "data");
      return data === undefined ? undefined : (JSON.parse(data) as Article);
    },

    async putArticle(slug: string, article: Article, now: string): Promise<PutResult> {
      const publishedMs = instant(article.published_at, "published_at");
      const updatedMs = instant(article.updated_at, "updated_at");
      checkId(article.id);
      const data = JSON.stringify(article);
      if (encoder.encode(data).byteLength > MAX_DATA_BYTES) throw new RangeError("article is too large for one DynamoDB item");
      const pos = position(publishedMs, article.id);
      const terms = await Promise.all(termsOf(article).map(async ([kind, name]) => [kind, await nameKey(name)] as const));

      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const head = await requireSite(slug);
        const key = { pk: S(head.partition), sk: S(articleSk(article.id)) };
        const stored = await getItem(key);
        const storedData = stored && optStr(stored, "data");
        if (stored && storedData !== undefined) {
          const storedMs = num(stored, "upd_ms");
          if (storedMs > updatedMs) return { outcome: "stale", article: JSON.parse(storedData) as Article };
          if (storedMs === updatedMs && storedData === data) return { outcome: "unchanged", article: JSON.parse(storedData) as Article };
        }
        const rev = await allocateRevision(slug, head.inc);

        // 1. The index entries of this revision: invisible until the article carries `rev`.
        const entries: WriteRequest[] = terms.map(([kind, name]) => ({
          PutRequest: {
            Item: {
              pk: S(head.partition),
              sk: S(`${entryPrefix(article.id)}${rev}#${TERM_LETTER[kind]}#${name}`),
              id: S(article.id),
              rev: N(rev),
              term_pos: S(pos),
              [TERM_PK[kind]]: S(`${head.partition}#${name}`),
            },
          },
        }));
        try {
          await batchWrite(entries);
          // 2. The commit point: conditional on the revision read above (or on absence).
          const storedRev = stored ? optNum(stored, "rev") : undefined;
          await call(() =>
            client.send(
              new PutItemCommand({
                TableName: table,
                Item: {
                  ...key,
                  id: S(article.id),
                  data: S(data),
                  rev: N(rev),
                  pub_ms: N(publishedMs),
                  upd_ms: N(updatedMs),
                  feed_pos: S(pos),
                },
                ...(storedRev === undefined
                  ? { ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: names("pk") }
                  : {
                      ConditionExpression: "#rev = :rev",
                      ExpressionAttributeNames: names("rev"),
                      ExpressionAttributeValues: { ":rev": N(storedRev) },
                    }),
              }),
            ),
          );
        } catch (err) {
          // Our entries are garbage now (no article will carry `rev`): remove them, best effort.
          await deleteEntries(head.partition, article.id, (r) => r === rev).catch(() => undefined);
          if (isConditionFailed(err)) continue; // another write came first: read again
          throw err;
        }
        // 3. After the commit: older entries go (never newer ones: they belong to a write in flight).
        // A create has none, bar those of a write that died, which the next update removes.
        if (storedData !== undefined) await deleteEntries(head.partition, article.id, (r) => r < rev);
        await bumpVersion(slug, head.inc, now, {
          id: article.id,
          rev,
          deleted: false,
          ms: publishedMs,
          terms: terms.length > LOG_MAX_TERMS ? "any" : terms.map(([kind, name]) => termHash(kind, name)),
        });
        return { outcome: storedData !== undefined ? "updated" : "created", article: JSON.parse(data) as Article };
      }
      throw new StoreUnavailableError(`too many concurrent writes to article ${article.id}`);
    },

    async deleteArticle(slug: string, id: string, now: string): Promise<boolean> {
      const deletedMs = instant(now, "now");
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const head = await requireSite(slug);
        const key = { pk: S(head.partition), sk: S(articleSk(id)) };
        const stored = await getItem(key);
        const storedData = stored && optStr(stored, "data");
        if (!stored || storedData === undefined) return false;
        const rev = await allocateRevision(slug, head.inc);
        const published = (JSON.parse(storedData) as Article).published_at;
        try {
          // The commit point: the article item becomes its tombstone in one conditional put.
          await call(() =>
            client.send(
              new PutItemCommand({
                TableName: table,
                Item: {
                  ...key,
                  id: S(id),
                  rev: N(rev),
                  published_at: S(published),
                  deleted_at: S(now),
                  deleted_pos: S(position(deletedMs, id)),
                },
                ConditionExpression: "#rev = :rev",
                ExpressionAttributeNames: names("rev"),
                ExpressionAttributeValues: { ":rev": N(num(stored, "rev")) },
              }),
            ),
          );
        } catch (err) {
          if (isConditionFailed(err)) continue;
          throw err;
        }
        await deleteEntries(head.partition, id, (r) => r < rev);
        await bumpVersion(slug, head.inc, now, { id, rev, deleted: true, ms: deletedMs, terms: [] });
        return true;
      }
      throw new StoreUnavailableError(`too many concurrent writes to article ${id}`);
    },

    async listArticles(slug: string, query: ArticleQuery): Promise<ArticlePage> {
      checkLimit(query.limit);
      const notBeforeMs = query.notBefore === undefined ? undefined : instant(query.notBefore, "notBefore");
      const head = await readSite(slug);
      if (!head) return { items: [] };
      return listPage(head, query, notBeforeMs);
    },

    async rangeFingerprint(slug: string, range: { from: string; to: string }): Promise<string> {
      const fromMs = instant(range.from, "from");
      const toMs = instant(range.to, "to");
      const head = await readSite(slug);
      /** id → revision of the articles published in the range. */
      const revs = new Map<string, number>();
      if (head && fromMs < toMs) {
        await queryAll(
          {
            IndexName: INDEXES.timeline,
            KeyConditionExpression: "#pk = :pk AND #feed_pos BETWEEN :from AND :to",
            ExpressionAttributeNames: names("pk", "feed_pos", "id", "rev"),
            ExpressionAttributeValues: { ":pk": S(head.partition), ":from": S(fromBound(fromMs)), ":to": S(fromBound(toMs)) },
            ProjectionExpression: "#id, #rev",
          },
          async (items) => {
            for (const item of items) {
              const id = str(item, "id");
              revs.set(id, Math.max(num(item, "rev"), revs.get(id) ?? -1));
            }
          },
        );
        // Where the GSI and the log disagree (the GSI shows an older revision, or misses a logged
        // article the log puts in the range), the article item decides: read by key.
        const doubtful: string[] = [];
        for (const logged of logOf(head.item).values()) {
          const seen = revs.get(logged.id);
          if (seen !== undefined && seen >= logged.rev) continue;
          const inside = !logged.deleted && logged.ms >= fromMs && logged.ms < toMs;
          if (seen === undefined && !inside) continue;
          doubtful.push(logged.id);
        }
        if (doubtful.length > 0) {
          const items = await batchGet(
            doubtful.map((id) => ({ pk: S(head.partition), sk: S(articleSk(id)) })),
            ["id", "rev", "feed_pos"],
          );
          for (const id of doubtful) revs.delete(id);
          for (const item of items) {
            const pos = optStr(item, "feed_pos");
            if (pos !== undefined && positionMs(pos) >= fromMs && positionMs(pos) < toMs) revs.set(str(item, "id"), num(item, "rev"));
          }
        }
      }
      const lines = [...revs].map(([id, rev]) => `${id}\u0000${rev}`);
      lines.sort();
      return `${lines.length}-${(await sha256Hex(lines.join("\n"))).slice(0, 16)}`;
    },

    async listTombstones(slug: string, query: { since: string; limit: number }): Promise<Tombstone[]> {
      if (!Number.isInteger(query.limit) || query.limit < 0) throw new RangeError(`limit must be an integer >= 0, got ${query.limit}`);
      const sinceMs = instant(query.since, "since");
      const head = await readSite(slug);
      if (!head || query.limit === 0) return [];
      const log = logOf(head.item);
      const { partition } = head;
      // The GSI projects no revision: a tombstone of a logged id is trusted only when it is the
      // logged deletion itself (same instant); otherwise the item is read by key.
      const { placed } = await reconcilePage<Tombstone>({
        want: query.limit,
        inRange: (pos) => positionMs(pos) >= sinceMs,
        candidates: [...log.values()].filter((w) => w.deleted && w.ms >= sinceMs).map((w) => ({ id: w.id, pos: position(w.ms, w.id) })),
        frugal: false,
        overfetch: 0,
        maxRounds: Number.POSITIVE_INFINITY,
        query: async (limit, from) => {
          const out = await call(() =>
            client.send(
              new QueryCommand({
                TableName: table,
                IndexName: INDEXES.tombstones,
                KeyConditionExpression: "#pk = :pk AND #deleted_pos >= :since",
                ExpressionAttributeNames: names("pk", "deleted_pos"),
                ExpressionAttributeValues: { ":pk": S(partition), ":since": S(fromBound(sinceMs)) },
                ScanIndexForward: false,
                Limit: limit,
                ...(from ? { ExclusiveStartKey: from } : {}),
              }),
            ),
          );
          const hits: IndexHit<Tombstone>[] = (out.Items ?? []).map((item) => ({
            id: str(item, "id"),
            pos: str(item, "deleted_pos"),
            value: { id: str(item, "id"), published_at: str(item, "published_at"), deleted_at: str(item, "deleted_at") },
          }));
          return out.LastEvaluatedKey ? { hits, start: out.LastEvaluatedKey } : { hits };
        },
        judge: (hit) => {
          const logged = log.get(hit.id);
          return !logged || (logged.deleted && position(logged.ms, logged.id) === hit.pos) ? "trust" : "read";
        },
        read: async (ids) => {
          const out = new Map<string, Placed<Tombstone>>();
          const items = await batchGet(
            ids.map((id) => ({ pk: S(partition), sk: S(articleSk(id)) })),
            ["id", "published_at", "deleted_at", "deleted_pos"],
          );
          for (const item of items) {
            const pos = optStr(item, "deleted_pos");
            const published = optStr(item, "published_at");
            const deleted = optStr(item, "deleted_at");
            if (pos === undefined || published === undefined || deleted === undefined) continue; // a live article
            out.set(str(item, "id"), { pos, value: { id: str(item, "id"), published_at: published, deleted_at: deleted } });
          }
          return out;
        },
      });
      return placed.slice(0, query.limit).map((p) => p.value);
    },

    async pruneTombstones(slug: string, olderThan: string): Promise<number> {
      const limitMs = instant(olderThan, "olderThan");
      const head = await readSite(slug);
      if (!head) return 0;
      // An article published again since (no deleted_pos) or deleted again later is kept.
      return deleteFound(INDEXES.tombstones, "#pk = :pk AND #deleted_pos < :before", names("pk", "deleted_pos"), {
        ":pk": S(head.partition),
        ":before": S(fromBound(limitMs)),
      });
    },

    async claimWebhook(slug: string, webhookId: string, bodyHash: string, now: string, staleAfterMs: number): Promise<WebhookClaim> {
      const nowMs = instant(now, "now");
      const head = await requireSite(slug);
      const key = { pk: S(head.partition), sk: S(webhookSk(webhookId)) };
      const claim: Item = {
        ...key,
        body_hash: S(bodyHash),
        claimed_ms: N(nowMs),
        expiry_pk: S(expiryPk("W", head.partition)),
        expiry_ms: N(nowMs),
        [TTL_ATTRIBUTE]: N(Math.ceil(nowMs / 1000) + webhookTtlSeconds),
      };
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        try {
          // Read by key and written conditionally: never through a GSI, which could be stale.
          await call(() =>
            client.send(
              new PutItemCommand({
                TableName: table,
                Item: claim,
                ConditionExpression: "attribute_not_exists(#pk)",
                ExpressionAttributeNames: names("pk"),
              }),
            ),
          );
          return { state: "claimed" };
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
        const existing = await getItem(key);
        if (!existing) continue; // released meanwhile: try the insert again
        const status = optNum(existing, "status");
        if (status !== undefined) {
          return { state: "done", body_hash: str(existing, "body_hash"), response: { status, body: str(existing, "response") } };
        }
        const claimedMs = num(existing, "claimed_ms");
        if (nowMs - claimedMs < staleAfterMs) return { state: "in_flight", body_hash: str(existing, "body_hash") };
        try {
          // Take over the abandoned claim, unless someone else just did (or finished it).
          await call(() =>
            client.send(
              new PutItemCommand({
                TableName: table,
                Item: claim,
                ConditionExpression: "#claimed_ms = :old AND attribute_not_exists(#status)",
                ExpressionAttributeNames: names("claimed_ms", "status"),
                ExpressionAttributeValues: { ":old": N(claimedMs) },
              }),
            ),
          );
          return { state: "claimed" };
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
      }
      throw new StoreUnavailableError(`too many concurrent claims of webhook ${webhookId}`);
    },

    async completeWebhook(slug: string, webhookId: string, response: WebhookResponse, now: string): Promise<void> {
      const nowMs = instant(now, "now");
      const head = await readSite(slug);
      if (!head) return;
      try {
        await call(() =>
          client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: { pk: S(head.partition), sk: S(webhookSk(webhookId)) },
              UpdateExpression: "SET #status = :status, #response = :response, #completed_ms = :now, #expiry_ms = :now, #ttl = :ttl",
              ConditionExpression: "attribute_exists(#pk)",
              ExpressionAttributeNames: { ...names("status", "response", "completed_ms", "expiry_ms", "pk"), "#ttl": TTL_ATTRIBUTE },
              ExpressionAttributeValues: {
                ":status": N(response.status),
                ":response": S(response.body),
                ":now": N(nowMs),
                ":ttl": N(Math.ceil(nowMs / 1000) + webhookTtlSeconds),
              },
            }),
          ),
        );
      } catch (err) {
        if (!isConditionFailed(err)) throw err; // no claim: nothing to complete
      }
    },

    async releaseWebhook(slug: string, webhookId: string): Promise<void> {
      const head = await readSite(slug);
      if (!head) return;
      try {
        await call(() =>
          client.send(
            new DeleteItemCommand({
              TableName: table,
              Key: { pk: S(head.partition), sk: S(webhookSk(webhookId)) },
              ConditionExpression: "attribute_not_exists(#status)",
              ExpressionAttributeNames: names("status"),
            }),
          ),
        );
      } catch (err) {
        if (!isConditionFailed(err)) throw err; // completed: kept
      }
    },

    async pruneWebhooks(olderThan: string): Promise<number> {
      return pruneExpired("W", olderThan);
    },

    async ping(): Promise<void> {
      await getItem({ pk: S("#ping"), sk: S("#ping") });
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}
