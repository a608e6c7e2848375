// Faults: a store that fails, stalls, loses answers or aborts half-way through a transaction.
// Every store call goes through withTimeouts (as on the Node server), so a publish answers 503
// problem+json with Retry-After and writes nothing half-way, and a feed GET serves the last good
// cached body (stale-if-error) or 503, never a 500 and never a hang.

import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { gunzipSync, gzipSync, brotliCompressSync } from "node:zlib";
import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signWebhook } from "../../src/core/auth.ts";
import { createApp } from "../../src/http/app.ts";
import type { AppDeps } from "../../src/http/deps.ts";
import { createMemoryFeedCache } from "../../src/store/cache/memory.ts";
import { withTimeouts } from "../../src/store/guarded.ts";
import { StoreUnavailableError, type Store } from "../../src/store/port.ts";
import { createSqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, START } from "../http/harness.ts";
import { expectProblem, newArticle } from "../http/api-helpers.ts";
import { faultyStore, type FaultyStore, type StoreMethod } from "./faulty-store.ts";

const TIMEOUT_MS = 40;
const ARTICLES = "/v1/sites/nisan/articles";

interface World {
  app: Hono;
  deps: AppDeps;
  faults: FaultyStore;
  dbPath: string;
  now: () => number;
  advance(ms: number): void;
  request(path: string, init?: RequestInit): Promise<Response>;
  key: string;
  secret: string;
  statuses: number[];
  close(): Promise<void>;
}

/** The real app over a real SQLite file, through the fault wrapper and withTimeouts. */
async function world(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "nashir-faults-"));
  const dbPath = join(dir, "nashir.db");
  const sqlite = createSqliteStore({ path: dbPath });
  const faults = faultyStore(sqlite);
  let now = START;
  const deps: AppDeps = {
    store: withTimeouts(faults.store, { timeoutMs: TIMEOUT_MS }),
    clock: () => now,
    config: { baseUrl: "https://feeds.nisan.example", adminToken: ADMIN_TOKEN, secretGraceSeconds: 86_400 },
    random: (n) => new Uint8Array(randomBytes(n)),
    feedCache: createMemoryFeedCache({ maxBytes: 8 * 1024 * 1024, maxEntries: 1_000 }),
    codings: ["br", "gzip"],
    compress: async (data, coding) => new Uint8Array(coding === "br" ? brotliCompressSync(data) : gzipSync(data)),
    clientId: () => "test",
    log: () => undefined,
  };
  const app = createApp(deps);
  const statuses: number[] = [];
  const request = async (path: string, init: RequestInit = {}) => {
    const res = await app.request(path, init);
    statuses.push(res.status);
    return res;
  };
  const created = await request("/v1/sites/nisan", {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ title: "نيسان", home_page_url: "https://nisan.example/ar/", language: "ar", timezone: "Asia/Amman" }),
  });
  const creds = (await created.json()) as { api_key: string; webhook_secret: string };
  return {
    app,
    deps,
    faults,
    dbPath,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    request,
    key: creds.api_key,
    secret: creds.webhook_secret,
    statuses,
    async close() {
      faults.heal();
      faults.release();
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  // Whatever the fault, nothing ever answered 500 (503 is the only 5xx).
  expect(w.statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
  await w.close();
});

const publish = (article: unknown, headers: Record<string, string> = {}) =>
  w.request(ARTICLES, { method: "POST", headers: { authorization: `Bearer ${w.key}`, "content-type": "application/json", ...headers }, body: JSON.stringify(article) });

async function signedPublish(article: unknown, id: string): Promise<Response> {
  const body = JSON.stringify(article);
  const timestamp = String(Math.floor(w.now() / 1000));
  const signature = await signWebhook(w.secret, id, timestamp, new TextEncoder().encode(body));
  return w.request(ARTICLES, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature }, body });
}

/** What a client can see of the site's articles: the list, with the store healthy. */
async function visible(): Promise<string> {
  const list = await w.app.request(`${ARTICLES}?limit=100`, { headers: { authorization: `Bearer ${w.key}` } });
  const feed = await w.app.request("/nisan/feed.json");
  return `${list.status} ${await list.text()}\n${feed.status} ${feed.headers.get("etag")} ${await feed.text()}`;
}

async function expect503(res: Response): Promise<void> {
  await expectProblem(res, 503);
  expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
}

describe("withTimeouts", () => {
  const real = () => ({}) as Store;
  it("turns a stall into StoreUnavailableError after the deadline, and ignores a late answer", async () => {
    let settle: (v: undefined) => void = () => undefined;
    const store = withTimeouts({ ...real(), getSite: () => new Promise<undefined>((resolve) => (settle = resolve)) } as Store, { timeoutMs: 50 });
    const started = Date.now();
    await expect(store.getSite("x")).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    settle(undefined); // a late answer is dropped quietly
  });

  it("turns engine errors (also thrown synchronously or late) into StoreUnavailableError with the cause kept", async () => {
    const engine = Object.assign(new Error("database is locked"), { code: "ERR_SQLITE_ERROR", errcode: 5 });
    const store = withTimeouts(
      {
        ...real(),
        getSite: () => Promise.reject(engine),
        ping: () => {
          throw new Error("socket hang up");
        },
        close: () => new Promise<void>((_, reject) => setTimeout(() => reject(new Error("late")), 200)),
      } as Store,
      { timeoutMs: 50 },
    );
    const error = await store.getSite("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toBe(engine);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.close()).rejects.toBeInstanceOf(StoreUnavailableError);
    await new Promise((resolve) => setTimeout(resolve, 250)); // the late rejection is handled, not unhandled
  });

  it("keeps programming errors as they are (a bug is a 500, not a 'retry later')", async () => {
    const store = withTimeouts({ ...real(), getSite: () => Promise.reject(new TypeError("x is not a function")), listArticles: () => Promise.reject(new RangeError("limit")) } as Store, { timeoutMs: 50 });
    await expect(store.getSite("x")).rejects.toBeInstanceOf(TypeError);
    await expect(store.listArticles("x", { filter: { kind: "all" }, limit: 1 })).rejects.toBeInstanceOf(RangeError);
  });

  it("passes answers and arguments through unchanged", async () => {
    const seen: unknown[] = [];
    const store = withTimeouts({ ...real(), getArticle: async (slug: string, id: string) => (seen.push(slug, id), undefined) } as Store, { timeoutMs: 50 });
    expect(await store.getArticle("s", "i")).toBeUndefined();
    expect(seen).toEqual(["s", "i"]);
    expect(() => withTimeouts(real(), { timeoutMs: 0 })).toThrow(RangeError);
  });
});

describe("a publish while the store fails or stalls: 503 + Retry-After, nothing written", () => {
  const steps: { method: StoreMethod; signed: boolean }[] = [
    { method: "getSite", signed: false },
    { method: "putArticle", signed: false },
    { method: "claimWebhook", signed: true },
    { method: "putArticle", signed: true },
  ];
  for (const { method, signed } of steps) {
    for (const kind of ["fail", "stall"] as const) {
      it(`${method} ${kind === "fail" ? "fails" : "stalls"} (${signed ? "signed" : "API key"})`, async () => {
        expect((await publish(newArticle({ id: "before" }))).status).toBe(201);
        const before = await visible();
        w.faults.inject(method, { kind });
        const started = Date.now();
        const res = signed ? await signedPublish(newArticle({ id: "during" }), `msg_${method}_${kind}`) : await publish(newArticle({ id: "during" }));
        await expect503(res);
        expect(Date.now() - started).toBeLessThan(3_000); // bounded by the deadline, not by the stall
        w.faults.heal();
        expect(await visible()).toBe(before);
      });
    }
  }

  it("the retry of a failed signed publish is processed once the claim is released or stale, and applied once", async () => {
    w.faults.inject("putArticle", { kind: "fail" });
    w.faults.inject("releaseWebhook", { kind: "fail" }); // the store is down: the claim cannot be released
    await expect503(await signedPublish(newArticle({ id: "retry" }), "msg_retry"));
    w.faults.heal();
    // The unreleased claim looks in flight: 409 with Retry-After, never a second apply.
    const early = await signedPublish(newArticle({ id: "retry" }), "msg_retry");
    await expectProblem(early, 409);
    expect(early.headers.get("retry-after")).toMatch(/^\d+$/);
    w.advance(61_000); // the claim is stale: its request died
    const late = await signedPublish(newArticle({ id: "retry" }), "msg_retry");
    expect(late.status).toBe(201);
    const replay = await signedPublish(newArticle({ id: "retry" }), "msg_retry");
    expect(replay.status).toBe(201);
    expect(replay.headers.get("webhook-replayed")).toBe("true");
    expect(await replay.text()).toBe(await late.text());
  });

  it("a failed putArticle whose claim is released: the retry is processed at once", async () => {
    w.faults.inject("putArticle", { kind: "fail" });
    await expect503(await signedPublish(newArticle({ id: "released" }), "msg_released"));
    w.faults.heal();
    expect((await signedPublish(newArticle({ id: "released" }), "msg_released")).status).toBe(201);
  });

  it("a write whose answer is lost: 503, and the retry converges on the same single article", async () => {
    w.faults.inject("putArticle", { kind: "lose-answer" });
    await expect503(await publish(newArticle({ id: "lost", title: "Once" })));
    w.faults.heal();
    const retry = await publish(newArticle({ id: "lost", title: "Once" }));
    expect([200, 201]).toContain(retry.status);
    const list = (await (await w.request(`${ARTICLES}?limit=100`, { headers: { authorization: `Bearer ${w.key}` } })).json()) as { items: { id: string; title: string }[] };
    expect(list.items.map((a) => `${a.id}:${a.title}`)).toEqual(["lost:Once"]);
  });

  it("the replay record cannot be completed after a committed write: the answer is still the write's (2xx), never a 503 for a write that happened", async () => {
    w.faults.inject("completeWebhook", { kind: "fail" });
    const res = await signedPublish(newArticle({ id: "committed" }), "msg_committed");
    expect(res.status).toBe(201);
    w.faults.heal();
    const list = (await (await w.request(`${ARTICLES}?limit=100`, { headers: { authorization: `Bearer ${w.key}` } })).json()) as { items: { id: string }[] };
    expect(list.items.map((a) => a.id)).toEqual(["committed"]);
    // A retry of the same message never applies it a second time (409 while the claim looks live).
    expect([201, 409]).toContain((await signedPublish(newArticle({ id: "committed" }), "msg_committed")).status);
  });

  it("a transaction aborted half-way inside SQLite (after the article row, at its index rows) leaves nothing behind", async () => {
    expect((await publish(newArticle({ id: "before", categories: ["ok"] }))).status).toBe(201);
    const before = await visible();
    const versionBefore = await w.deps.store.getSiteVersion("nisan");
    // A second connection adds a trigger that aborts the index insert for one category name.
    const db = new DatabaseSync(w.dbPath);
    const columns = (db.prepare("PRAGMA table_info(article_terms)").all() as { name: string }[]).map((c) => c.name);
    expect(columns).toContain("name");
    db.exec("CREATE TRIGGER boom BEFORE INSERT ON article_terms WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'injected half-way failure'); END");
    try {
      const res = await publish(newArticle({ id: "half", categories: ["fine", "boom"], tags: ["t"] }));
      expect(await res.clone().text()).not.toContain("injected");
      await expect503(res);
      const rows = db.prepare("SELECT COUNT(*) AS n FROM articles WHERE id = 'half'").get() as { n: number };
      expect(rows.n).toBe(0);
      const terms = db.prepare("SELECT COUNT(*) AS n FROM article_terms WHERE id = 'half'").get() as { n: number };
      expect(terms.n).toBe(0);
      // An update of an existing article that fails half-way keeps the old one whole.
      await expect503(await publish(newArticle({ id: "before", title: "Changed", categories: ["boom"], updated_at: "2024-06-20T00:00:00Z" })));
    } finally {
      db.exec("DROP TRIGGER boom");
      db.close();
    }
    expect(await visible()).toBe(before);
    expect(await w.deps.store.getSiteVersion("nisan")).toEqual(versionBefore);
  });
});

describe("a feed GET while the store fails or stalls: the last good body, or 503", () => {
  const FEEDS = ["/nisan/rss.xml", "/nisan/atom.xml", "/nisan/feed.json", "/nisan/categories/c/rss.xml", "/nisan/rss.xml?limit=5"];

  beforeEach(async () => {
    expect((await publish(newArticle({ id: "a", categories: ["c"] }))).status).toBe(201);
  });

  /** The site read is getSite or getSiteVersion (the read path may use either): both fail together. */
  const injectAt = (target: "site reads" | "listArticles" | "*", fault: Parameters<FaultyStore["inject"]>[1]) => {
    for (const method of target === "site reads" ? (["getSite", "getSiteVersion"] as const) : ([target] as const)) w.faults.inject(method, fault);
  };

  for (const kind of ["fail", "stall"] as const) {
    for (const method of ["site reads", "listArticles", "*"] as const) {
      it(`${method}: ${kind}: every document served before is served again, byte for byte, with its headers`, async () => {
        const good = new Map<string, { body: string; headers: Headers }>();
        for (const path of FEEDS) {
          const res = await w.request(path);
          expect(res.status).toBe(200);
          good.set(path, { body: await res.text(), headers: res.headers });
        }
        // A publish moves the version on: the cached bodies are the *last good* ones, not current.
        if (method !== "site reads") expect((await publish(newArticle({ id: "b", categories: ["c"] }))).status).toBe(201);
        injectAt(method, { kind });
        for (const path of FEEDS) {
          const res = await w.request(path);
          const last = good.get(path)!;
          expect(res.status, path).toBe(200);
          expect(await res.text()).toBe(last.body);
          for (const name of ["etag", "last-modified", "cache-control", "content-type", "vary", "access-control-allow-origin"]) {
            expect(res.headers.get(name), `${path} ${name}`).toBe(last.headers.get(name));
          }
          expect(res.headers.get("warning")).toBeNull();
          // Conditional requests and other codings work from the same entry.
          const etag = last.headers.get("etag")!;
          expect((await w.request(path, { headers: { "if-none-match": etag } })).status).toBe(304);
          const gz = await w.request(path, { headers: { "accept-encoding": "gzip" } });
          expect(gz.status).toBe(200);
          expect(gz.headers.get("content-encoding")).toBe("gzip");
          expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString("utf8")).toBe(last.body);
          const head = await w.request(path, { method: "HEAD" });
          expect(head.status).toBe(200);
          expect(await head.text()).toBe("");
        }
        // A document never served before has no last good body: 503.
        await expect503(await w.request("/nisan/atom.xml?limit=7"));
        await expect503(await w.request("/nisan/tags/never/feed.json"));
        // Healed: fresh bodies again (with the new article when there is one).
        w.faults.heal();
        const fresh = await w.request("/nisan/feed.json");
        expect(fresh.status).toBe(200);
        const ids = ((await fresh.json()) as { items: { id: string }[] }).items.map((i) => i.id.split("/").pop());
        expect(ids).toEqual(method === "site reads" ? ["a"] : ["b", "a"]);
      });
    }
  }

  it("an empty filtered feed is never remembered: while the store is down it is 503", async () => {
    expect((await w.request("/nisan/tags/nothing-here/rss.xml")).status).toBe(200);
    w.faults.inject("*", { kind: "fail" });
    await expect503(await w.request("/nisan/tags/nothing-here/rss.xml"));
  });

  it("a programming error in the store is not papered over with a stale body", async () => {
    expect((await w.request("/nisan/rss.xml")).status).toBe(200);
    injectAt("site reads", { kind: "fail", error: () => new TypeError("bug") });
    const res = await w.app.request("/nisan/rss.xml"); // not recorded: this one is meant to be a 500
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("bug");
  });

  it("healthz answers 503 within the deadline when ping stalls", async () => {
    w.faults.inject("ping", { kind: "stall" });
    const started = Date.now();
    await expect503(await w.request("/healthz"));
    expect(Date.now() - started).toBeLessThan(3_000); // bounded by the deadline, not by the stall
  });

  it("admin and publisher reads also answer 503 (never 500) while the store is down", async () => {
    w.faults.inject("*", { kind: "fail" });
    await expect503(await w.request("/v1/sites/nisan", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await expect503(await w.request(`${ARTICLES}/a`, { headers: { authorization: `Bearer ${w.key}` } }));
    await expect503(await w.request(`${ARTICLES}?limit=5`, { headers: { authorization: `Bearer ${w.key}` } }));
    await expect503(await w.request(`${ARTICLES}/a`, { method: "DELETE", headers: { authorization: `Bearer ${w.key}` } }));
    await expect503(await w.request("/v1/sites/nisan/rotate-secrets", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
  });
});
