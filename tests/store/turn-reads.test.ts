// Site-version reads shared within one event-loop turn (src/store/turn-reads.ts): the store
// contract still holds through it, a turn makes one read per site, the next turn reads again, and
// no read made after a write (in this process) sees the version from before it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/store/port.ts";
import { createSqliteStore } from "../../src/store/sqlite.ts";
import { withTurnVersionReads } from "../../src/store/turn-reads.ts";
import { makeArticle, makeRecord, storeContract } from "./contract.ts";

function sqliteFile(): { store: Store; cleanup: () => Promise<void>; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "nashir-turn-"));
  const path = join(dir, "nashir.db");
  const store = createSqliteStore({ path });
  return {
    store,
    path,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

storeContract("sqlite with turn-shared version reads", async () => {
  const { store, cleanup } = sqliteFile();
  return { store: withTurnVersionReads(store, setImmediate), cleanup };
});

/** Counts the engine's getSiteVersion calls. */
function counting(store: Store): { store: Store; reads: () => number } {
  let reads = 0;
  return {
    store: {
      ...store,
      getSiteVersion: (slug) => {
        reads++;
        return store.getSiteVersion(slug);
      },
    },
    reads: () => reads,
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("turn-shared version reads", () => {
  it("one read per site per turn; the next turn reads again", async () => {
    const { store: engine, cleanup } = sqliteFile();
    try {
      await engine.createSite(makeRecord("a"));
      await engine.createSite(makeRecord("b"));
      const { store: counted, reads } = counting(engine);
      const store = withTurnVersionReads(counted, setImmediate);
      const first = await Promise.all([store.getSiteVersion("a"), store.getSiteVersion("a"), store.getSiteVersion("b")]);
      expect(first[0]).toEqual(first[1]);
      expect(reads()).toBe(2);
      await nextTurn();
      await store.getSiteVersion("a");
      expect(reads()).toBe(3);
    } finally {
      await cleanup();
    }
  });

  it("a write through the store is seen by every read after it, in the same turn", async () => {
    const { store: engine, cleanup } = sqliteFile();
    try {
      await engine.createSite(makeRecord("a"));
      const store = withTurnVersionReads(engine, setImmediate);
      const before = await store.getSiteVersion("a");
      await store.putArticle("a", makeArticle("x"), "2026-11-27T12:00:00.000Z");
      const after = await store.getSiteVersion("a");
      expect(after?.version).toBeGreaterThan(before?.version ?? Number.POSITIVE_INFINITY);
      const deleted = await store.deleteSite("a");
      expect(deleted).toBe(true);
      expect(await store.getSiteVersion("a")).toBeUndefined();
    } finally {
      await cleanup();
    }
  });

  it("a write by another connection is seen in the next turn", async () => {
    const { store: engine, cleanup, path } = sqliteFile();
    const other = createSqliteStore({ path });
    try {
      await engine.createSite(makeRecord("a"));
      const store = withTurnVersionReads(engine, setImmediate);
      const before = await store.getSiteVersion("a");
      await other.putArticle("a", makeArticle("x"), "2026-11-27T12:00:00.000Z");
      await nextTurn();
      const after = await store.getSiteVersion("a");
      expect(after?.version).toBeGreaterThan(before?.version ?? Number.POSITIVE_INFINITY);
    } finally {
      await other.close();
      await cleanup();
    }
  });

  it("a failed read is not shared with later reads", async () => {
    let fail = true;
    const { store: engine, cleanup } = sqliteFile();
    try {
      await engine.createSite(makeRecord("a"));
      const flaky: Store = { ...engine, getSiteVersion: (slug) => (fail ? Promise.reject(new Error("down")) : engine.getSiteVersion(slug)) };
      const store = withTurnVersionReads(flaky, setImmediate);
      await expect(store.getSiteVersion("a")).rejects.toThrow("down");
      fail = false;
      await expect(store.getSiteVersion("a")).resolves.toMatchObject({ version: expect.any(Number) });
    } finally {
      await cleanup();
    }
  });
});
