// The Cloudflare D1 store: the same statements and store logic as SQLite (sql.ts), run through
// the D1 binding. D1 has no interactive transactions: a read is one statement, and every write
// is one `db.batch([...])`, which D1 applies atomically (all of it or none). How the writes that
// must read first (put, delete) stay right under races is explained at the top of sql.ts.
//
// The schema is not applied here: `wrangler d1 migrations apply` applies migrations/*.sql,
// which scripts/write-d1-migrations.ts writes from src/store/migrations.ts. No Node-only
// imports: this module runs in workerd.

import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import { StoreUnavailableError, type Store } from "./port.ts";
import { createSqlStore, type BatchResult, type Row, type SqlEngine, type Statement } from "./sql.ts";

/**
 * D1 errors that mean the database cannot answer now, rather than that the request is wrong:
 * the ones D1 documents as "retry the operation" (its Durable Object reset, restarting,
 * overloaded or out of time, the network between the Worker and it), plus a full database and
 * busy/locked storage, as SQLite's codes are mapped. They become StoreUnavailableError
 * (503 + Retry-After). SQL errors (constraints, syntax, types) stay as they are.
 */
const UNAVAILABLE = [
  /network connection lost/i,
  /reset because its code was updated/i,
  /caused object to be reset/i,
  /transient issue/i,
  /client disconnected/i,
  /overloaded/i,
  /requests queued/i,
  /exceeded (its )?(memory|cpu( time)?) limit/i,
  /timed out|timeout/i,
  /too many (api )?requests/i,
  /exceeded maximum db size|database or disk is full|SQLITE_FULL/i,
  /SQLITE_BUSY|database is locked|SQLITE_IOERR|SQLITE_NOMEM/i,
  /internal error/i,
];

/** True when an error from the D1 binding means "unavailable, try again later". */
export function isD1Unavailable(err: unknown): boolean {
  const messages: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (e instanceof Error) {
      messages.push(e.message);
      e = e.cause;
    } else {
      messages.push(String(e));
      break;
    }
  }
  return messages.some((m) => UNAVAILABLE.some((re) => re.test(m)));
}

function translate(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (isD1Unavailable(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(`D1: ${message}`, { cause: err });
  }
  return err;
}

export function createD1Store(db: D1Database): Store {
  function prepare(statement: Statement): D1PreparedStatement {
    return db.prepare(statement.sql).bind(...statement.args);
  }

  const engine: SqlEngine = {
    async all(statement): Promise<Row[]> {
      try {
        return (await prepare(statement).all<Row>()).results;
      } catch (err) {
        throw translate(err);
      }
    },

    async batch(statements): Promise<BatchResult[]> {
      try {
        const results = await db.batch<Row>(statements.map(prepare));
        return results.map((r) => ({ rows: r.results ?? [], changes: r.meta.changes }));
      } catch (err) {
        throw translate(err);
      }
    },

    // The binding belongs to the Worker's environment: there is nothing of ours to close.
    async close(): Promise<void> {},
  };

  return createSqlStore(engine);
}
