// 200 concurrent publishes over real HTTP to the real Node server (functions/node.ts as a child
// process), once on a temporary SQLite file and once on DynamoDB (dynalite): new ids, racing writers
// of one id with different updated_at, and webhook messages sent several times at once. Every
// acknowledged write is stored exactly once, the newest updated_at wins, a webhook message is
// applied once (its copies answer the stored first response or 409 while the first is in flight),
// and every feed lists each article once.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "../../src/core/auth.ts";
import { startDynaliteProcess, withoutAws } from "../e2e/contract.ts";
import { newArticle } from "../http/api-helpers.ts";
import { freePort, killAllServers, sleep, spawnServer, waitForHealthy, type ServerProcess } from "../functions/server-process.ts";

const TOKEN = "concurrency-admin-token-0123456789";
const NEW_IDS = 100;
const RACED_IDS = 5;
const WRITERS_PER_ID = 10;
const MESSAGES = 10;
const COPIES_PER_MESSAGE = 5;

interface Started {
  proc: ServerProcess;
  /** Kills the server and whatever it runs on (whole process groups), waits, removes its files. */
  stop(): Promise<void>;
}

/** SIGKILL to each process group, then wait for the exits (bounded). */
async function stopProcesses(procs: ServerProcess[], dir: string): Promise<void> {
  for (const p of procs) p.kill();
  await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(5_000)])));
  rmSync(dir, { recursive: true, force: true });
}

/** The Node server on a fresh SQLite file. */
async function startOnSqlite(): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "nashir-concurrency-"));
  const port = await freePort();
  const server = spawnServer({
    script: "functions/node.ts",
    port,
    env: { PORT: String(port), HOST: "127.0.0.1", NASHIR_DB: join(dir, "nashir.db"), NASHIR_ADMIN_TOKEN: TOKEN, NASHIR_BASE_URL: undefined, NASHIR_STORE: undefined },
  });
  const stop = () => stopProcesses([server], dir);
  await waitForHealthy(server).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { proc: server, stop };
}

/** The Node server on DynamoDB (dynalite in memory), with no AWS settings; nothing goes to SQLite. */
async function startOnDynalite(): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "nashir-concurrency-ddb-"));
  const procs: ServerProcess[] = [];
  const stop = () => stopProcesses(procs, dir);
  try {
    const dynalite = await startDynaliteProcess("nashir-concurrency");
    procs.push(dynalite.proc);
    const port = await freePort();
    const server = spawnServer({
      script: "functions/node.ts",
      port,
      env: withoutAws({
        PORT: String(port),
        HOST: "127.0.0.1",
        NASHIR_STORE: "dynamodb",
        NASHIR_DYNAMODB_ENDPOINT: dynalite.endpoint,
        NASHIR_DYNAMODB_TABLE: dynalite.table,
        NASHIR_DB: join(dir, "unused", "nashir.db"),
        NASHIR_ADMIN_TOKEN: TOKEN,
        NASHIR_BASE_URL: undefined,
      }),
    });
    procs.push(server);
    await waitForHealthy(server);
    return { proc: server, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

let proc: ServerProcess;
let key: string;
let secret: string;

afterAll(async () => {
  await killAllServers();
});

interface Sent {
  kind: "new" | "raced" | "message";
  id: string;
  updated_at: string;
  webhookId?: string;
  status: number;
  body: string;
  replayed: boolean;
}

/** Deterministic shuffle (so a failure can be reproduced by its seed). */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const minutes = (n: number) => new Date(Date.UTC(2024, 5, 19, 12, 0) + n * 60_000).toISOString().replace(".000Z", "Z");

async function listAll(): Promise<{ id: string; updated_at: string; title: string }[]> {
  const items: { id: string; updated_at: string; title: string }[] = [];
  let next: string | undefined;
  for (let page = 0; page < 20; page++) {
    const query = `?limit=100${next === undefined ? "" : `&before=${encodeURIComponent(next)}`}`;
    const res = await fetch(`${proc.origin}/v1/sites/nisan/articles${query}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { id: string; updated_at: string; title: string }[]; next?: string };
    items.push(...body.items);
    if (body.next === undefined) return items;
    next = body.next;
  }
  throw new Error("the list never ended");
}

describe.each([
  { store: "SQLite", start: startOnSqlite },
  { store: "DynamoDB (dynalite)", start: startOnDynalite },
])("200 concurrent publishes to the real Node server on $store", ({ store, start }) => {
  let started: Started | undefined;

  beforeAll(async () => {
    started = await start();
    proc = started.proc;
    const res = await fetch(`${proc.origin}/v1/sites/nisan`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "نيسان", home_page_url: "https://nisan.example/ar/", language: "ar", timezone: "Asia/Amman" }),
    });
    expect(res.status).toBe(201);
    ({ api_key: key, webhook_secret: secret } = (await res.json()) as { api_key: string; webhook_secret: string });
  });

  afterAll(async () => {
    await started?.stop();
  });

  it("every acknowledged write is stored once, the newest updated_at wins, messages apply once, feeds list each article once", async () => {
    const jobs: (() => Promise<Sent>)[] = [];
    const published = "2024-06-19T12:00:00Z";

    const post = async (kind: Sent["kind"], id: string, updatedAt: string, title: string, webhookId?: string): Promise<Sent> => {
      const body = JSON.stringify(newArticle({ id, title, published_at: published, updated_at: updatedAt, url: `https://nisan.example/ar/${id}` }));
      return send(kind, id, updatedAt, body, webhookId === undefined ? { authorization: `Bearer ${key}` } : await signed(webhookId, body), webhookId);
    };
    const signedCache = new Map<string, Promise<Record<string, string>>>();
    // Copies of a message are byte-identical: same id, timestamp, signature and body.
    const signed = (webhookId: string, body: string) => {
      let headers = signedCache.get(webhookId);
      if (!headers) {
        const timestamp = String(Math.floor(Date.now() / 1000));
        headers = signWebhook(secret, webhookId, timestamp, new TextEncoder().encode(body)).then((signature) => ({
          "webhook-id": webhookId,
          "webhook-timestamp": timestamp,
          "webhook-signature": signature,
        }));
        signedCache.set(webhookId, headers);
      }
      return headers;
    };
    const send = async (kind: Sent["kind"], id: string, updatedAt: string, body: string, headers: Record<string, string>, webhookId?: string): Promise<Sent> => {
      const res = await fetch(`${proc.origin}/v1/sites/nisan/articles`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
      return { kind, id, updated_at: updatedAt, ...(webhookId === undefined ? {} : { webhookId }), status: res.status, body: await res.text(), replayed: res.headers.get("webhook-replayed") === "true" };
    };

    for (let i = 0; i < NEW_IDS; i++) jobs.push(() => post("new", `new-${i}`, published, `New ${i}`));
    for (let r = 0; r < RACED_IDS; r++) {
      for (let w = 0; w < WRITERS_PER_ID; w++) jobs.push(() => post("raced", `raced-${r}`, minutes(w), `Writer ${w}`));
    }
    for (let m = 0; m < MESSAGES; m++) {
      for (let c = 0; c < COPIES_PER_MESSAGE; c++) jobs.push(() => post("message", `message-${m}`, published, `Message ${m}`, `msg_concurrent_${m}`));
    }
    expect(jobs).toHaveLength(200);
    // Sign every message before the burst, so the 200 requests leave together.
    for (let m = 0; m < MESSAGES; m++) {
      await signed(`msg_concurrent_${m}`, JSON.stringify(newArticle({ id: `message-${m}`, title: `Message ${m}`, published_at: published, updated_at: published, url: `https://nisan.example/ar/message-${m}` })));
    }

    const results = await Promise.all(shuffle(jobs, 0x5eed).map((job) => job()));

    // No 5xx, no connection errors (Promise.all would have thrown).
    expect(results.filter((r) => r.status >= 500).map((r) => `${r.status} ${r.id} ${r.body.slice(0, 120)}`)).toEqual([]);

    // New ids: each acknowledged with 201.
    const fresh = results.filter((r) => r.kind === "new");
    expect(fresh.every((r) => r.status === 201)).toBe(true);

    // Racing writers: all acknowledged, exactly one created, and each answer is at least as new as its write.
    for (let r = 0; r < RACED_IDS; r++) {
      const writes = results.filter((x) => x.kind === "raced" && x.id === `raced-${r}`);
      expect(writes.map((x) => x.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      for (const write of writes) {
        const answered = JSON.parse(write.body) as { updated_at: string };
        expect(Date.parse(answered.updated_at)).toBeGreaterThanOrEqual(Date.parse(write.updated_at));
      }
    }

    // Messages: one apply each; the copies answer the stored first response (replayed) or 409.
    for (let m = 0; m < MESSAGES; m++) {
      const copies = results.filter((x) => x.webhookId === `msg_concurrent_${m}`);
      const applied = copies.filter((x) => x.status < 300 && !x.replayed);
      expect(applied.map((x) => x.status)).toEqual([201]);
      for (const copy of copies) {
        if (copy.status === 409) continue;
        expect(copy.status).toBe(201);
        expect(copy.body).toBe(applied[0]!.body);
      }
    }

    // The store: every acknowledged id exactly once; raced ids hold the newest updated_at.
    const stored = await listAll();
    const ids = stored.map((a) => a.id);
    const copies = results.filter((x) => x.kind === "message");
    const count = (keep: (r: Sent) => boolean) => results.filter(keep).length;
    const lost = [...new Set(results.filter((r) => r.status < 300).map((r) => r.id))].filter((id) => !ids.includes(id));
    console.log(
      `concurrency on ${store}: ${results.length} requests, 2xx ${count((r) => r.status >= 200 && r.status < 300)}, ` +
        `409 ${count((r) => r.status === 409)}, 5xx ${count((r) => r.status >= 500)}, writes lost ${lost.length}; ` +
        `message copies: ${copies.filter((x) => !x.replayed && x.status === 201).length} applied, ` +
        `${copies.filter((x) => x.replayed).length} replayed, ${copies.filter((x) => x.status === 409).length} in flight (409)`,
    );
    expect(lost).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const acknowledged = new Set(results.filter((r) => r.status < 300).map((r) => r.id));
    expect(new Set(ids)).toEqual(acknowledged);
    expect(ids).toHaveLength(NEW_IDS + RACED_IDS + MESSAGES);
    for (let r = 0; r < RACED_IDS; r++) {
      const article = stored.find((a) => a.id === `raced-${r}`)!;
      expect(article.updated_at).toBe(minutes(WRITERS_PER_ID - 1));
      expect(article.title).toBe(`Writer ${WRITERS_PER_ID - 1}`);
    }

    // Feeds: every page of JSON Feed and Atom lists each article once.
    const followJson = async () => {
      const seen: string[] = [];
      let url: string | undefined = `${proc.origin}/nisan/feed.json?limit=100`;
      while (url !== undefined) {
        const res: Response = await fetch(url);
        expect(res.status).toBe(200);
        const doc = (await res.json()) as { items: { id: string }[]; next_url?: string };
        seen.push(...doc.items.map((i) => i.id));
        url = doc.next_url === undefined ? undefined : `${proc.origin}${new URL(doc.next_url).pathname}${new URL(doc.next_url).search}`;
      }
      return seen;
    };
    const inFeed = await followJson();
    expect(inFeed).toHaveLength(ids.length);
    expect(new Set(inFeed).size).toBe(inFeed.length);
    const atom = await (await fetch(`${proc.origin}/nisan/atom.xml?limit=100`)).text();
    const entries = [...atom.matchAll(/<entry[^>]*>\s*<id>([^<]*)<\/id>/g)].map((m) => m[1]);
    expect(entries).toHaveLength(100);
    expect(new Set(entries).size).toBe(100);
  }, 60_000);
});
