import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../../src/store/migrations.ts";
import { createSqliteStore, FEED_SQL, SQL, type GroupCommit } from "../../src/store/sqlite.ts";
import { StoreUnavailableError, type Store } from "../../src/store/port.ts";
import { makeArticle, makeRecord, storeContract } from "./contract.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "nashir-sqlite-"));
}

storeContract("sqlite", async () => {
  const dir = await tempDir();
  // A folder that does not exist yet: the store creates it.
  const store = createSqliteStore({ path: join(dir, "data", "nashir.db") });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

type Row = Record<string, unknown>;

describe("sqlite store", () => {
  let dir: string;
  let path: string;
  const open: Store[] = [];
  const raw: DatabaseSync[] = [];

  function openStore(): Store {
    const store = createSqliteStore({ path });
    open.push(store);
    return store;
  }

  /** A second, plain connection to the same file, to look under the port. */
  function rawDb(): DatabaseSync {
    const db = new DatabaseSync(path, { timeout: 5000 });
    raw.push(db);
    return db;
  }

  beforeEach(async () => {
    dir = await tempDir();
    path = join(dir, "nested", "deeper", "nashir.db");
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const db of raw.splice(0)) if (db.isOpen) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the folder and opens the file in WAL mode, with foreign keys declared", async () => {
    openStore();
    expect((await stat(path)).isFile()).toBe(true);
    const db = rawDb();
    expect(db.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    // synchronous and foreign_keys are per connection and cannot be read from another one.
    const fks = db.prepare("PRAGMA foreign_key_list(article_terms)").all() as Row[];
    expect(fks.map((r) => r.table)).toEqual(["articles", "articles"]);
  });

  it("keeps data across close and reopen", async () => {
    const first = openStore();
    await first.createSite(makeRecord("nisan"));
    await first.putArticle("nisan", makeArticle("a", { categories: ["سياسة"] }), "2024-06-19T12:00:00Z");
    await first.claimWebhook("nisan", "msg_1", "h", "2024-06-19T12:00:00Z", 60_000);
    await first.completeWebhook("nisan", "msg_1", { status: 201, body: "{}" }, "2024-06-19T12:00:00Z");
    await first.close();
    await first.close();
    await expect(first.ping()).rejects.toThrow(/closed/);

    const second = openStore();
    expect(await second.getSiteVersion("nisan")).toEqual({ version: 2, modified_at: "2024-06-19T12:00:00Z" });
    expect(await second.getArticle("nisan", "a")).toStrictEqual(makeArticle("a", { categories: ["سياسة"] }));
    const page = await second.listArticles("nisan", { filter: { kind: "category", name: "سياسة" }, limit: 10 });
    expect(page.items.map((a) => a.id)).toEqual(["a"]);
    expect(await second.claimWebhook("nisan", "msg_1", "h", "2024-06-19T12:01:00Z", 60_000)).toEqual({
      state: "done",
      body_hash: "h",
      response: { status: 201, body: "{}" },
    });
  });

  it("applies each migration once and records it", async () => {
    const first = openStore();
    await first.createSite(makeRecord("nisan"));
    await first.close();
    // Reopening must not re-run the DDL (CREATE TABLE without IF NOT EXISTS would fail).
    const second = openStore();
    expect(await second.getSite("nisan")).toStrictEqual(makeRecord("nisan"));
    await second.close();
    openStore();

    const rows = rawDb().prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as Row[];
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
  });

  it("applies only the pending migrations, in one transaction each open", async () => {
    const base = migrations;
    const first = createSqliteStore({ path, migrations: base });
    await first.close();
    const extra = [
      ...base,
      { version: 1000, name: "add-notes", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)" },
    ];
    const second = createSqliteStore({ path, migrations: extra });
    await second.close();
    const db = rawDb();
    const versions = (db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as Row[]).map((r) => r.version);
    expect(versions).toEqual([...base.map((m) => m.version), 1000]);
    db.close();

    // A failing migration leaves nothing behind: not its table, not its record.
    const broken = [
      ...extra,
      { version: 1001, name: "half", sql: "CREATE TABLE half (x INTEGER); CREATE TABLE half (y INTEGER);" },
    ];
    expect(() => createSqliteStore({ path, migrations: broken })).toThrow(/half/);
    const after = rawDb();
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    expect(after.prepare("SELECT max(version) AS v FROM schema_migrations").get()).toEqual({ v: 1000 });
  });

  it("refuses a database whose schema is newer than the code", async () => {
    const newer = [...migrations, { version: 999, name: "future", sql: "CREATE TABLE future (x INTEGER)" }];
    await createSqliteStore({ path, migrations: newer }).close();
    expect(() => createSqliteStore({ path })).toThrow(/newer/);
  });

  it("refuses migrations listed out of order", () => {
    const shuffled = [{ version: 2, name: "b", sql: "SELECT 1" }, { version: 1, name: "a", sql: "SELECT 1" }];
    expect(() => createSqliteStore({ path, migrations: shuffled })).toThrow(/increase/);
  });

  describe("feed queries are O(limit): an index seek in feed order, never a scan or a sort", () => {
    function plan(db: DatabaseSync, sql: string, args: Array<string | number>): string[] {
      return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Row[]).map((r) => String(r.detail));
    }

    function expectSeekOnly(details: string[]): void {
      expect(details.length).toBeGreaterThan(0);
      for (const d of details) {
        expect(d).toMatch(/^SEARCH /);
        expect(d).not.toMatch(/SCAN|TEMP B-TREE/);
      }
    }

    async function seeded(): Promise<DatabaseSync> {
      const store = openStore();
      await store.createSite(makeRecord("nisan"));
      await store.createSite(makeRecord("other"));
      for (let i = 0; i < 300; i++) {
        const published = new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 3) * 60_000).toISOString();
        const a = makeArticle(`a${i}`, {
          published_at: published,
          categories: [`c${i % 4}`],
          tags: [`t${i % 30}`, "all"],
          authors: [{ name: `w${i % 7}` }],
        });
        await store.putArticle(i % 5 === 0 ? "other" : "nisan", a, "2024-06-19T12:00:00Z");
      }
      const db = rawDb();
      return db;
    }

    for (const analyzed of [false, true]) {
      it(`whole-site feed seeks on (site, published_ms, id)${analyzed ? " after ANALYZE" : ""}`, async () => {
        const db = await seeded();
        if (analyzed) db.exec("ANALYZE");
        const first = plan(db, FEED_SQL.all, ["nisan", 11]);
        expectSeekOnly(first);
        expect(first).toEqual([expect.stringMatching(/^SEARCH articles USING (COVERING )?INDEX articles_feed \(site=\?\)/)]);
        const later = plan(db, FEED_SQL.allBefore, ["nisan", 1704067200000, "a9", 11]);
        expectSeekOnly(later);
        // The cursor is part of the seek, not a filter over every newer row.
        expect(later).toEqual([
          expect.stringMatching(/^SEARCH articles USING (COVERING )?INDEX articles_feed \(site=\? AND \(published_ms,id\)<\(\?,\?\)\)/),
        ]);
      });

      it(`filtered feed seeks on (site, kind, name, published_ms, id)${analyzed ? " after ANALYZE" : ""}`, async () => {
        const db = await seeded();
        if (analyzed) db.exec("ANALYZE");
        for (const [kind, name] of [["category", "c1"], ["tag", "all"], ["author", "w3"]] as const) {
          const first = plan(db, FEED_SQL.term, ["nisan", kind, name, 11]);
          expectSeekOnly(first);
          expect(first).toEqual([
            expect.stringMatching(/^SEARCH t USING PRIMARY KEY \(site=\? AND kind=\? AND name=\?\)/),
            expect.stringMatching(/^SEARCH a USING PRIMARY KEY \(site=\? AND id=\?\)/),
          ]);
          const later = plan(db, FEED_SQL.termBefore, ["nisan", kind, name, 1704067200000, "a9", 11]);
          expectSeekOnly(later);
          expect(later).toEqual([
            expect.stringMatching(
              /^SEARCH t USING PRIMARY KEY \(site=\? AND kind=\? AND name=\? AND \(published_ms,id\)<\(\?,\?\)\)/,
            ),
            expect.stringMatching(/^SEARCH a USING PRIMARY KEY \(site=\? AND id=\?\)/),
          ]);
        }
      });

      it(`archive pages (notBefore) seek between both ends of the range${analyzed ? " after ANALYZE" : ""}`, async () => {
        const db = await seeded();
        if (analyzed) db.exec("ANALYZE");
        // published_ms >= ? is the lower end of the same seek (shown as ">"), so a page stops at the
        // start of the month instead of walking every older article.
        const first = plan(db, FEED_SQL.allSince, ["nisan", 1704067200000, 11]);
        expectSeekOnly(first);
        expect(first).toEqual([expect.stringMatching(/^SEARCH articles USING (COVERING )?INDEX articles_feed \(site=\? AND published_ms>\?\)/)]);
        const later = plan(db, FEED_SQL.allSinceBefore, ["nisan", 1704067200000, 1704070000000, "a9", 11]);
        expectSeekOnly(later);
        expect(later).toEqual([
          expect.stringMatching(
            /^SEARCH articles USING (COVERING )?INDEX articles_feed \(site=\? AND published_ms>\? AND \(published_ms,id\)<\(\?,\?\)\)/,
          ),
        ]);
        for (const [kind, name] of [["category", "c1"], ["tag", "all"], ["author", "w3"]] as const) {
          const term = plan(db, FEED_SQL.termSince, ["nisan", kind, name, 1704067200000, 11]);
          expectSeekOnly(term);
          expect(term).toEqual([
            expect.stringMatching(/^SEARCH t USING PRIMARY KEY \(site=\? AND kind=\? AND name=\? AND published_ms>\?\)/),
            expect.stringMatching(/^SEARCH a USING PRIMARY KEY \(site=\? AND id=\?\)/),
          ]);
          const termLater = plan(db, FEED_SQL.termSinceBefore, ["nisan", kind, name, 1704067200000, 1704070000000, "a9", 11]);
          expectSeekOnly(termLater);
          expect(termLater).toEqual([
            expect.stringMatching(
              /^SEARCH t USING PRIMARY KEY \(site=\? AND kind=\? AND name=\? AND published_ms>\? AND \(published_ms,id\)<\(\?,\?\)\)/,
            ),
            expect.stringMatching(/^SEARCH a USING PRIMARY KEY \(site=\? AND id=\?\)/),
          ]);
        }
      });

      it(`range fingerprints are answered from the timeline index alone${analyzed ? " after ANALYZE" : ""}`, async () => {
        const db = await seeded();
        if (analyzed) db.exec("ANALYZE");
        const details = plan(db, SQL.rangeFingerprint, ["nisan", 1704067200000, 1704070000000]);
        expectSeekOnly(details);
        // COVERING: count, max(rev) and sum(rev) come from the index entries; no article is read.
        expect(details).toEqual([
          expect.stringMatching(/^SEARCH articles USING COVERING INDEX articles_feed \(site=\? AND published_ms>\? AND published_ms<\?\)$/),
        ]);
      });

      it(`tombstones are listed through their index, newest first, and pruned by age${analyzed ? " after ANALYZE" : ""}`, async () => {
        const db = await seeded();
        const store = open[0]!;
        for (let i = 0; i < 40; i++) {
          await store.deleteArticle("nisan", `a${i * 5 + 1}`, new Date(Date.UTC(2024, 6, 1) + i * 1000).toISOString());
        }
        if (analyzed) db.exec("ANALYZE");
        const details = plan(db, SQL.listTombstones, ["nisan", 1719792000000, 10]);
        expectSeekOnly(details);
        expect(details).toEqual([expect.stringMatching(/^SEARCH tombstones USING INDEX tombstones_recent \(site=\? AND deleted_ms>\?\)$/)]);
        const prune = plan(db, SQL.pruneTombstones, ["nisan", 1719792000000]);
        expect(prune).toEqual([expect.stringMatching(/^SEARCH tombstones USING (COVERING )?INDEX tombstones_recent \(site=\? AND deleted_ms<\?\)$/)]);
      });
    }

    it("the seeded feeds page correctly through those plans", async () => {
      await seeded();
      const store = open[0]!;
      const seen: string[] = [];
      let page = await store.listArticles("nisan", { filter: { kind: "tag", name: "all" }, limit: 17 });
      seen.push(...page.items.map((a) => a.id));
      while (page.next) {
        page = await store.listArticles("nisan", { filter: { kind: "tag", name: "all" }, limit: 17, before: page.next });
        seen.push(...page.items.map((a) => a.id));
      }
      expect(seen).toHaveLength(240);
      expect(new Set(seen).size).toBe(240);
    });
  });

  describe("a write that fails half-way leaves nothing", () => {
    // An honest mid-transaction failure: a trigger (added through a second connection) makes
    // SQLite refuse one term row, after the article row of the same put was already written.
    function armTrap(): DatabaseSync {
      const db = rawDb();
      db.exec(`CREATE TRIGGER trap BEFORE INSERT ON article_terms WHEN NEW.name = 'boom'
BEGIN SELECT RAISE(ABORT, 'trap sprung'); END`);
      return db;
    }

    it("on create", async () => {
      const store = openStore();
      await store.createSite(makeRecord("nisan"));
      const trap = armTrap();
      const before = await store.getSiteVersion("nisan");
      await expect(
        store.putArticle("nisan", makeArticle("a", { categories: ["سياسة", "boom"] }), "2024-06-19T12:00:00Z"),
      ).rejects.toThrow(/trap sprung/);
      expect(await store.getArticle("nisan", "a")).toBeUndefined();
      expect(await store.getSiteVersion("nisan")).toEqual(before);
      expect((await store.listArticles("nisan", { filter: { kind: "category", name: "سياسة" }, limit: 10 })).items).toEqual([]);
      expect(trap.prepare("SELECT count(*) AS n FROM article_terms").get()).toEqual({ n: 0 });
      expect(trap.prepare("SELECT count(*) AS n FROM articles").get()).toEqual({ n: 0 });

      // The connection is usable afterwards, and the same put succeeds once the trap is gone.
      trap.exec("DROP TRIGGER trap");
      const ok = await store.putArticle("nisan", makeArticle("a", { categories: ["سياسة", "boom"] }), "2024-06-19T12:00:00Z");
      expect(ok.outcome).toBe("created");
    });

    it("on update: the previous article and its terms stay whole", async () => {
      const store = openStore();
      await store.createSite(makeRecord("nisan"));
      const original = makeArticle("a", { categories: ["سياسة"], tags: ["old"] });
      await store.putArticle("nisan", original, "2024-06-19T12:00:00Z");
      armTrap();
      const before = await store.getSiteVersion("nisan");
      const changed = makeArticle("a", {
        title: "changed",
        categories: ["رياضة"],
        tags: ["new", "boom"],
        updated_at: "2024-06-19T13:00:00Z",
      });
      await expect(store.putArticle("nisan", changed, "2024-06-19T13:00:00Z")).rejects.toThrow(/trap sprung/);
      expect(await store.getArticle("nisan", "a")).toStrictEqual(original);
      expect(await store.getSiteVersion("nisan")).toEqual(before);
      const ids = async (kind: "category" | "tag", name: string): Promise<string[]> =>
        (await store.listArticles("nisan", { filter: { kind, name }, limit: 10 })).items.map((x) => x.id);
      expect(await ids("category", "سياسة")).toEqual(["a"]);
      expect(await ids("tag", "old")).toEqual(["a"]);
      expect(await ids("category", "رياضة")).toEqual([]);
      expect(await ids("tag", "new")).toEqual([]);
    });
  });

  it("upgrades a version-1 database: existing articles take the site's version as their revision", async () => {
    // Today's code cannot write to a version-1 schema: the rows are written as version 1 did.
    await createSqliteStore({ path, migrations: migrations.filter((m) => m.version === 1) }).close();
    const before = rawDb();
    expect(before.prepare("SELECT name FROM sqlite_master WHERE name = 'tombstones'").get()).toBeUndefined();
    const site = before.prepare("INSERT INTO sites (slug, data, version, modified_at, credentials) VALUES (?, ?, ?, ?, '[]')");
    site.run("nisan", JSON.stringify(makeRecord("nisan").site), 3, "2024-06-19T12:01:00Z");
    site.run("other", JSON.stringify(makeRecord("other").site), 2, "2024-06-19T12:02:00Z");
    const article = before.prepare("INSERT INTO articles (site, id, published_ms, updated_ms, data) VALUES (?, ?, ?, ?, ?)");
    for (const [slug, id, published] of [["nisan", "a", "2024-06-02T00:00:00Z"], ["nisan", "b", "2024-06-03T00:00:00Z"], ["other", "a", "2024-06-02T00:00:00Z"]] as const) {
      const ms = Date.parse(published);
      article.run(slug, id, ms, ms, JSON.stringify(makeArticle(id, { published_at: published })));
    }
    before.close();

    const store = openStore();
    const db = rawDb();
    expect(db.prepare("SELECT site, id, rev FROM articles ORDER BY site, id").all()).toEqual([
      { site: "nisan", id: "a", rev: 3 },
      { site: "nisan", id: "b", rev: 3 },
      { site: "other", id: "a", rev: 2 },
    ]);
    const june = { from: "2024-06-01T00:00:00Z", to: "2024-07-01T00:00:00Z" };
    expect(await store.rangeFingerprint("nisan", june)).toBe("2:3:6");
    // From here on, every write is a new revision.
    const edited = makeArticle("a", { published_at: "2024-06-02T00:00:00Z", title: "edited" });
    expect((await store.putArticle("nisan", edited, "2024-06-19T13:00:00Z")).outcome).toBe("updated");
    expect(await store.rangeFingerprint("nisan", june)).toBe("2:4:7");
    expect(await store.deleteArticle("nisan", "b", "2024-06-19T13:01:00Z")).toBe(true);
    expect(await store.listTombstones("nisan", { since: "2024-06-19T00:00:00Z", limit: 10 })).toEqual([
      { id: "b", published_at: "2024-06-03T00:00:00Z", deleted_at: "2024-06-19T13:01:00Z" },
    ]);
    expect(await store.rangeFingerprint("nisan", june)).toBe("1:4:4");
    const versions = (db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as Row[]).map((r) => r.version);
    expect(versions).toEqual(migrations.map((m) => m.version));
  });

  it("a delete that fails half-way leaves the article, its terms, the version and no tombstone", async () => {
    const store = openStore();
    await store.createSite(makeRecord("nisan"));
    await store.putArticle("nisan", makeArticle("a", { categories: ["سياسة"] }), "2024-06-19T12:00:00Z");
    const trap = rawDb();
    // Fires on the last statement of the delete, after the tombstone was written and the terms removed.
    trap.exec(`CREATE TRIGGER trap BEFORE DELETE ON articles BEGIN SELECT RAISE(ABORT, 'trap sprung'); END`);
    const before = await store.getSiteVersion("nisan");
    await expect(store.deleteArticle("nisan", "a", "2024-06-19T13:00:00Z")).rejects.toThrow(/trap sprung/);
    expect(await store.getArticle("nisan", "a")).toStrictEqual(makeArticle("a", { categories: ["سياسة"] }));
    expect(await store.getSiteVersion("nisan")).toEqual(before);
    expect((await store.listArticles("nisan", { filter: { kind: "category", name: "سياسة" }, limit: 10 })).items).toHaveLength(1);
    expect(await store.listTombstones("nisan", { since: "2000-01-01T00:00:00Z", limit: 10 })).toEqual([]);
    trap.exec("DROP TRIGGER trap");
    expect(await store.deleteArticle("nisan", "a", "2024-06-19T13:00:00Z")).toBe(true);
  });

  it("a write from another connection between a put's read and its batch makes the put decide again", async () => {
    // Two stores on one file, like two processes. Started together, both read "absent" before
    // either writes; the second batch's guard fails, and its put is decided again: an update.
    const one = openStore();
    const two = openStore();
    await one.createSite(makeRecord("nisan"));
    const older = makeArticle("a", { title: "older", updated_at: "2024-06-19T12:00:00Z", categories: ["قديم"] });
    const newer = makeArticle("a", { title: "newer", updated_at: "2024-06-19T12:05:00Z", categories: ["جديد"] });
    const results = await Promise.all([
      one.putArticle("nisan", older, "2024-06-19T12:10:00Z"),
      two.putArticle("nisan", newer, "2024-06-19T12:11:00Z"),
    ]);
    expect(results.map((r) => r.outcome)).toEqual(["created", "updated"]);
    expect(await two.getArticle("nisan", "a")).toStrictEqual(newer);
    const db = rawDb();
    expect(db.prepare("SELECT name FROM article_terms WHERE kind = 'category'").all()).toEqual([{ name: "جديد" }]);
    expect(db.prepare("SELECT rev FROM articles").get()).toEqual({ rev: 3 });
    expect(await one.getSiteVersion("nisan")).toEqual({ version: 3, modified_at: "2024-06-19T12:11:00Z" });
  });

  it("has foreign keys that hold after deletes and refuse orphans", async () => {
    const store = openStore();
    await store.createSite(makeRecord("nisan"));
    await store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
    // Deleting a site through the port removes children first, so the keys never fire...
    expect(await store.deleteSite("nisan")).toBe(true);
    const db = rawDb();
    db.exec("PRAGMA foreign_keys=ON");
    expect(db.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
    // ...and an orphan row is refused by the engine.
    expect(() =>
      db.prepare("INSERT INTO articles (site, id, published_ms, updated_ms, data) VALUES ('ghost', 'x', 0, 0, '{}')").run(),
    ).toThrow(/FOREIGN KEY/);
  });

  it("answers ping, and is unavailable after close", async () => {
    const store = openStore();
    await store.ping();
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getSite("nisan")).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z")).rejects.toThrow(/closed/);
  });

  it("reports a write lock held too long by another process as unavailable, and writes nothing", async () => {
    const store = createSqliteStore({ path, busyTimeoutMs: 50 });
    open.push(store);
    await store.createSite(makeRecord("nisan"));
    await store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
    const other = rawDb();
    other.exec("BEGIN IMMEDIATE");
    try {
      const started = Date.now();
      const failed = store.putArticle("nisan", makeArticle("b"), "2024-06-19T12:01:00Z");
      await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(failed).rejects.toThrow(/locked/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      // WAL: readers are not blocked by the writer.
      expect(await store.getArticle("nisan", "a")).toStrictEqual(makeArticle("a"));
      await store.ping();
    } finally {
      other.exec("ROLLBACK");
    }
    expect(await store.getArticle("nisan", "b")).toBeUndefined();
    expect((await store.putArticle("nisan", makeArticle("b"), "2024-06-19T12:02:00Z")).outcome).toBe("created");
  });

  it("reports a file it cannot open as unavailable", async () => {
    const blocker = join(dir, "not-a-folder");
    await writeFile(blocker, "");
    expect(() => createSqliteStore({ path: join(blocker, "nashir.db") })).toThrow();
    const dirAsDb = join(dir, "a-folder");
    await mkdir(dirAsDb);
    expect(() => createSqliteStore({ path: dirAsDb })).toThrow(StoreUnavailableError);
  });

  it("leaves other errors as they are", async () => {
    const store = openStore();
    const err = await store.putArticle("ghost", makeArticle("a"), "2024-06-19T12:00:00Z").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
    expect(String(err)).toMatch(/unknown site: ghost/);
  });

  it("lets the WAL grow past SQLite's default 1,000 frames before a COMMIT checkpoints on the event loop", async () => {
    const store = openStore();
    await store.createSite(makeRecord("nisan"));
    // One commit each, ~8 frames a commit: about 1,600 frames, past the default of 1,000.
    for (let i = 0; i < 200; i++) await store.putArticle("nisan", makeArticle(`w${i}`, { content_text: "ن".repeat(3_000) }), "2024-06-19T12:00:00Z");
    // Had SQLite checkpointed at 1,000 frames, the next write would have restarted the WAL.
    const walFrames = (rawDb().prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as Row).log;
    expect(walFrames).toBeGreaterThan(1_000);
    expect(walFrames).toBeLessThanOrEqual(8_000);
  });

  describe("group commit", () => {
    function observedStore(): { store: Store; commits: GroupCommit[] } {
      const commits: GroupCommit[] = [];
      const store = createSqliteStore({ path, onCommit: (info) => commits.push(info) });
      open.push(store);
      return { store, commits };
    }
    const ids = Array.from({ length: 20 }, (_, i) => `g${i}`);

    it("40 concurrent writers of one article all settle (none loses its races 503) and the newest updated_at wins", async () => {
      const { store } = observedStore();
      await store.createSite(makeRecord("nisan"));
      // Each newer than the one before: in a group only the first (oldest) passes its guard, and
      // every other one is still newer than it, so each round settles one writer.
      const stamps = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2024, 5, 19, 12, 0, 0) + i * 60_000).toISOString());
      const results = await Promise.allSettled(
        stamps.map((updated_at, i) => store.putArticle("nisan", makeArticle("a", { title: `t${i}`, updated_at }), "2024-06-19T12:00:00Z")),
      );
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      const newest = stamps.reduce((a, b) => (a > b ? a : b));
      expect((await store.getArticle("nisan", "a"))?.updated_at).toBe(newest);
    });

    it("commits the writes of one turn in one transaction; a failing write fails alone", async () => {
      const { store, commits } = observedStore();
      await store.createSite(makeRecord("nisan"));
      const trap = rawDb();
      trap.exec(`CREATE TRIGGER trap BEFORE INSERT ON article_terms WHEN NEW.name = 'boom'
BEGIN SELECT RAISE(ABORT, 'trap sprung'); END`);
      commits.length = 0;
      const results = await Promise.allSettled(
        ids.map((id, i) => store.putArticle("nisan", makeArticle(id, { categories: i === 7 ? ["سياسة", "boom"] : ["سياسة"] }), "2024-06-19T12:00:00Z")),
      );
      // All 20 batches (queued after their reads, in the same turn) shared one durable commit.
      expect(commits).toEqual([expect.objectContaining({ batches: 20, failed: 1, durable: true })]);
      results.forEach((r, i) => {
        if (i === 7) {
          expect(r.status).toBe("rejected");
          expect(String((r as PromiseRejectedResult).reason)).toMatch(/trap sprung/);
        } else {
          expect(r).toMatchObject({ status: "fulfilled", value: { outcome: "created" } });
        }
      });
      // The failed write left nothing: not its article, not its terms, not its version bump.
      const stored = (trap.prepare("SELECT id FROM articles ORDER BY id").all() as Row[]).map((r) => r.id);
      expect(stored).toEqual(ids.filter((_, i) => i !== 7).sort());
      expect(trap.prepare("SELECT count(*) AS n FROM article_terms WHERE id = 'g7'").get()).toEqual({ n: 0 });
      expect(trap.prepare("SELECT count(DISTINCT id) AS n FROM article_terms").get()).toEqual({ n: 19 });
      expect(await store.getSiteVersion("nisan")).toEqual({ version: 20, modified_at: "2024-06-19T12:00:00Z" });
    });

    it("answers no write before its commit: another connection already sees each answered write", async () => {
      const { store } = observedStore();
      await store.createSite(makeRecord("nisan"));
      const other = rawDb();
      const visible = other.prepare("SELECT count(*) AS n FROM articles WHERE site = 'nisan' AND id = ?");
      const seenAtAnswer = await Promise.all(
        ids.map((id) => store.putArticle("nisan", makeArticle(id), "2024-06-19T12:00:00Z").then(() => visible.get(id))),
      );
      expect(seenAtAnswer).toEqual(ids.map(() => ({ n: 1 })));
    });

    it("commits replay bookkeeping alone without fsync, and any group that carries an article write with it", async () => {
      const { store, commits } = observedStore();
      await store.createSite(makeRecord("nisan"));
      commits.length = 0;
      await Promise.all(["m1", "m2", "m3"].map((id) => store.claimWebhook("nisan", id, "h", "2024-06-19T12:00:00Z", 60_000)));
      expect(commits).toEqual([expect.objectContaining({ batches: 3, failed: 0, durable: false })]);
      commits.length = 0;
      // A claim and a completion queued in the turn of an article write share its durable commit.
      const reply = { status: 201, body: "{}" };
      await Promise.all([
        store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z"),
        (async () => {
          await store.getSiteVersion("nisan"); // the same single read the put makes first
          await store.claimWebhook("nisan", "m4", "h", "2024-06-19T12:00:00Z", 60_000);
        })(),
        (async () => {
          await store.getSiteVersion("nisan");
          await store.completeWebhook("nisan", "m1", reply, "2024-06-19T12:00:00Z");
        })(),
      ]);
      expect(commits).toEqual([expect.objectContaining({ batches: 3, failed: 0, durable: true })]);
      expect(await store.claimWebhook("nisan", "m1", "h", "2024-06-19T12:01:00Z", 60_000)).toEqual({ state: "done", body_hash: "h", response: reply });
    });

    it("concurrent writes of one article in one group: the later batches lose the guard, decide again, and nothing is lost", async () => {
      const { store } = observedStore();
      await store.createSite(makeRecord("nisan"));
      const versions = [3, 1, 4, 2, 5].map((m) => makeArticle("a", { title: `v${m}`, updated_at: `2024-06-19T12:0${m}:00Z`, tags: [`t${m}`] }));
      const results = await Promise.all(versions.map((a) => store.putArticle("nisan", a, "2024-06-19T12:10:00Z")));
      expect(results.filter((r) => r.outcome === "created")).toHaveLength(1);
      expect(await store.getArticle("nisan", "a")).toStrictEqual(versions[4]);
      const written = results.filter((r) => r.outcome === "created" || r.outcome === "updated").length;
      expect(await store.getSiteVersion("nisan")).toEqual({ version: 1 + written, modified_at: "2024-06-19T12:10:00Z" });
      expect(rawDb().prepare("SELECT name FROM article_terms WHERE id = 'a' AND kind = 'tag'").all()).toEqual([{ name: "t5" }]);
    });

    it("a group waits while it grows, turn after turn, but not without bound", async () => {
      const { store, commits } = observedStore();
      await store.createSite(makeRecord("nisan"));
      commits.length = 0;
      // One write queued in each of 8 turns of the event loop, as requests in flight do.
      const writes: Promise<unknown>[] = [];
      for (let turn = 0; turn < 8; turn++) {
        writes.push(store.createSite(makeRecord(`site-${turn}`)));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await Promise.all(writes)).toEqual(writes.map(() => true));
      // Writes of several turns shared a commit, and the first group did not wait for all of them.
      expect(commits[0]!.batches).toBeGreaterThan(1);
      expect(commits[0]!.batches).toBeLessThan(8);
      expect(commits.reduce((n, c) => n + c.batches, 0)).toBe(8);
    });

    it("an observer that throws does not fail or hold up the writes", async () => {
      const store = createSqliteStore({
        path,
        onCommit: () => {
          throw new Error("observer broke");
        },
      });
      open.push(store);
      expect(await store.createSite(makeRecord("nisan"))).toBe(true);
      expect((await store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z")).outcome).toBe("created");
    });

    it("commits what is queued when the store is closed", async () => {
      const store = openStore();
      const created = store.createSite(makeRecord("nisan"));
      await store.close();
      expect(await created).toBe(true);
      expect(await openStore().getSite("nisan")).toStrictEqual(makeRecord("nisan"));
    });
  });

  it("works in memory too (no file, no WAL)", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    open.push(store);
    await store.createSite(makeRecord("nisan"));
    expect((await store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z")).outcome).toBe("created");
  });
});
