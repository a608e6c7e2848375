// The SQLite store (node:sqlite, Node 24): one file, WAL, writes group-committed (the writes
// queued over a few turns of the event loop share one IMMEDIATE transaction, each in a savepoint;
// see nodeEngine). The statements and the store logic are shared with the D1 adapter (sql.ts): this
// file only opens the file, migrates it and runs statements. Feeds are keyset pages read
// through an index in feed order, so a page costs O(limit) whatever its depth (see FEED_SQL
// and the EXPLAIN QUERY PLAN tests).

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { migrations as allMigrations, SCHEMA_MIGRATIONS_SQL, type Migration } from "./migrations.ts";
import { StoreUnavailableError, type Store } from "./port.ts";
import { createSqlStore, type BatchResult, type Row, type SqlEngine, type Statement } from "./sql.ts";

export { FEED_SQL, SQL } from "./sql.ts";

export interface SqliteStoreOptions {
  /** The database file (its folder is created when missing), or `:memory:`. */
  path: string;
  /** How long a write waits for another connection's lock before failing; default 5000. */
  busyTimeoutMs?: number;
  /** For tests of the migration runner; defaults to the real list. */
  migrations?: readonly Migration[];
  /** Called after each group commit (tests, metrics). */
  onCommit?: (info: GroupCommit) => void;
}

/** One committed transaction: how many batches it carried, how many of them failed alone, and whether it waited for fsync. */
export interface GroupCommit {
  batches: number;
  failed: number;
  durable: boolean;
  /** How long the COMMIT itself took (with its fsync when durable). */
  commitMs: number;
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
    // SQLite checkpoints at the end of the COMMIT that crosses this many WAL frames, on the event
    // loop (copy every page changed since the last one, then fsync the database file). The default,
    // 1,000, meant a stall of several milliseconds every ~100 publishes; at 8,000 (a WAL of up to
    // ~32 MiB) the stalls come 8 times less often and copy far fewer pages in all, since the pages
    // every write changes (the site row, index nodes) are copied once per checkpoint.
    if (!inMemory) db.exec(`PRAGMA wal_autocheckpoint=${CHECKPOINT_FRAMES}`);
    migrate(db, options.migrations);
  } catch (err) {
    db.close();
    throw translate(err);
  }

  return createSqlStore(nodeEngine(db, options.onCommit));
}

/** WAL frames (pages) after which a COMMIT checkpoints (see createSqliteStore). */
const CHECKPOINT_FRAMES = 8_000;

/**
 * How many turns of the event loop a group may wait for more writes before it is committed. With
 * 16 publishers (bench section 5, on disk) waiting while the group grows gave half the fsyncs and
 * ~15% less CPU per publish than committing on the next turn; an idle loop turns in microseconds.
 */
const MAX_WAIT_TURNS = 3;

/** What a pending batch waits for: its results once its group has committed, or its own error. */
interface PendingBatch {
  statements: Statement[];
  relaxed: boolean;
  resolve: (results: BatchResult[]) => void;
  reject: (error: unknown) => void;
}

type BatchOutcome = { ok: true; results: BatchResult[] } | { ok: false; error: unknown };

/**
 * Runs the shared statements on node:sqlite. Reads run at once. Batches are group-committed:
 * the batches queued over a few turns of the event loop (see MAX_WAIT_TURNS) are applied, in
 * order, inside one IMMEDIATE transaction from a `setImmediate`, each in its own SAVEPOINT (a
 * batch that fails is rolled back alone and only its caller sees the error), and the transaction
 * is committed once: one fsync for the group instead of one per write. No batch is answered
 * before that COMMIT has returned, so an answered write is durable (synchronous=FULL) whenever
 * its group was durable. The transaction is opened and committed within one synchronous call: no
 * read ever sees a group's uncommitted rows.
 */
function nodeEngine(db: DatabaseSync, onCommit: ((info: GroupCommit) => void) | undefined): SqlEngine {
  const prepared = new Map<string, { statement: StatementSync; returnsRows: boolean }>();
  function prepare(sql: string): { statement: StatementSync; returnsRows: boolean } {
    let entry = prepared.get(sql);
    if (!entry) {
      const statement = db.prepare(sql);
      entry = { statement, returnsRows: statement.columns().length > 0 };
      prepared.set(sql, entry);
    }
    return entry;
  }
  const control = (sql: string) => {
    let statement: StatementSync | undefined;
    // Prepared on first use: SAVEPOINT and friends cannot be prepared on a closed connection.
    return () => {
      statement ??= db.prepare(sql);
      statement.run();
    };
  };
  const begin = control("BEGIN IMMEDIATE");
  const commit = control("COMMIT");
  const savepoint = control("SAVEPOINT batch");
  const release = control("RELEASE batch");
  const rollbackToSavepoint = control("ROLLBACK TO batch");

  // The connection is opened with FULL; relaxed-only groups switch it to NORMAL and back lazily.
  let durable = true;
  function setDurable(wanted: boolean): void {
    if (durable === wanted) return;
    // WAL with synchronous=NORMAL commits without fsync (safe against a crash of the process);
    // FULL waits for it, and its fsync also flushes the relaxed commits before it.
    db.exec(wanted ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    durable = wanted;
  }

  function run(statements: Statement[]): BatchResult[] {
    return statements.map((s): BatchResult => {
      const { statement, returnsRows } = prepare(s.sql);
      if (returnsRows) return { rows: statement.all(...s.args) as Row[], changes: 0 };
      return { rows: [], changes: Number(statement.run(...s.args).changes) };
    });
  }

  let queue: PendingBatch[] = [];
  let scheduled = false;

  // A group waits while it grows: requests in flight keep queueing writes turn after turn, and
  // every write that joins the group shares its COMMIT and fsync. It is committed after a turn
  // that added nothing (at least one turn after its first write), or after MAX_WAIT_TURNS.
  let waitedTurns = 0;
  let lengthBefore = 0;
  function onTurn(): void {
    if (queue.length > 0 && (waitedTurns === 0 || (waitedTurns < MAX_WAIT_TURNS && queue.length > lengthBefore))) {
      waitedTurns++;
      lengthBefore = queue.length;
      setImmediate(onTurn);
      return;
    }
    commitGroup();
  }

  /** Applies and commits every queued batch now; settles each one only after the COMMIT. */
  function commitGroup(): void {
    waitedTurns = 0;
    scheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const groupDurable = group.some((b) => !b.relaxed);
    const failAll = (error: unknown) => {
      rollback(db);
      const translated = translate(error);
      for (const b of group) b.reject(translated);
    };
    let outcomes: BatchOutcome[];
    try {
      setDurable(groupDurable);
      begin();
    } catch (err) {
      failAll(err);
      return;
    }
    if (group.length === 1) {
      // Alone in its transaction: no savepoint needed, a failure rolls back everything.
      try {
        outcomes = [{ ok: true, results: run(group[0]!.statements) }];
      } catch (err) {
        failAll(err);
        return;
      }
    } else {
      outcomes = [];
      for (const b of group) {
        try {
          savepoint();
          const results = run(b.statements);
          release();
          outcomes.push({ ok: true, results });
        } catch (err) {
          // Some errors (I/O, full disk) make SQLite roll back the whole transaction: then
          // nothing of the group is written, and every batch of it fails.
          if (!db.isTransaction) {
            failAll(err);
            return;
          }
          try {
            rollbackToSavepoint();
            release();
          } catch (inner) {
            failAll(inner);
            return;
          }
          outcomes.push({ ok: false, error: translate(err) });
        }
      }
    }
    const committing = performance.now();
    try {
      commit();
    } catch (err) {
      failAll(err);
      return;
    }
    const commitMs = performance.now() - committing;
    group.forEach((b, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) b.resolve(outcome.results);
      else b.reject(outcome.error);
    });
    try {
      onCommit?.({ batches: group.length, failed: outcomes.filter((o) => !o.ok).length, durable: groupDurable, commitMs });
    } catch {
      // An observer's failure is not the writes': they are committed and answered.
    }
  }

  return {
    // A group holds every concurrent writer of an article and only the first passes its guard;
    // the others decide again after the COMMIT, so each round settles at least one of them.
    maxWriteAttempts: 64,

    async all(statement): Promise<Row[]> {
      try {
        return prepare(statement.sql).statement.all(...statement.args) as Row[];
      } catch (err) {
        throw translate(err);
      }
    },

    batch(statements, options): Promise<BatchResult[]> {
      const { promise, resolve, reject } = Promise.withResolvers<BatchResult[]>();
      queue.push({ statements, relaxed: options?.relaxed === true, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(onTurn);
      }
      return promise;
    },

    async close(): Promise<void> {
      // What is queued was promised an answer: commit it first.
      commitGroup();
      db.close();
    },
  };
}
