// Crash safety and shutdown of the real Node server (functions/node.ts as a child process).
//
// Crash: 20 times, a stream of publishes and updates runs against the server and the whole
// process group is killed with SIGKILL at a random moment. After each kill the SQLite file is
// opened directly (node:sqlite): integrity_check and foreign_key_check are clean, every write the
// server had acknowledged (2xx received) is there with at least its updated_at, and each article's
// index rows match it exactly. The next start must then serve all of them.
//
// Shutdown: SIGTERM while several publishes are still being uploaded: every one completes with
// its full answer, new connections are refused, and the process exits 0.

import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { newArticle } from "../http/api-helpers.ts";
import { freePort, killAllServers, sleep, spawnServer, waitForHealthy, type ServerProcess } from "../functions/server-process.ts";

const TOKEN = "crash-admin-token-0123456789abcdef";
const TRIALS = 20;
const WORKERS = 6;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nashir-crash-"));
});
afterEach(async () => {
  await killAllServers();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await killAllServers();
});

async function start(): Promise<ServerProcess> {
  const port = await freePort();
  const proc = spawnServer({
    script: "functions/node.ts",
    port,
    env: { PORT: String(port), HOST: "127.0.0.1", NASHIR_DB: join(dir, "nashir.db"), NASHIR_ADMIN_TOKEN: TOKEN, NASHIR_BASE_URL: undefined, NASHIR_STORE: undefined },
  });
  await waitForHealthy(proc);
  return proc;
}

const minute = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString().replace(".000Z", "Z");

interface DbArticle {
  id: string;
  updated_ms: number;
  data: string;
}

/** Opens the file after a kill: integrity, foreign keys, and every article with its index rows. */
function inspect(path: string): { integrity: string[]; foreignKeys: unknown[]; articles: Map<string, DbArticle>; badIndex: string[] } {
  const db = new DatabaseSync(path);
  try {
    const integrity = (db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check);
    const foreignKeys = db.prepare("PRAGMA foreign_key_check").all();
    const rows = db.prepare("SELECT id, updated_ms, data FROM articles WHERE site = 'nisan'").all() as unknown as DbArticle[];
    const articles = new Map(rows.map((r) => [r.id, r]));
    const terms = db.prepare("SELECT id, kind, name FROM article_terms WHERE site = 'nisan' ORDER BY id, kind, name").all() as { id: string; kind: string; name: string }[];
    const indexed = new Map<string, string[]>();
    for (const t of terms) indexed.set(t.id, [...(indexed.get(t.id) ?? []), `${t.kind}:${t.name}`]);
    const badIndex: string[] = [];
    for (const row of rows) {
      const a = JSON.parse(row.data) as { categories: string[]; tags: string[]; authors: { name: string }[] };
      const expected = [...new Set([...a.categories.map((c) => `category:${c}`), ...a.tags.map((t) => `tag:${t}`), ...a.authors.map((p) => `author:${p.name}`)])].sort();
      const actual = [...(indexed.get(row.id) ?? [])].sort();
      if (JSON.stringify(expected) !== JSON.stringify(actual)) badIndex.push(`${row.id}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
    }
    for (const id of indexed.keys()) if (!articles.has(id)) badIndex.push(`${id}: index rows without an article`);
    return { integrity, foreignKeys, articles, badIndex };
  } finally {
    db.close();
  }
}

describe("SIGKILL during a stream of publishes", () => {
  it(`${TRIALS} kills: every acknowledged write survives, the file is intact`, async () => {
    const dbPath = join(dir, "nashir.db");
    /** id → newest updated_at (ms) the server acknowledged. */
    const acknowledged = new Map<string, number>();
    let key = "";
    let sequence = 0;
    let acks = 0;
    let inFlightAtKill = 0;
    let serverErrors = 0;
    const started = Date.now();

    for (let trial = 0; trial < TRIALS; trial++) {
      const proc = await start();
      if (trial === 0) {
        const res = await fetch(`${proc.origin}/v1/sites/nisan`, {
          method: "PUT",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ title: "نيسان", home_page_url: "https://nisan.example/ar/", language: "ar", timezone: "Asia/Amman" }),
        });
        expect(res.status).toBe(201);
        key = ((await res.json()) as { api_key: string }).api_key;
      } else {
        // The restarted server serves every acknowledged write.
        const served = new Map<string, number>();
        let next: string | undefined;
        do {
          const res = await fetch(`${proc.origin}/v1/sites/nisan/articles?limit=100${next ? `&before=${encodeURIComponent(next)}` : ""}`, { headers: { authorization: `Bearer ${key}` } });
          expect(res.status).toBe(200);
          const body = (await res.json()) as { items: { id: string; updated_at: string }[]; next?: string };
          for (const a of body.items) served.set(a.id, Date.parse(a.updated_at));
          next = body.next;
        } while (next !== undefined);
        for (const [id, updated] of acknowledged) expect(served.get(id), `${id} after restart ${trial}`).toBeGreaterThanOrEqual(updated);
      }

      // The stream: new articles and updates of acknowledged ones, from several workers at once.
      let killed = false;
      let inFlight = 0;
      const worker = async (w: number) => {
        while (!killed) {
          const n = sequence++;
          const existing = [...acknowledged.keys()];
          const update = existing.length > 0 && n % 3 === 0;
          const id = update ? existing[n % existing.length]! : `t${trial}-w${w}-${n}`;
          const updatedMs = Date.parse(minute(n));
          const body = JSON.stringify(
            newArticle({ id, title: `v${n}`, url: `https://nisan.example/ar/${id}`, published_at: "2024-01-01T00:00:00Z", updated_at: minute(n), categories: [`c${n % 7}`], tags: [`t${n % 5}`, `w${w}`], authors: [{ name: `a${n % 3}` }] }),
          );
          inFlight++;
          let status: number;
          try {
            const res = await fetch(`${proc.origin}/v1/sites/nisan/articles`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });
            await res.arrayBuffer();
            status = res.status;
          } catch (error) {
            if (!killed) throw new Error(`a request failed before the kill (trial ${trial}): ${String(error)}`);
            return; // the connection died with the server: not acknowledged
          } finally {
            inFlight--;
          }
          if (status >= 500) serverErrors++;
          if (status === 200 || status === 201) {
            acks++;
            acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, updatedMs));
          }
        }
      };
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
      await sleep(80 + ((trial * 37) % 220));
      killed = true;
      inFlightAtKill += inFlight;
      proc.kill();
      const status = await proc.exited;
      expect(status.signal).toBe("SIGKILL");
      await Promise.all(workers);

      const { integrity, foreignKeys, articles, badIndex } = inspect(dbPath);
      expect(integrity).toEqual(["ok"]);
      expect(foreignKeys).toEqual([]);
      expect(badIndex).toEqual([]);
      for (const [id, updated] of acknowledged) {
        const row = articles.get(id);
        expect(row, `${id} lost at trial ${trial}`).toBeDefined();
        expect(row!.updated_ms).toBeGreaterThanOrEqual(updated);
      }
    }
    console.log(`crash: ${TRIALS} SIGKILL trials, ${acks} acknowledged writes (${acknowledged.size} ids), ${inFlightAtKill} requests in flight at the kills, 0 lost, ${serverErrors} 5xx, ${Date.now() - started} ms`);
    expect(serverErrors).toBe(0);
    expect(acks).toBeGreaterThan(TRIALS * 5);
  }, 120_000);
});

/** A POST whose body is uploaded in `parts` pieces, `gapMs` apart; resolves with the full answer. */
function tricklePost(origin: string, path: string, headers: Record<string, string>, body: string, parts: number, gapMs: number): Promise<{ status: number; body: string }> {
  const bytes = Buffer.from(body);
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { ...headers, "content-length": String(bytes.byteLength) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    const size = Math.ceil(bytes.byteLength / parts);
    let part = 0;
    const next = () => {
      const chunk = bytes.subarray(part * size, (part + 1) * size);
      part++;
      if (part >= parts) req.end(chunk);
      else {
        req.write(chunk);
        setTimeout(next, gapMs);
      }
    };
    next();
  });
}

describe("SIGTERM with uploads in flight", () => {
  it("every in-flight publish completes with its full answer, new connections are refused, exit 0", async () => {
    const proc = await start();
    const created = await fetch(`${proc.origin}/v1/sites/nisan`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "نيسان", home_page_url: "https://nisan.example/ar/", language: "ar", timezone: "Asia/Amman" }),
    });
    const { api_key: key } = (await created.json()) as { api_key: string };
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    // Five publishes near the 100 KiB cap, each uploaded in 20 pieces over about a second.
    const uploads = Array.from({ length: 5 }, (_, i) =>
      tricklePost(proc.origin, "/v1/sites/nisan/articles", headers, JSON.stringify(newArticle({ id: `big-${i}`, content_text: "ن".repeat(45_000) })), 20, 50),
    );
    await sleep(300);
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    proc.child.kill("SIGTERM");
    await sleep(200);
    expect(exited).toBe(false);
    // A new connection after SIGTERM is refused (the listener is closed).
    await expect(fetch(`${proc.origin}/healthz`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();

    const answers = await Promise.all(uploads);
    for (const [i, answer] of answers.entries()) {
      expect(answer.status, answer.body.slice(0, 200)).toBe(201);
      const article = JSON.parse(answer.body) as { id: string; content_text: string };
      expect(article.id).toBe(`big-${i}`);
      expect(article.content_text).toHaveLength(45_000);
    }
    const status = await Promise.race([proc.exited, sleep(8_000).then(() => "timeout" as const)]);
    expect(status).toEqual({ code: 0, signal: null });

    // After a restart, all five are there.
    const again = await start();
    const list = (await (await fetch(`${again.origin}/v1/sites/nisan/articles?limit=10`, { headers: { authorization: `Bearer ${key}` } })).json()) as { items: { id: string }[] };
    expect(list.items.map((a) => a.id).sort()).toEqual(["big-0", "big-1", "big-2", "big-3", "big-4"]);
  }, 60_000);
});
