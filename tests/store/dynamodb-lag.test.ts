// The DynamoDB store while its GSIs lag behind the table, as they may on AWS (dynalite applies
// them at once, so a test client answers GSI Queries from a shadow table that trails the real
// one: lagIndexes in dynalite.ts). Every read must answer the committed state as of the site item
// it read, for the writes the site item's log remembers: the same pages, fingerprints and
// tombstones as a store whose GSIs do not lag.

import { GetItemCommand, QueryCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Article, FeedFilter } from "../../src/core/model.ts";
import { createDynamoStore, INDEXES } from "../../src/store/dynamodb.ts";
import type { Cursor, Store } from "../../src/store/port.ts";
import { makeArticle, makeRecord, storeContract } from "./contract.ts";
import { freshTable, lagIndexes, localClient, startDynalite, type Dynalite, type IndexLag } from "./dynalite.ts";

let server: Dynalite;
beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server.close();
});

const ALL: FeedFilter = { kind: "all" };
const MAY = { from: "2024-05-01T00:00:00Z", to: "2024-06-01T00:00:00Z" };
const JUNE = { from: "2024-06-01T00:00:00Z", to: "2024-07-01T00:00:00Z" };
const JULY = { from: "2024-07-01T00:00:00Z", to: "2024-08-01T00:00:00Z" };
const MONTHS = [MAY, JUNE, JULY];
const day = (month: number, d: number, hour = 10): string =>
  `2024-${String(month).padStart(2, "0")}-${String(d).padStart(2, "0")}T${String(hour).padStart(2, "0")}:00:00Z`;
const now = (n: number): string => new Date(Date.parse("2024-09-01T00:00:00Z") + n * 1000).toISOString().replace(".000Z", "Z");

interface Pages {
  items: Article[][];
  nexts: Array<Cursor | undefined>;
}

/** Every page of a feed (with `notBefore`, an archive month). */
async function walk(store: Store, slug: string, filter: FeedFilter, limit: number, notBefore?: string, end?: Cursor): Promise<Pages> {
  const out: Pages = { items: [], nexts: [] };
  let before: Cursor | undefined = end;
  for (let i = 0; i < 200; i++) {
    const page = await store.listArticles(slug, { filter, limit, ...(before ? { before } : {}), ...(notBefore ? { notBefore } : {}) });
    out.items.push(page.items);
    out.nexts.push(page.next);
    if (!page.next) return out;
    before = page.next;
  }
  throw new Error("pagination did not end");
}

/** Everything a feed can show: pages of the whole site and of each filter, archive months, fingerprints, tombstones. */
async function view(store: Store, slug: string, filters: FeedFilter[], limit = 3): Promise<unknown> {
  return {
    version: await store.getSiteVersion(slug),
    timeline: await walk(store, slug, ALL, limit),
    first: await store.listArticles(slug, { filter: ALL, limit: 100 }),
    filtered: await Promise.all(filters.map((f) => walk(store, slug, f, 2))),
    archives: await Promise.all(MONTHS.map((m) => walk(store, slug, ALL, 2, m.from, { published_at: m.to, id: "" }))),
    fingerprints: await Promise.all(MONTHS.map((m) => store.rangeFingerprint(slug, m))),
    tombstones: await store.listTombstones(slug, { since: "2024-01-01T00:00:00Z", limit: 100 }),
    recentTombstones: await store.listTombstones(slug, { since: "2024-01-01T00:00:00Z", limit: 2 }),
  };
}

describe("DynamoDB store: GSIs that lag behind the table", () => {
  let table: string;
  let lagging: DynamoDBClient;
  let store: Store;
  let truth: Store;
  let lag: IndexLag;

  async function open(): Promise<void> {
    lagging = localClient(server.endpoint);
    table = await freshTable(lagging);
    store = createDynamoStore({ client: lagging, table });
    truth = createDynamoStore({ client: localClient(server.endpoint), table });
    lag = await lagIndexes(lagging, server.endpoint, table, { items: 0 });
  }

  afterEach(async () => {
    lag.close();
    await store.close();
    await truth.close();
  });

  /** The ids the timeline GSI itself shows through the lagging client (to prove the lag is real). */
  async function indexIds(slug: string): Promise<string[]> {
    const site = await siteInc(slug);
    const out = await lagging.send(
      new QueryCommand({
        TableName: table,
        IndexName: INDEXES.timeline,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: `S#${slug}#${site}` } },
        ScanIndexForward: false,
      }),
    );
    return (out.Items ?? []).map((i) => `${i.id?.S}@${i.rev?.N}`);
  }

  async function siteInc(slug: string): Promise<string> {
    const out = await lagging.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `SITE#${slug}` }, sk: { S: "SITE" } }, ConsistentRead: true }));
    return out.Item?.inc?.S ?? "";
  }

  const FILTERS: FeedFilter[] = [
    { kind: "category", name: "سياسة" },
    { kind: "category", name: "رياضة" },
    { kind: "category", name: "اقتصاد" },
    { kind: "tag", name: "روسيا" },
    { kind: "tag", name: "جديد" },
    { kind: "author", name: "نيسان" },
    { kind: "author", name: "ضيف" },
  ];

  async function expectConsistent(slug = "nisan"): Promise<void> {
    expect(await view(store, slug, FILTERS)).toStrictEqual(await view(truth, slug, FILTERS));
  }

  /** Twelve articles over May–July, in two categories; the GSIs then stop (frozen until catchUp). */
  async function seeded(): Promise<void> {
    await open();
    await store.createSite(makeRecord("nisan"));
    for (let i = 0; i < 12; i++) {
      await store.putArticle(
        "nisan",
        makeArticle(`a${String(i).padStart(2, "0")}`, {
          published_at: day(5 + Math.floor(i / 4), 2 + 2 * i),
          categories: [i % 2 === 0 ? "سياسة" : "رياضة"],
          tags: ["روسيا"],
        }),
        now(i),
      );
    }
    await lag.lag(Number.POSITIVE_INFINITY);
  }

  it("the wrapper really lags: the timeline GSI misses a publish until it catches up", async () => {
    await seeded();
    await store.putArticle("nisan", makeArticle("fresh", { published_at: day(7, 30) }), now(100));
    expect(lag.behind()).toBeGreaterThan(0);
    expect((await indexIds("nisan")).some((e) => e.startsWith("fresh@"))).toBe(false);
    await lag.catchUp();
    expect((await indexIds("nisan")).some((e) => e.startsWith("fresh@"))).toBe(true);
  });

  it("publishes: new articles at the top, in the middle, in another month and under a new category", async () => {
    await seeded();
    await store.putArticle("nisan", makeArticle("top", { published_at: day(7, 30), categories: ["اقتصاد"], tags: ["جديد"] }), now(100));
    await expectConsistent();
    await store.putArticle("nisan", makeArticle("middle", { published_at: day(6, 11), categories: ["سياسة"] }), now(101));
    await store.putArticle("nisan", makeArticle("may", { published_at: day(5, 1), categories: ["رياضة"], authors: [{ name: "ضيف" }] }), now(102));
    await expectConsistent();
    expect((await store.listArticles("nisan", { filter: ALL, limit: 1 })).items[0]?.id).toBe("top");
  });

  it("edits: new content, a new published_at (across pages and months), a category move, a dropped tag", async () => {
    await seeded();
    await store.putArticle("nisan", makeArticle("a11", { title: "edited", published_at: day(7, 24), updated_at: day(8, 1), categories: ["رياضة"], tags: ["روسيا"] }), now(100));
    await expectConsistent();
    const page = await store.listArticles("nisan", { filter: ALL, limit: 1 });
    expect(page.items[0]?.title).toBe("edited");
    // Moved from the top of July to May, and from one category to another.
    await store.putArticle("nisan", makeArticle("a10", { published_at: day(5, 20), updated_at: day(8, 2), categories: ["رياضة"], tags: [] }), now(101));
    await expectConsistent();
    // Moved up, into a category nobody had.
    await store.putArticle("nisan", makeArticle("a00", { published_at: day(7, 31), updated_at: day(8, 3), categories: ["اقتصاد"], tags: ["جديد"] }), now(102));
    await expectConsistent();
    // Edited twice while the GSIs still show neither edit.
    await store.putArticle("nisan", makeArticle("a05", { title: "first", published_at: day(6, 1), updated_at: day(8, 4) }), now(103));
    await store.putArticle("nisan", makeArticle("a05", { title: "second", published_at: day(7, 2), updated_at: day(8, 5), categories: ["اقتصاد"] }), now(104));
    await expectConsistent();
  });

  it("deletes: gone from every feed and fingerprint, listed as a tombstone; publishing again and deleting again", async () => {
    await seeded();
    await store.deleteArticle("nisan", "a11", now(100));
    await store.deleteArticle("nisan", "a04", now(101));
    await expectConsistent();
    expect((await store.listTombstones("nisan", { since: "2024-01-01T00:00:00Z", limit: 10 })).map((t) => t.id)).toStrictEqual(["a04", "a11"]);
    // Back again (the tombstone goes), and deleted again (a new tombstone).
    await store.putArticle("nisan", makeArticle("a11", { published_at: day(7, 26) }), now(102));
    await expectConsistent();
    await store.deleteArticle("nisan", "a11", now(103));
    await expectConsistent();
    // Once the GSIs catch up, a tombstone they show is trusted again, and still right.
    await lag.catchUp();
    await store.putArticle("nisan", makeArticle("a11", { published_at: day(7, 27) }), now(104));
    await expectConsistent();
  });

  it("finds an article with more terms than the log lists (logged as matching every filter) in each of its feeds", async () => {
    await seeded();
    const many = Array.from({ length: 20 }, (_, i) => `وسم${i}`);
    await store.putArticle("nisan", makeArticle("wide", { published_at: day(6, 15), categories: ["اقتصاد", ...many], tags: many }), now(100));
    await expectConsistent();
    for (const kind of ["category", "tag"] as const) {
      expect((await store.listArticles("nisan", { filter: { kind, name: "وسم19" }, limit: 5 })).items.map((a) => a.id)).toStrictEqual(["wide"]);
    }
  });

  it("reconciles when only some GSI items have caught up (index entries before their article, or after)", async () => {
    await seeded();
    // Each step lets the GSIs see all but the last k item writes: every cut of the writes below.
    const steps: Array<() => Promise<unknown>> = [
      () => store.putArticle("nisan", makeArticle("n1", { published_at: day(7, 29), categories: ["اقتصاد", "سياسة"], tags: ["جديد"] }), now(100)),
      () => store.putArticle("nisan", makeArticle("a09", { published_at: day(5, 3), updated_at: day(8, 1), categories: ["اقتصاد"] }), now(101)),
      () => store.deleteArticle("nisan", "a08", now(102)),
      () => store.putArticle("nisan", makeArticle("a08", { published_at: day(6, 30), categories: ["رياضة"] }), now(103)),
    ];
    for (const step of steps) {
      await lag.lag(Number.POSITIVE_INFINITY);
      await step();
      for (let k = lag.behind(); k >= 0; k--) {
        await lag.lag(k);
        await expectConsistent();
      }
    }
  });

  it("random publishes, edits, moves and deletes against a lagging GSI: always the committed state", async () => {
    await open();
    await store.createSite(makeRecord("nisan"));
    let seed = 20240619;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return (seed >>> 8) % n;
    };
    const categories = ["سياسة", "رياضة", "اقتصاد"];
    let held = 0;
    let clock = 0;
    for (let op = 0; op < 90; op++) {
      const id = `r${random(14)}`;
      clock += 1;
      if (random(5) === 0) {
        await store.deleteArticle("nisan", id, now(clock));
      } else {
        await store.putArticle(
          "nisan",
          makeArticle(id, {
            title: `v${op}`,
            published_at: day(5 + random(3), 1 + random(28), random(24)),
            updated_at: day(8, 1 + (op % 28), op % 24),
            categories: [categories[random(3)] ?? "سياسة"],
            tags: random(2) === 0 ? ["روسيا"] : ["جديد"],
            authors: [{ name: random(3) === 0 ? "ضيف" : "نيسان" }],
          }),
          now(clock),
        );
      }
      held += 1;
      // The GSIs trail by a random number of item writes, but never by more than 20 article writes.
      if (held >= 20 || random(4) === 0) {
        await lag.lag(random(3) === 0 ? 0 : random(12));
        held = 0;
      } else {
        await lag.lag(Number.POSITIVE_INFINITY);
      }
      await expectConsistent();
    }
  }, 120_000);

  it("past the log (more than 32 writes the GSIs have not seen), a page may miss the oldest of them; catching up mends it", async () => {
    await seeded();
    for (let i = 0; i < 40; i++) await store.putArticle("nisan", makeArticle(`late${String(i).padStart(2, "0")}`, { published_at: day(7, 28, i % 24) }), now(100 + i));
    const shown = (await store.listArticles("nisan", { filter: ALL, limit: 100 })).items.map((a) => a.id);
    const all = (await truth.listArticles("nisan", { filter: ALL, limit: 100 })).items.map((a) => a.id);
    // The documented limit: the 8 writes the log has forgotten are missing while the GSI lags.
    expect(all.filter((id) => !shown.includes(id)).sort()).toStrictEqual(Array.from({ length: 8 }, (_, i) => `late${String(i).padStart(2, "0")}`));
    expect(shown.filter((id) => !all.includes(id))).toStrictEqual([]);
    await lag.catchUp();
    await expectConsistent();
  });
});

// The whole contract with GSIs that trail the table by 10 item writes (2–3 article writes) at every
// read. One test runs without lag: pruneTombstones is not a site write (no version bump, no log
// entry), so a pruned tombstone stays listed until the GSI catches up. The app prunes only what no
// feed lists any more (tombstonesPrunableBefore), so in use that lag is never seen.
const UNLOGGED = /are pruned when deleted before the limit/;

storeContract("dynamodb (dynalite), GSIs 10 item writes behind", async () => {
  const client = localClient(server.endpoint);
  const table = await freshTable(client);
  const store = createDynamoStore({ client, table });
  const lag = await lagIndexes(client, server.endpoint, table, { items: UNLOGGED.test(expect.getState().currentTestName ?? "") ? 0 : 10 });
  return {
    store,
    cleanup: async () => {
      lag.close();
      await store.close();
    },
  };
});
