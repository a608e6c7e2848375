// The SQLite store (node:sqlite, Node 24): one file, WAL, every write one IMMEDIATE
// transaction. The statements and the store logic are shared with the D1 adapter (sql.ts):
// this file only opens the file, migrates it and runs statements. Feeds are keyset pages read
// through an index in feed order, so a page costs O(limit) whatever its depth (see FEED_SQL
// and the EXPLAIN QUERY PLAN tests).

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { migrations as allMigrations, SCHEMA_MIGRATIONS_SQL, type Migration } from "./migrations.ts";
import { StoreUnavailableError, type Store } from "./port.ts";
import { createSqlStore, type BatchResult, type Row, type SqlEngine } from "./sql.ts";

export { FEED_SQL, SQL } from "./sql.ts";

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

function num(row: Row, column: string): number {
  const v = row[column];
  if (typeof v !== "number") throw new TypeError(`column ${column} is not a number`);
  return v;
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

  return createSqlStore(nodeEngine(db));
}

/** Runs the shared statements on node:sqlite: reads as they come, each batch as one IMMEDIATE transaction. */
function nodeEngine(db: DatabaseSync): SqlEngine {
  const prepared = new Map<string, StatementSync>();
  function prepare(sql: string): StatementSync {
    let statement = prepared.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      prepared.set(sql, statement);
    }
    return statement;
  }

  return {
    async all(statement): Promise<Row[]> {
      try {
        return prepare(statement.sql).all(...statement.args) as Row[];
      } catch (err) {
        throw translate(err);
      }
    },

    async batch(statements, options): Promise<BatchResult[]> {
      // WAL with synchronous=NORMAL commits without fsync (safe against a crash of the process);
      // every other batch keeps FULL, whose fsync also flushes the relaxed commits before it.
      const relaxed = options?.relaxed === true;
      try {
        if (relaxed) db.exec("PRAGMA synchronous=NORMAL");
        db.exec("BEGIN IMMEDIATE");
        const results = statements.map((s): BatchResult => {
          const st = prepare(s.sql);
          if (st.columns().length > 0) return { rows: st.all(...s.args) as Row[], changes: 0 };
          return { rows: [], changes: Number(st.run(...s.args).changes) };
        });
        db.exec("COMMIT");
        return results;
      } catch (err) {
        rollback(db);
        throw translate(err);
      } finally {
        if (relaxed) {
          try {
            db.exec("PRAGMA synchronous=FULL");
          } catch {
            // Closed meanwhile: nothing left to make durable.
          }
        }
      }
    },

    async close(): Promise<void> {
      db.close();
    },
  };
}
