// The DynamoDB store against a real DynamoDB-compatible server (dynalite, in memory): the shared
// store contract, then what is particular to DynamoDB (keys, reads per page, stale index entries,
// concurrency, batches, interrupted deletes, TTL attributes, errors).

import {
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Article, FeedFilter } from "../../src/core/model.ts";
import { createDynamoStore, INDEXES, LOG_SIZE, TABLE_SCHEMA, TTL_ATTRIBUTE } from "../../src/store/dynamodb.ts";
import { StoreUnavailableError, type Cursor, type Store } from "../../src/store/port.ts";
import { makeArticle, makeRecord, makeSite, storeContract } from "./contract.ts";
import { countReads, freshTable, lagIndexes, localClient, startDynalite, type Dynalite } from "./dynalite.ts";

let server: Dynalite;
beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server.close();
});

storeContract("dynamodb (dynalite)", async () => {
  const client = localClient(server.endpoint);
  const table = await freshTable(client);
  const store = createDynamoStore({ client, table });
  return { store, cleanup: () => store.close() };
});

const T0 = Date.parse("2024-06-19T11:49:00Z");
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString().replace(".000Z", "Z");
const ALL: FeedFilter = { kind: "all" };

type Item = Record<string, AttributeValue>;

describe("DynamoDB store: particulars", () => {
  const opened: Store[] = [];
  let client: DynamoDBClient;
  let raw: DynamoDBClient;
  let table: string;

  async function open(extra: Parameters<typeof localClient>[1] = {}): Promise<{ store: Store; client: DynamoDBClient }> {
    client = localClient(server.endpoint, extra);
    raw = localClient(server.endpoint);
    table = await freshTable(client);
    const store = createDynamoStore({ client, table });
    opened.push(store);
    return { store, client };
  }

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    raw?.destroy();
  });

  /** The site's data partition, as the documented key layout says. */
  async function partition(slug: string): Promise<string> {
    const out = await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `SITE#${slug}` }, sk: { S: "SITE" } }, ConsistentRead: true }));
    return `S#${slug}#${out.Item?.inc?.S}`;
  }

  async function partitionItems(pk: string, prefix = ""): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await raw.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
          ExpressionAttributeValues: { ":pk": { S: pk }, ":p": { S: prefix } },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async function ids(store: Store, slug: string, filter: FeedFilter = ALL, limit = 100): Promise<string[]> {
    return (await store.listArticles(slug, { filter, limit })).items.map((a) => a.id);
  }

  async function walk(store: Store, slug: string, filter: FeedFilter, limit: number): Promise<{ ids: string[]; pages: number[] }> {
    const seen: string[] = [];
    const pages: number[] = [];
    let before: Cursor | undefined;
    for (let i = 0; i < 1000; i++) {
      const page = await store.listArticles(slug, before ? { filter, limit, before } : { filter, limit });
      seen.push(...page.items.map((a) => a.id));
      pages.push(page.items.length);
      if (!page.next) return { ids: seen, pages };
      before = page.next;
    }
    throw new Error("pagination did not end");
  }

  it("creates the table exactly as TABLE_SCHEMA says: pk/sk and one GSI per access pattern", async () => {
    await open();
    const { Table } = await raw.send(new DescribeTableCommand({ TableName: table }));
    expect(Table?.KeySchema).toEqual(TABLE_SCHEMA.KeySchema);
    const gsis = (Table?.GlobalSecondaryIndexes ?? []).map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection }));
    expect(gsis.sort((a, b) => String(a.IndexName).localeCompare(String(b.IndexName)))).toEqual(
      [...TABLE_SCHEMA.GlobalSecondaryIndexes].sort((a, b) => String(a.IndexName).localeCompare(String(b.IndexName))),
    );
    expect(Object.values(INDEXES).sort()).toEqual(gsis.map((g) => g.IndexName).sort());
  });

  it("keys names exactly: case, Arabic near-misses, '#', '%', '/' and very long names do not collide", async () => {
    const { store } = await open();
    await store.createSite(makeRecord("nisan"));
    const long = "ق".repeat(199) + "ا";
    const longOther = "ق".repeat(199) + "ب";
    const astral = "𝕏".repeat(100); // 200 UTF-16 units, 400 UTF-8 bytes, 1,200 characters percent-encoded
    const names = ["C#", "C", "c#", "C%23", "a/b", "a%2Fb", long, longOther, astral, "Tech", "tech"];
    for (const [i, name] of names.entries()) {
      await store.putArticle("nisan", makeArticle(`n${i}`, { published_at: at(i), categories: [name], tags: [name], authors: [{ name }] }), at(100));
    }
    for (const [i, name] of names.entries()) {
      for (const kind of ["category", "tag", "author"] as const) {
        expect(await ids(store, "nisan", { kind, name }), `${kind} ${name}`).toEqual([`n${i}`]);
      }
    }
    // Every key stays within DynamoDB's limits (the long names are keyed by their hash).
    for (const item of await partitionItems(await partition("nisan"))) {
      expect(new TextEncoder().encode(item.sk?.S ?? "").length).toBeLessThanOrEqual(1024);
      for (const attr of ["category_pk", "tag_pk", "author_pk"]) {
        const v = item[attr]?.S;
        if (v) expect(new TextEncoder().encode(v).length).toBeLessThanOrEqual(2048);
      }
    }
  });

  it("reads O(limit) items per page while 1,000 articles of another site and 1,000 of its own are stored", async () => {
    const { store, client } = await open();
    const counter = countReads(client);
    await store.createSite(makeRecord("nisan"));
    await store.createSite(makeRecord("other"));
    const article = (i: number): Article =>
      makeArticle(`a${String(i).padStart(4, "0")}`, {
        published_at: at(i),
        categories: [i % 2 === 0 ? "سياسة" : "رياضة"],
        tags: ["روسيا"],
        authors: [{ name: "نيسان" }],
      });
    const jobs: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 1000; i++) {
      jobs.push(() => store.putArticle("nisan", article(i), at(2000)));
      jobs.push(() => store.putArticle("other", article(i), at(2000)));
    }
    for (let i = 0; i < jobs.length; i += 50) await Promise.all(jobs.slice(i, i + 50).map((job) => job()));
    expect(await store.getSiteVersion("nisan")).toEqual({ version: 1001, modified_at: at(2000) });

    const LIMIT = 20;
    const measure = async (filter: FeedFilter, before?: Cursor) => {
      counter.reset();
      const page = await store.listArticles("nisan", before ? { filter, limit: LIMIT, before } : { filter, limit: LIMIT });
      const byCommand = (name: string) => counter.calls.filter((c) => c.command === name).reduce((sum, c) => sum + c.items, 0);
      return { page, total: counter.items(), site: byCommand("GetItemCommand"), query: byCommand("QueryCommand"), batch: byCommand("BatchGetItemCommand"), capacity: counter.capacity(), calls: counter.calls.length };
    };

    // The whole-site feed: the site item, then one Query of limit + 1 from the timeline GSI.
    const first = await measure(ALL);
    expect(first.page.items.map((a) => a.id)).toEqual(Array.from({ length: LIMIT }, (_, k) => `a${String(999 - k).padStart(4, "0")}`));
    expect(first).toMatchObject({ site: 1, query: LIMIT + 1, batch: 0, total: 1 + LIMIT + 1, calls: 2 });
    // …at any depth (the cursor is a key condition, not an offset).
    const deep = await measure(ALL, { published_at: at(100), id: "a0100" });
    expect(deep.page.items[0]?.id).toBe("a0099");
    expect(deep).toMatchObject({ site: 1, query: LIMIT + 1, batch: 0, total: 1 + LIMIT + 1, calls: 2 });

    // A category feed: index entries (limit + 1 + over-fetch of 4) and the limit + 1 articles by key.
    const category = await measure({ kind: "category", name: "سياسة" });
    expect(category.page.items.map((a) => a.id)).toEqual(Array.from({ length: LIMIT }, (_, k) => `a${String(998 - 2 * k).padStart(4, "0")}`));
    expect(category).toMatchObject({ site: 1, query: LIMIT + 1 + 4, batch: LIMIT + 1, calls: 3 });
    const deepTag = await measure({ kind: "tag", name: "روسيا" }, { published_at: at(500), id: "a0500" });
    expect(deepTag.page.items[0]?.id).toBe("a0499");
    expect(deepTag).toMatchObject({ site: 1, query: LIMIT + 1 + 4, batch: LIMIT + 1, calls: 3 });

    console.log(
      `items read for a page of ${LIMIT} with 2,000 articles stored: timeline ${first.total} (capacity ${first.capacity}), ` +
        `deep timeline ${deep.total}, category ${category.total} (capacity ${category.capacity}), deep tag ${deepTag.total}`,
    );

    // The site item carries the log of the last 32 writes and is still one 4 KB read unit.
    counter.reset();
    await store.getSiteVersion("nisan");
    expect(counter.capacity()).toBe(1);
    const siteItem = (await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "SITE#nisan" }, sk: { S: "SITE" } }, ConsistentRead: true }))).Item ?? {};
    expect(Object.keys(siteItem).filter((k) => /^l\d+$/.test(k)).length).toBe(LOG_SIZE);
    // DynamoDB's item size: attribute names and values in UTF-8 bytes, numbers ~ digits / 2 + 1, maps + 3.
    const size = (value: AttributeValue): number =>
      value.S !== undefined
        ? new TextEncoder().encode(value.S).length
        : value.N !== undefined
          ? Math.ceil(value.N.length / 2) + 1
          : value.M
            ? 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + name.length + 1 + size(v), 0)
            : 1;
    const siteBytes = Object.entries(siteItem).reduce((sum, [name, v]) => sum + name.length + size(v), 0);
    const logBytes = Object.entries(siteItem).filter(([name]) => /^l\d+$/.test(name)).reduce((sum, [name, v]) => sum + name.length + size(v), 0);
    expect(siteBytes).toBeLessThan(4096);

    // Now the GSIs stop (they see none of what follows): 3 publishes at the top, an edit, a
    // category move, a delete and a move to the top. Pages still answer the committed state, for
    // one extra read by key per logged write in the page's window, and nothing else.
    const lag = await lagIndexes(client, server.endpoint, table, { items: Number.POSITIVE_INFINITY });
    const truth = createDynamoStore({ client: localClient(server.endpoint), table });
    opened.push(truth);
    for (let i = 0; i < 3; i++) await store.putArticle("nisan", makeArticle(`b${i}`, { published_at: at(1001 + i), categories: ["سياسة"], tags: ["روسيا"] }), at(2001));
    await store.putArticle("nisan", { ...article(999), title: "edited", updated_at: at(2002) }, at(2002));
    await store.putArticle("nisan", { ...article(998), categories: ["رياضة"], updated_at: at(2003) }, at(2003));
    await store.deleteArticle("nisan", "a0997", at(2004));
    await store.putArticle("nisan", { ...article(500), published_at: at(1004), updated_at: at(2005) }, at(2005));
    const WRITES = 7;
    expect(lag.behind()).toBeGreaterThan(0);
    const lagging = {
      timeline: await measure(ALL),
      category: await measure({ kind: "category", name: "سياسة" }),
      deep: await measure(ALL, { published_at: at(100), id: "a0100" }),
      deepTag: await measure({ kind: "tag", name: "روسيا" }, { published_at: at(500), id: "a0500" }),
    };
    expect(lagging.timeline.page).toStrictEqual(await truth.listArticles("nisan", { filter: ALL, limit: LIMIT }));
    expect(lagging.timeline.page.items.slice(0, 5).map((a) => a.id)).toStrictEqual(["a0500", "b2", "b1", "b0", "a0999"]);
    expect(lagging.category.page).toStrictEqual(await truth.listArticles("nisan", { filter: { kind: "category", name: "سياسة" }, limit: LIMIT }));
    expect(lagging.deep.page).toStrictEqual(await truth.listArticles("nisan", { filter: ALL, limit: LIMIT, before: { published_at: at(100), id: "a0100" } }));
    expect(lagging.deepTag.page).toStrictEqual(
      await truth.listArticles("nisan", { filter: { kind: "tag", name: "روسيا" }, limit: LIMIT, before: { published_at: at(500), id: "a0500" } }),
    );
    // The timeline: the same Query, plus the logged writes it does not show (read by key, one call).
    expect(lagging.timeline).toMatchObject({ site: 1, query: LIMIT + 1, calls: 3 });
    expect(lagging.timeline.batch).toBeGreaterThan(0);
    expect(lagging.timeline.batch).toBeLessThanOrEqual(WRITES);
    // A category: at most the logged writes more than without lag.
    expect(lagging.category.total).toBeLessThanOrEqual(category.total + WRITES);
    // Deep pages: nothing logged falls in their window, so exactly as without lag.
    expect(lagging.deep).toMatchObject({ site: 1, query: LIMIT + 1, batch: 0, calls: 2 });
    expect(lagging.deepTag).toMatchObject({ site: 1, batch: LIMIT + 1, calls: 3 });
    // Tombstones and fingerprints: the deletion and the moves, read by key.
    counter.reset();
    expect(await store.listTombstones("nisan", { since: at(0), limit: LIMIT })).toStrictEqual(await truth.listTombstones("nisan", { since: at(0), limit: LIMIT }));
    const tombstoneReads = counter.items();
    const june = { from: "2024-06-01T00:00:00Z", to: "2024-07-01T00:00:00Z" };
    expect(await store.rangeFingerprint("nisan", june)).toBe(await truth.rangeFingerprint("nisan", june));
    console.log(
      `with the GSIs ${WRITES} writes behind: timeline ${lagging.timeline.total} items (${lagging.timeline.batch} by key, capacity ${lagging.timeline.capacity}), ` +
        `category ${lagging.category.total} (capacity ${lagging.category.capacity}), deep timeline ${lagging.deep.total}, deep tag ${lagging.deepTag.total}, ` +
        `tombstones ${tombstoneReads}; site item ${siteBytes} bytes, of which the log ${logBytes}`,
    );
    // Caught up: back to the reads without lag.
    await lag.catchUp();
    expect(await measure(ALL)).toMatchObject({ site: 1, query: LIMIT + 1, batch: 0, total: 1 + LIMIT + 1, calls: 2 });
    expect(await measure({ kind: "category", name: "سياسة" })).toMatchObject({ site: 1, query: LIMIT + 1 + 4, batch: LIMIT + 1, calls: 3 });
    lag.close();
  }, 180_000);

  it("logs each write in slot rev mod 32 of the site item, with the version bump; a slot holding a newer write is kept", async () => {
    const { store } = await open();
    await store.createSite(makeRecord("nisan"));
    const siteItem = async (): Promise<Item> =>
      (await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "SITE#nisan" }, sk: { S: "SITE" } }, ConsistentRead: true }))).Item ?? {};
    await store.putArticle("nisan", makeArticle("a", { published_at: at(1) }), at(10));
    await store.deleteArticle("nisan", "a", at(11));
    const wide = Array.from({ length: 20 }, (_, i) => `t${i}`);
    await store.putArticle("nisan", makeArticle("b", { published_at: at(2), categories: ["C#"], tags: wide }), at(12));
    const item = await siteItem();
    expect(item.seq?.N).toBe("3");
    expect(item.version?.N).toBe("4");
    const slot = (n: number) => ({ rev: item[`l${n}`]?.M?.r?.N, write: JSON.parse(item[`l${n}`]?.M?.w?.S ?? "null") as unknown });
    // [id, ms, deleted, term hashes]: a publish, a delete (its deleted_at), and an article with
    // more than 16 terms, logged as matching every filter.
    expect(slot(1)).toMatchObject({ rev: "1", write: ["a", Date.parse(at(1)), 0, expect.stringMatching(/^[0-9a-z]+( [0-9a-z]+){4}$/)] });
    expect(slot(2)).toStrictEqual({ rev: "2", write: ["a", Date.parse(at(11)), 1] });
    expect(slot(3)).toStrictEqual({ rev: "3", write: ["b", Date.parse(at(2)), 0, "*"] });

    // A write whose slot already holds a newer revision (32 revisions allocated while it was in
    // flight, simulated here) bumps the version without overwriting the newer entry.
    const newer = { M: { r: { N: String(4 + LOG_SIZE) }, w: { S: JSON.stringify(["z", 0, 1]) } } };
    await raw.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: "SITE#nisan" }, sk: { S: "SITE" } },
        UpdateExpression: "SET l4 = :w",
        ExpressionAttributeValues: { ":w": newer },
      }),
    );
    expect((await store.putArticle("nisan", makeArticle("c", { published_at: at(3) }), at(13))).outcome).toBe("created");
    const after = await siteItem();
    expect(after.seq?.N).toBe("4");
    expect(after.version?.N).toBe("5");
    expect(after.modified_at?.S).toBe(at(13));
    expect(after.l4).toStrictEqual(newer);
    expect(await ids(store, "nisan")).toEqual(["c", "b"]);
  });

  it("ignores index entries no article revision matches, and keeps pages full (over-fetch)", async () => {
    const { store } = await open();
    await store.createSite(makeRecord("nisan"));
    for (let i = 0; i < 12; i++) {
      await store.putArticle("nisan", makeArticle(`a${String(i).padStart(2, "0")}`, { published_at: at(i), categories: ["سياسة"] }), at(100));
    }
    const pk = await partition("nisan");
    const categoryPk = (await partitionItems(pk, "X#")).find((e) => e.category_pk)?.category_pk?.S;
    expect(categoryPk).toBeDefined();
    // Entries as a write that died before its commit leaves them: revisions no article carries,
    // for real articles (newer positions) and for ids that were never committed.
    const garbage = async (id: string, rev: number, minutes: number) =>
      raw.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: pk },
            sk: { S: `X#${id}#${rev}#c#x` },
            id: { S: id },
            rev: { N: String(rev) },
            term_pos: { S: `${String(Date.parse(at(minutes)) + 100_000_000_000_000).padStart(15, "0")}#${id}` },
            category_pk: { S: categoryPk ?? "" },
          },
        }),
      );
    for (let i = 0; i < 12; i++) await garbage(`a${String(i).padStart(2, "0")}`, 9000 + i, 50 + i);
    for (let i = 0; i < 12; i++) await garbage(`ghost${i}`, 9100 + i, i);

    const expected = Array.from({ length: 12 }, (_, i) => `a${String(11 - i).padStart(2, "0")}`);
    const first = await store.listArticles("nisan", { filter: { kind: "category", name: "سياسة" }, limit: 5 });
    expect(first.items.map((a) => a.id)).toEqual(expected.slice(0, 5));
    expect(first.next).toEqual({ published_at: at(7), id: "a07" });
    const all = await walk(store, "nisan", { kind: "category", name: "سياسة" }, 5);
    expect(all.ids).toEqual(expected);
    expect(all.pages).toEqual([5, 5, 2]);
    // The whole-site feed is the article items themselves: no entries to go stale.
    expect(await ids(store, "nisan")).toEqual(expected);
  });

  it("never loses an update under concurrent writes of one article: newest updated_at wins, entries match it", async () => {
    const { store } = await open();
    await store.createSite(makeRecord("nisan"));
    await store.putArticle("nisan", makeArticle("a", { categories: ["c-start"] }), at(1));
    const versions = Array.from({ length: 12 }, (_, i) =>
      makeArticle("a", { title: `v${i}`, updated_at: at(10 + i), published_at: at(i % 3), categories: [`c${i}`], tags: [`t${i}`] }),
    );
    const results = await Promise.all(versions.map((v) => store.putArticle("nisan", v, at(50))));
    const newest = versions[11]!;
    expect(await store.getArticle("nisan", "a")).toStrictEqual(newest);
    expect(results.filter((r) => r.outcome === "updated").length).toBeGreaterThanOrEqual(1);
    for (const r of results) if (r.outcome === "stale") expect(Date.parse(r.article.updated_at)).toBeGreaterThan(0);
    expect(await ids(store, "nisan", { kind: "category", name: "c11" })).toEqual(["a"]);
    for (let i = 0; i < 11; i++) expect(await ids(store, "nisan", { kind: "category", name: `c${i}` })).toEqual([]);
    expect(await ids(store, "nisan", { kind: "category", name: "c-start" })).toEqual([]);
    // Only the committed revision's entries are left: one category, one tag, one author.
    const entries = await partitionItems(await partition("nisan"), "X#");
    expect(entries).toHaveLength(3);
    const article = await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: await partition("nisan") }, sk: { S: "A#a" } }, ConsistentRead: true }));
    for (const e of entries) expect(e.rev?.N).toBe(article.Item?.rev?.N);
    // Every write that was applied bumped the version once.
    const applied = results.filter((r) => r.outcome === "updated").length;
    expect((await store.getSiteVersion("nisan"))?.version).toBe(2 + applied);
  });

  it("bumps the site version once per write when many articles are written at once", async () => {
    const { store } = await open();
    await store.createSite(makeRecord("nisan"));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.putArticle("nisan", makeArticle(`a${i}`, { published_at: at(i) }), at(60))));
    expect(await store.getSiteVersion("nisan")).toEqual({ version: 41, modified_at: at(60) });
    expect((await walk(store, "nisan", ALL, 7)).ids).toHaveLength(40);
  });

  it("retries unprocessed batch items and keys with backoff (the server is made to process only a few)", async () => {
    const { store, client } = await open();
    // dynalite never leaves items unprocessed, so this client sends only the first 3 of each batch
    // and hands the rest back as DynamoDB does: as UnprocessedItems / UnprocessedKeys.
    let trimmed = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { RequestItems?: Record<string, unknown[] | { Keys?: unknown[] }> };
        if (context.commandName === "BatchWriteItemCommand" && input.RequestItems) {
          const [name, list] = Object.entries(input.RequestItems)[0] ?? [];
          if (name && Array.isArray(list) && list.length > 3) {
            trimmed += 1;
            input.RequestItems = { [name]: list.slice(0, 3) };
            const result = await next(args);
            Object.assign(result.output as object, { UnprocessedItems: { [name]: list.slice(3) } });
            return result;
          }
        }
        if (context.commandName === "BatchGetItemCommand" && input.RequestItems) {
          const [name, request] = Object.entries(input.RequestItems)[0] ?? [];
          if (name && request && !Array.isArray(request) && request.Keys && request.Keys.length > 3) {
            trimmed += 1;
            input.RequestItems = { [name]: { ...request, Keys: request.Keys.slice(0, 3) } };
            const result = await next(args);
            Object.assign(result.output as object, { UnprocessedKeys: { [name]: { ...request, Keys: request.Keys.slice(3) } } });
            return result;
          }
        }
        return next(args);
      },
      { step: "initialize", name: "processOnlyThree" },
    );
    await store.createSite(makeRecord("nisan"));
    const many = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await store.putArticle("nisan", makeArticle("wide", { published_at: at(50), categories: many, tags: many }), at(1));
    for (let i = 0; i < 8; i++) await store.putArticle("nisan", makeArticle(`a${i}`, { published_at: at(i), categories: ["c0"] }), at(2));
    expect(await ids(store, "nisan", { kind: "category", name: "c39" })).toEqual(["wide"]);
    expect(await ids(store, "nisan", { kind: "tag", name: "c17" })).toEqual(["wide"]);
    expect(await ids(store, "nisan", { kind: "category", name: "c0" })).toEqual(["wide", "a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"]);
    expect(trimmed).toBeGreaterThan(5);
    // 40 categories + 40 tags + 1 author, and 8 × (1 category + 2 tags + 1 author).
    expect((await partitionItems(await partition("nisan"), "X#")).length).toBe(81 + 8 * 4);
    expect(await store.deleteSite("nisan")).toBe(true);
  });

  it("deletes a site with more items than one batch, and an interrupted delete leaves nothing a new site can see", async () => {
    const { store, client } = await open();
    await store.createSite(makeRecord("nisan"));
    for (let i = 0; i < 30; i++) await store.putArticle("nisan", makeArticle(`a${i}`, { published_at: at(i) }), at(40));
    await store.claimWebhook("nisan", "msg", "h", at(41), 60_000);
    const oldPartition = await partition("nisan");
    expect((await partitionItems(oldPartition)).length).toBe(30 * 6 + 1);

    // The first batch delete fails: the site item is already gone (the commit point).
    let failNext = true;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "BatchWriteItemCommand" && failNext) {
          failNext = false;
          throw Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
        }
        return next(args);
      },
      { step: "initialize", name: "failOnce" },
    );
    await expect(store.deleteSite("nisan")).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.getSite("nisan")).toBeUndefined();
    expect((await partitionItems(oldPartition)).length).toBe(30 * 6 + 1);

    // A recreated site has a new incarnation: none of the leftovers can be reached.
    await store.createSite(makeRecord("nisan"));
    expect(await partition("nisan")).not.toBe(oldPartition);
    expect(await ids(store, "nisan")).toEqual([]);
    expect(await store.getArticle("nisan", "a1")).toBeUndefined();
    expect(await ids(store, "nisan", { kind: "category", name: "سياسة" })).toEqual([]);
    expect(await store.claimWebhook("nisan", "msg", "h", at(42), 60_000)).toEqual({ state: "claimed" });

    // The next delete of the slug finishes the interrupted one too (its marker names the partition).
    expect(await store.deleteSite("nisan")).toBe(true);
    expect(await partitionItems(oldPartition)).toEqual([]);
    expect(await partitionItems("SITE#nisan")).toEqual([]);
    // …and so does a delete that finds no site.
    await raw.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "SITE#nisan" }, sk: { S: "GONE#dead" } } }));
    await raw.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "S#nisan#dead" }, sk: { S: "A#x" } } }));
    expect(await store.deleteSite("nisan")).toBe(false);
    expect(await partitionItems("S#nisan#dead")).toEqual([]);
    expect(await partitionItems("SITE#nisan")).toEqual([]);
  });

  it("reads replay records by key only and stamps them with a TTL; tombstones get none", async () => {
    const { store, client } = await open();
    await store.createSite(makeRecord("nisan", { site: makeSite("nisan", { tombstone_days: 10 }) }));
    const commands: Array<{ name: string; index?: string }> = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { IndexName?: string };
        commands.push({ name: context.commandName ?? "?", ...(input.IndexName ? { index: input.IndexName } : {}) });
        return next(args);
      },
      { step: "initialize", name: "log" },
    );
    await store.claimWebhook("nisan", "msg", "h", at(0), 60_000);
    await store.claimWebhook("nisan", "msg", "h", at(0), 60_000);
    await store.completeWebhook("nisan", "msg", { status: 201, body: "{}" }, at(1));
    await store.claimWebhook("nisan", "msg", "h", at(2), 60_000);
    await store.releaseWebhook("nisan", "msg");
    expect(commands.filter((c) => c.index !== undefined || c.name === "QueryCommand" || c.name === "ScanCommand")).toEqual([]);

    const pk = await partition("nisan");
    const hook = await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: "W#msg" } }, ConsistentRead: true }));
    expect(Number(hook.Item?.[TTL_ATTRIBUTE]?.N)).toBe(Date.parse(at(1)) / 1000 + 7 * 86_400);
    expect(Number(hook.Item?.[TTL_ATTRIBUTE]?.N) * 1000 - Date.parse(at(1))).toBeGreaterThanOrEqual(72 * 3_600_000);

    await store.putArticle("nisan", makeArticle("a"), at(3));
    await store.deleteArticle("nisan", "a", at(4));
    const tomb = await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: "A#a" } }, ConsistentRead: true }));
    // No TTL on tombstones: a clock-based expiry could remove one the Atom feed still lists (the app prunes them).
    expect(tomb.Item?.deleted_at?.S).toBe(at(4));
    expect(tomb.Item?.[TTL_ATTRIBUTE]).toBeUndefined();
    expect(tomb.Item?.expiry_pk).toBeUndefined();
    expect(tomb.Item?.data).toBeUndefined();
    // Publishing again replaces the tombstone in the same conditional put.
    await store.putArticle("nisan", makeArticle("a"), at(5));
    const back = await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: "A#a" } }, ConsistentRead: true }));
    expect(back.Item?.[TTL_ATTRIBUTE]).toBeUndefined();
    expect(await store.listTombstones("nisan", { since: at(0), limit: 10 })).toEqual([]);
  });

  it("reports an engine that does not answer as unavailable, and is unavailable after close", async () => {
    const dead = createDynamoStore({ client: localClient("http://127.0.0.1:9", { maxAttempts: 1 }), table: "nashir" });
    opened.push(dead);
    await expect(dead.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(dead.getSite("nisan")).rejects.toBeInstanceOf(StoreUnavailableError);

    const { store } = await open();
    await store.ping();
    const missing = createDynamoStore({ client: localClient(server.endpoint), table: "no-such-table" });
    opened.push(missing);
    await expect(missing.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.putArticle("nisan", makeArticle("a"), at(1))).rejects.toThrow(/closed/);
  });

  it("leaves other errors as they are", async () => {
    const { store } = await open();
    const err = await store.putArticle("ghost", makeArticle("a"), at(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
    expect(String(err)).toMatch(/unknown site: ghost/);
    // A raw delete of the site item behind the store's back: writes refuse, nothing is half-written.
    await store.createSite(makeRecord("nisan"));
    await raw.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: "SITE#nisan" }, sk: { S: "SITE" } } }));
    await expect(store.putArticle("nisan", makeArticle("a"), at(1))).rejects.toThrow(/unknown site/);
  });
});
