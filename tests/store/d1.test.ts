// The D1 store on real D1: workerd's D1 through Miniflare, locally and offline. The database is
// built from the committed migrations/*.sql the way `wrangler d1 migrations apply --local` builds
// it (and one test runs wrangler itself on them), never from src/store/migrations.ts directly.

import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { D1Database } from "@cloudflare/workers-types";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { d1MigrationFiles, D1_MIGRATIONS_DIR } from "../../scripts/write-d1-migrations.ts";
import { createD1Store, isD1Unavailable } from "../../src/store/d1.ts";
import { migrations } from "../../src/store/migrations.ts";
import { StoreUnavailableError, type Store } from "../../src/store/port.ts";
import { FEED_SQL, SQL } from "../../src/store/sql.ts";
import { makeArticle, makeRecord, storeContract } from "./contract.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * One local D1 database in workerd. This Miniflare (5.x) takes its options in a new shape:
 * convertV4MiniflareOptions accepts the classic `{ modules, script, d1Databases }` form, and
 * `resourcePersistencePath` is where it keeps D1 in `<path>/d1`, as wrangler's
 * `--persist-to <dir>` does in `<dir>/v3/d1`. Without it, the database lives in a temporary folder.
 */
async function startD1(extra: { persistTo?: string; databaseId?: string } = {}): Promise<{ mf: Miniflare; db: D1Database }> {
  const options = convertV4MiniflareOptions({
    modules: true,
    script: "export default {}",
    d1Databases: extra.databaseId ? { DB: extra.databaseId } : ["DB"],
  });
  const mf = new Miniflare(extra.persistTo ? { ...options, resourcePersistencePath: join(extra.persistTo, "v3") } : options);
  const db: D1Database = await mf.getD1Database("DB");
  return { mf, db };
}

// ---- wrangler's way of applying migrations, for a D1 binding (wrangler 4, src/d1) ----

/**
 * wrangler's SQL splitter (splitSqlIntoStatements): `;` ends a statement except inside quotes,
 * comments (dropped) and BEGIN/CASE … END. wrangler sends the pieces as one db.batch.
 */
function splitSql(sql: string): string[] {
  const statements: string[] = [];
  let current = "";
  let depth = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] ?? "";
    if (depth > 0 && /\sEND[;\s]$/.test(current + c)) depth -= 1;
    if (c === "'" || c === '"' || c === "`") {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      current += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      current += "\n";
      i = end === -1 ? sql.length : end;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === ";" && depth === 0) {
      statements.push(current);
      current = "";
    } else {
      current += c;
    }
    if (/\s(BEGIN|CASE)\s$/i.test(current)) depth += 1;
  }
  statements.push(current);
  return statements.map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * `wrangler d1 migrations apply`: creates d1_migrations, and applies every .sql file of the
 * folder not recorded there, in name order, each file plus its record as one batch.
 */
async function applyMigrationFiles(db: D1Database, dir: string): Promise<string[]> {
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS d1_migrations(
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT UNIQUE,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`,
    )
    .run();
  const applied = new Set((await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results.map((r) => r.name));
  const files = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  const done: string[] = [];
  for (const name of files) {
    if (applied.has(name)) continue;
    const sql = `${await readFile(join(dir, name), "utf8")}\nINSERT INTO d1_migrations (name) values ('${name}');\n`;
    await db.batch(splitSql(sql).map((q) => db.prepare(q)));
    done.push(name);
  }
  return done;
}

async function schemaOf(db: D1Database): Promise<Array<{ type: string; name: string; sql: string | null }>> {
  const rows = await db
    .prepare(
      `SELECT type, name, sql FROM sqlite_master
WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'
ORDER BY type, name`,
    )
    .all<{ type: string; name: string; sql: string | null }>();
  return rows.results;
}

/** Empties every table of the store (the schema stays), so each test starts from nothing. */
async function wipe(db: D1Database): Promise<void> {
  await db.batch(
    ["article_terms", "tombstones", "articles", "webhooks", "sites"].map((table) => db.prepare(`DELETE FROM ${table}`)),
  );
}

let mf: Miniflare | undefined;
let db: D1Database;

beforeAll(async () => {
  ({ mf, db } = await startD1());
  await applyMigrationFiles(db, D1_MIGRATIONS_DIR);
});

afterAll(async () => {
  await mf?.dispose();
});

storeContract("d1", async () => {
  await wipe(db);
  const store = createD1Store(db);
  return { store, cleanup: () => store.close() };
});

describe("d1 migrations", () => {
  it("the committed migrations/*.sql are what scripts/write-d1-migrations.ts writes", async () => {
    const expected = d1MigrationFiles();
    const onDisk = (await readdir(D1_MIGRATIONS_DIR)).filter((n) => n.endsWith(".sql")).sort();
    expect(onDisk, "run: node scripts/write-d1-migrations.ts").toEqual(expected.map((f) => f.name));
    for (const f of expected) {
      expect(await readFile(join(D1_MIGRATIONS_DIR, f.name), "utf8"), `${f.name} is stale: run node scripts/write-d1-migrations.ts`).toBe(
        f.content,
      );
    }
    // One file per migration, numbered by its version.
    expect(expected.map((f) => Number(f.name.slice(0, 4)))).toEqual(migrations.map((m) => m.version));
  });

  it("splits the files as wrangler does: one statement per piece, none lost", () => {
    for (const f of d1MigrationFiles()) {
      const pieces = splitSql(f.content);
      // Every CREATE/ALTER/DROP/UPDATE/INSERT of the file, and nothing of its comments.
      const keywords = f.content.split("\n").filter((l) => /^(CREATE|ALTER|DROP|UPDATE|INSERT)\b/.test(l)).length;
      expect(pieces).toHaveLength(keywords);
      for (const p of pieces) expect(p).not.toMatch(/^--|;$/);
    }
    expect(splitSql("SELECT 'a;b'; -- c;d\nSELECT 2 /* ; */;")).toEqual(["SELECT 'a;b'", "SELECT 2"]);
    expect(splitSql("CREATE TRIGGER t AFTER INSERT ON x BEGIN DELETE FROM y; END;\nSELECT 1;")).toEqual([
      "CREATE TRIGGER t AFTER INSERT ON x BEGIN DELETE FROM y; END",
      "SELECT 1",
    ]);
  });

  it("were applied once each, recorded by wrangler's d1_migrations and by schema_migrations", async () => {
    const recorded = await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    expect(recorded.results.map((r) => r.name)).toEqual(d1MigrationFiles().map((f) => f.name));
    const versions = await db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
    expect(versions.results).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
    // Applying again applies nothing (CREATE TABLE without IF NOT EXISTS would fail otherwise).
    expect(await applyMigrationFiles(db, D1_MIGRATIONS_DIR)).toEqual([]);
  });

  it("applied one file at a time, upgrade a version-1 database with its data", async () => {
    const { mf: other, db: fresh } = await startD1();
    try {
      const dir = await mkdtemp(join(tmpdir(), "nashir-d1-migrations-"));
      try {
        const [first, ...rest] = d1MigrationFiles();
        if (!first) throw new Error("no migrations");
        await writeFile(join(dir, first.name), first.content);
        expect(await applyMigrationFiles(fresh, dir)).toEqual([first.name]);
        await fresh.batch([
          fresh.prepare("INSERT INTO sites (slug, data, version, modified_at, credentials) VALUES ('nisan', ?, 4, '2024-06-19T12:00:00Z', '[]')")
            .bind(JSON.stringify(makeRecord("nisan").site)),
          fresh.prepare("INSERT INTO articles (site, id, published_ms, updated_ms, data) VALUES ('nisan', 'a', ?, ?, ?)")
            .bind(Date.parse("2024-06-02T00:00:00Z"), Date.parse("2024-06-02T00:00:00Z"), JSON.stringify(makeArticle("a", { published_at: "2024-06-02T00:00:00Z" }))),
        ]);
        for (const f of rest) await writeFile(join(dir, f.name), f.content);
        expect(await applyMigrationFiles(fresh, dir)).toEqual(rest.map((f) => f.name));
        expect((await fresh.prepare("SELECT id, rev FROM articles").all()).results).toEqual([{ id: "a", rev: 4 }]);
        const store = createD1Store(fresh);
        expect(await store.rangeFingerprint("nisan", { from: "2024-06-01T00:00:00Z", to: "2024-07-01T00:00:00Z" })).toBe("1:4:4");
        expect(await store.deleteArticle("nisan", "a", "2024-06-19T13:00:00Z")).toBe(true);
        expect(await store.listTombstones("nisan", { since: "2024-06-19T00:00:00Z", limit: 10 })).toEqual([
          { id: "a", published_at: "2024-06-02T00:00:00Z", deleted_at: "2024-06-19T13:00:00Z" },
        ]);
        // The schema is the one a database built in one go has.
        expect(await schemaOf(fresh)).toEqual(await schemaOf(db));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await other.dispose();
    }
  });

  it("wrangler itself applies the committed files to a local D1 database the store then uses", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nashir-wrangler-"));
    const databaseId = "00000000-0000-4000-8000-00000000d1d1";
    try {
      await writeFile(
        join(dir, "wrangler.jsonc"),
        JSON.stringify({
          name: "nashir-migrations-check",
          compatibility_date: "2025-01-01",
          d1_databases: [{ binding: "DB", database_name: "nashir", database_id: databaseId, migrations_dir: D1_MIGRATIONS_DIR }],
        }),
      );
      const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
      const state = join(dir, "state");
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [wrangler, "d1", "migrations", "apply", "nashir", "--local", "--persist-to", state, "-c", join(dir, "wrangler.jsonc")],
        {
          cwd: dir,
          env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_PATH: join(dir, "logs"), NO_COLOR: "1" },
          timeout: 60_000,
        },
      );
      for (const f of d1MigrationFiles()) expect(stdout).toContain(f.name);

      const { mf: applied, db: wranglerDb } = await startD1({ persistTo: state, databaseId });
      try {
        expect(await schemaOf(wranglerDb)).toEqual(await schemaOf(db));
        const names = await wranglerDb.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
        expect(names.results.map((r) => r.name)).toEqual(d1MigrationFiles().map((f) => f.name));
        const store = createD1Store(wranglerDb);
        expect(await store.createSite(makeRecord("nisan"))).toBe(true);
        expect((await store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z")).outcome).toBe("created");
        expect((await store.listArticles("nisan", { filter: { kind: "tag", name: "روسيا" }, limit: 10 })).items).toEqual([makeArticle("a")]);
      } finally {
        await applied.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("d1 store", () => {
  it("uses the same index plans as SQLite: seeks for pages, the covering index for fingerprints", async () => {
    await wipe(db);
    const store = createD1Store(db);
    await store.createSite(makeRecord("nisan"));
    for (let i = 0; i < 30; i++) {
      await store.putArticle("nisan", makeArticle(`a${i}`, { published_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString() }), "2024-06-19T12:00:00Z");
    }
    async function plan(sql: string, ...args: Array<string | number>): Promise<string[]> {
      const rows = await db.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...args).all<{ detail: string }>();
      return rows.results.map((r) => r.detail);
    }
    expect(await plan(FEED_SQL.allSinceBefore, "nisan", 1704067200000, 1704070000000, "a9", 11)).toEqual([
      expect.stringMatching(/^SEARCH articles USING INDEX articles_feed \(site=\? AND published_ms>\? AND \(published_ms,id\)<\(\?,\?\)\)/),
    ]);
    expect(await plan(FEED_SQL.termSinceBefore, "nisan", "tag", "روسيا", 1704067200000, 1704070000000, "a9", 11)).toEqual([
      expect.stringMatching(/^SEARCH t USING PRIMARY KEY \(site=\? AND kind=\? AND name=\? AND published_ms>\? AND \(published_ms,id\)<\(\?,\?\)\)/),
      expect.stringMatching(/^SEARCH a USING PRIMARY KEY \(site=\? AND id=\?\)/),
    ]);
    expect(await plan(SQL.rangeFingerprint, "nisan", 1704067200000, 1704070000000)).toEqual([
      expect.stringMatching(/^SEARCH articles USING COVERING INDEX articles_feed \(site=\? AND published_ms>\? AND published_ms<\?\)$/),
    ]);
    expect(await plan(SQL.listTombstones, "nisan", 1704067200000, 10)).toEqual([
      expect.stringMatching(/^SEARCH tombstones USING INDEX tombstones_recent \(site=\? AND deleted_ms>\?\)$/),
    ]);
  });

  it("a write that fails half-way leaves nothing: each write is one batch", async () => {
    await wipe(db);
    const store = createD1Store(db);
    await store.createSite(makeRecord("nisan"));
    const original = makeArticle("a", { categories: ["سياسة"], tags: ["old"] });
    await store.putArticle("nisan", original, "2024-06-19T12:00:00Z");
    await db.prepare("CREATE TRIGGER trap BEFORE INSERT ON article_terms WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'trap sprung'); END").run();
    try {
      const before = await store.getSiteVersion("nisan");
      const changed = makeArticle("a", { title: "changed", categories: ["رياضة"], tags: ["new", "boom"], updated_at: "2024-06-19T13:00:00Z" });
      const err = await store.putArticle("nisan", changed, "2024-06-19T13:00:00Z").catch((e: unknown) => e);
      expect(String(err)).toMatch(/trap sprung/);
      expect(err).not.toBeInstanceOf(StoreUnavailableError);
      expect(await store.getArticle("nisan", "a")).toStrictEqual(original);
      expect(await store.getSiteVersion("nisan")).toEqual(before);
      const ids = async (kind: "category" | "tag", name: string): Promise<string[]> =>
        (await store.listArticles("nisan", { filter: { kind, name }, limit: 10 })).items.map((x) => x.id);
      expect(await ids("category", "سياسة")).toEqual(["a"]);
      expect(await ids("tag", "old")).toEqual(["a"]);
      expect(await ids("category", "رياضة")).toEqual([]);
      const created = await store.putArticle("nisan", makeArticle("b", { tags: ["boom"] }), "2024-06-19T13:00:00Z").catch((e: unknown) => e);
      expect(String(created)).toMatch(/trap sprung/);
      expect(await store.getArticle("nisan", "b")).toBeUndefined();
    } finally {
      await db.prepare("DROP TRIGGER trap").run();
    }
  });

  describe("a writer landing between a write's read and its batch", () => {
    // A real second writer, run at the one moment that matters: after the store read the
    // article and before its batch reaches D1. The store must notice (its guard aborts the
    // batch) and decide again from what is stored now.
    let interloper: (() => Promise<void>) | undefined;

    /** The same D1 database, running `interloper` once before the next batch. */
    function racing(target: D1Database): D1Database {
      return new Proxy(target, {
        get(t, prop) {
          if (prop === "batch") {
            return async (statements: Parameters<D1Database["batch"]>[0]) => {
              const run = interloper;
              interloper = undefined;
              if (run) await run();
              return t.batch(statements);
            };
          }
          const value: unknown = Reflect.get(t, prop);
          return typeof value === "function" ? value.bind(t) : value;
        },
      });
    }

    let store: Store;
    let other: Store;

    async function setup(): Promise<void> {
      await wipe(db);
      interloper = undefined;
      store = createD1Store(racing(db));
      other = createD1Store(db);
      await other.createSite(makeRecord("nisan"));
    }

    async function termIds(s: Store, name: string): Promise<string[]> {
      return (await s.listArticles("nisan", { filter: { kind: "category", name }, limit: 10 })).items.map((a) => a.id);
    }

    it("a create that loses to another create becomes an update", async () => {
      await setup();
      const theirs = makeArticle("a", { title: "theirs", updated_at: "2024-06-19T12:00:00Z", categories: ["قديم"], published_at: "2024-06-19T10:00:00Z" });
      const ours = makeArticle("a", { title: "ours", updated_at: "2024-06-19T12:05:00Z", categories: ["جديد"] });
      interloper = async () => {
        expect((await other.putArticle("nisan", theirs, "2024-06-19T12:10:00Z")).outcome).toBe("created");
      };
      expect(await store.putArticle("nisan", ours, "2024-06-19T12:11:00Z")).toStrictEqual({ outcome: "updated", article: ours });
      expect(await other.getArticle("nisan", "a")).toStrictEqual(ours);
      expect(await termIds(other, "قديم")).toEqual([]);
      expect(await termIds(other, "جديد")).toEqual(["a"]);
      expect(await other.getSiteVersion("nisan")).toEqual({ version: 3, modified_at: "2024-06-19T12:11:00Z" });
    });

    it("an update that loses to a newer update becomes stale, and writes nothing", async () => {
      await setup();
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
      const newest = makeArticle("a", { title: "newest", updated_at: "2024-06-19T12:30:00Z", categories: ["أحدث"] });
      interloper = async () => {
        expect((await other.putArticle("nisan", newest, "2024-06-19T12:31:00Z")).outcome).toBe("updated");
      };
      const ours = makeArticle("a", { title: "ours", updated_at: "2024-06-19T12:20:00Z", categories: ["جديد"] });
      expect(await store.putArticle("nisan", ours, "2024-06-19T12:32:00Z")).toStrictEqual({ outcome: "stale", article: newest });
      expect(await other.getArticle("nisan", "a")).toStrictEqual(newest);
      expect(await termIds(other, "جديد")).toEqual([]);
      expect(await other.getSiteVersion("nisan")).toEqual({ version: 3, modified_at: "2024-06-19T12:31:00Z" });
    });

    it("an update whose article was deleted meanwhile becomes a create", async () => {
      await setup();
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
      interloper = async () => {
        expect(await other.deleteArticle("nisan", "a", "2024-06-19T12:01:00Z")).toBe(true);
      };
      const ours = makeArticle("a", { title: "ours", updated_at: "2024-06-19T12:20:00Z" });
      expect((await store.putArticle("nisan", ours, "2024-06-19T12:02:00Z")).outcome).toBe("created");
      expect(await other.listTombstones("nisan", { since: "2024-06-19T00:00:00Z", limit: 10 })).toEqual([]);
    });

    it("a delete that loses to another delete is false; one that loses to an update deletes the update", async () => {
      await setup();
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
      interloper = async () => {
        expect(await other.deleteArticle("nisan", "a", "2024-06-19T12:01:00Z")).toBe(true);
      };
      expect(await store.deleteArticle("nisan", "a", "2024-06-19T12:02:00Z")).toBe(false);
      expect(await other.listTombstones("nisan", { since: "2024-06-19T00:00:00Z", limit: 10 })).toEqual([
        { id: "a", published_at: makeArticle("a").published_at, deleted_at: "2024-06-19T12:01:00Z" },
      ]);
      expect((await other.getSiteVersion("nisan"))?.version).toBe(3);

      const moved = makeArticle("a", { published_at: "2024-06-18T00:00:00Z", updated_at: "2024-06-19T12:10:00Z" });
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:03:00Z");
      interloper = async () => {
        expect((await other.putArticle("nisan", moved, "2024-06-19T12:11:00Z")).outcome).toBe("updated");
      };
      expect(await store.deleteArticle("nisan", "a", "2024-06-19T12:12:00Z")).toBe(true);
      expect(await other.getArticle("nisan", "a")).toBeUndefined();
      // The tombstone has the published_at of what was actually deleted: the update.
      expect(await other.listTombstones("nisan", { since: "2024-06-19T12:05:00Z", limit: 10 })).toEqual([
        { id: "a", published_at: "2024-06-18T00:00:00Z", deleted_at: "2024-06-19T12:12:00Z" },
      ]);
    });

    it("a write whose site was deleted meanwhile fails as for an unknown site, and leaves nothing", async () => {
      await setup();
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
      interloper = async () => {
        expect(await other.deleteSite("nisan")).toBe(true);
      };
      await expect(store.putArticle("nisan", makeArticle("b"), "2024-06-19T12:01:00Z")).rejects.toThrow(/unknown site: nisan/);
      await other.createSite(makeRecord("nisan"));
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:02:00Z");
      interloper = async () => {
        expect(await other.deleteSite("nisan")).toBe(true);
      };
      await expect(store.deleteArticle("nisan", "a", "2024-06-19T12:03:00Z")).rejects.toThrow(/unknown site: nisan/);
      for (const table of ["sites", "articles", "article_terms", "tombstones"]) {
        expect((await db.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n, table).toBe(0);
      }
    });

    it("gives up with StoreUnavailableError when it keeps losing", async () => {
      await setup();
      await other.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z");
      let n = 0;
      const keepWriting = async (): Promise<void> => {
        n += 1;
        await other.putArticle("nisan", makeArticle("a", { title: `edit ${n}` }), "2024-06-19T12:01:00Z");
        interloper = keepWriting;
      };
      interloper = keepWriting;
      const ours = makeArticle("a", { title: "ours", updated_at: "2024-06-19T13:00:00Z" });
      await expect(store.putArticle("nisan", ours, "2024-06-19T13:00:00Z")).rejects.toBeInstanceOf(StoreUnavailableError);
      interloper = undefined;
      expect((await other.getArticle("nisan", "a"))?.title).toBe(`edit ${n}`);
      expect((await store.putArticle("nisan", ours, "2024-06-19T13:00:00Z")).outcome).toBe("updated");
    });
  });

  it("runs in workerd: no Node-only import in d1.ts, sql.ts or anything they import", async () => {
    const seen = new Set<string>();
    const bare: string[] = [];
    async function visit(file: string): Promise<void> {
      if (seen.has(file)) return;
      seen.add(file);
      const source = await readFile(file, "utf8");
      for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)) {
        if (!specifier) continue;
        if (specifier.startsWith(".")) await visit(resolve(dirname(file), specifier));
        else bare.push(specifier);
      }
    }
    await visit(join(ROOT, "src/store/d1.ts"));
    expect([...seen].map((f) => f.slice(ROOT.length)).sort()).toContain("src/store/sql.ts");
    const node = new Set(builtinModules);
    for (const specifier of bare) {
      expect(specifier.startsWith("node:") || node.has(specifier), specifier).toBe(false);
    }
    // Only types come from outside the project.
    expect(bare.filter((s) => s !== "@cloudflare/workers-types")).toEqual([]);
  });

  it("is unavailable after close", async () => {
    const store = createD1Store(db);
    await store.ping();
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getSite("nisan")).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.putArticle("nisan", makeArticle("a"), "2024-06-19T12:00:00Z")).rejects.toThrow(/closed/);
    await store.close();
  });

  it("leaves SQL errors as they are", async () => {
    await wipe(db);
    const store = createD1Store(db);
    const err = await store.putArticle("ghost", makeArticle("a"), "2024-06-19T12:00:00Z").catch((e: unknown) => e);
    expect(String(err)).toMatch(/unknown site: ghost/);
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
    // A real D1 error that is the request's fault, not the engine's.
    const constraint = await db.prepare("INSERT INTO articles (site, id, published_ms, updated_ms, data) VALUES ('ghost', 'x', 0, 0, '{}')").run().catch((e: unknown) => e);
    expect(String(constraint)).toMatch(/FOREIGN KEY/);
    expect(isD1Unavailable(constraint)).toBe(false);
  });

  it("classifies D1's documented transient errors as unavailable", () => {
    // The messages D1 documents with "retry the operation" (they cannot be caused locally).
    for (const message of [
      "D1_ERROR: Network connection lost.",
      "D1_ERROR: D1 DB reset because its code was updated.",
      "D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.",
      "D1_ERROR: Internal error in D1 DB storage caused object to be reset.",
      "D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.",
      "D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.",
      "D1_ERROR: Can't read from request stream because client disconnected.",
      "D1_ERROR: D1 DB is overloaded. Too many requests queued.",
      "D1_ERROR: D1 DB is overloaded. Requests queued for too long.",
      "D1_ERROR: D1 DB's isolate exceeded its memory limit and was reset.",
      "D1_ERROR: D1 DB exceeded its CPU time limit and was reset.",
      "D1_ERROR: Exceeded maximum DB size.",
    ]) {
      expect(isD1Unavailable(new Error(message)), message).toBe(true);
      expect(isD1Unavailable(new Error("D1_ERROR", { cause: new Error(message) })), `cause: ${message}`).toBe(true);
    }
    for (const message of [
      "D1_ERROR: UNIQUE constraint failed: sites.slug: SQLITE_CONSTRAINT",
      "D1_ERROR: NOT NULL constraint failed: sites.version: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_NOTNULL)",
      'D1_ERROR: near "SELEC": syntax error at offset 0: SQLITE_ERROR',
      "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'",
      "D1_COLUMN_NOTFOUND: Column not found",
      "unknown site: nisan",
    ]) {
      expect(isD1Unavailable(new Error(message)), message).toBe(false);
    }
  });
});
