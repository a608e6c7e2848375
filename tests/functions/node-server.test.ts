// The real Node entry point (functions/node.ts) as a child process, over real HTTP.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  admin,
  checkPublishReadDelete,
  createSite,
  feedSummary,
  freePort,
  killAllServers,
  rawRequest,
  seedArticle,
  seedItemId,
  signedFetch,
  spawnServer,
  stopWith,
  waitForHealthy,
  webhookHeaders,
  type ServerProcess,
  type Target,
} from "./server-process.ts";

const SCRIPT = "functions/node.ts";

let dir: string;

async function start(env: Record<string, string | undefined> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const proc = spawnServer({
    script: SCRIPT,
    port,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      NASHIR_DB: join(dir, "nashir.db"),
      NASHIR_BASE_URL: undefined,
      NASHIR_ADMIN_TOKEN: undefined,
      NASHIR_STORE: undefined,
      ...env,
    },
  });
  await waitForHealthy(proc);
  return proc;
}

function storedToken(): string {
  return readFileSync(join(dir, "admin-token"), "utf8").trim();
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe("Node server (functions/node.ts)", () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nashir-node-"));
  });
  afterEach(async () => {
    await killAllServers();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await killAllServers();
  });

  it("answers /healthz with 200 {status: ok}", async () => {
    const proc = await start();
    const res = await fetch(`${proc.origin}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("generates an admin token on first start, prints it once, keeps it, and reuses it without printing", async () => {
    const first = await start();
    const token = storedToken();
    expect(token.length).toBeGreaterThanOrEqual(20);
    expect(occurrences(first.stdout(), token)).toBe(1);
    expect(first.stderr()).not.toContain(token);
    // A secret on disk is readable by its owner only.
    expect(statSync(join(dir, "admin-token")).mode & 0o077).toBe(0);
    const target: Target = { origin: first.origin, adminToken: token, baseUrl: first.origin };
    await createSite(target, "nisan");
    expect((await admin({ ...target, adminToken: "wrong" }, "GET", "/v1/sites/nisan")).status).toBe(401);
    expect(await stopWith(first, "SIGTERM")).toEqual({ code: 0, signal: null });

    const second = await start();
    expect(storedToken()).toBe(token);
    expect(second.stdout()).not.toContain(token);
    expect(second.stderr()).not.toContain(token);
    const res = await admin({ origin: second.origin, adminToken: token, baseUrl: second.origin }, "GET", "/v1/sites/nisan");
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).not.toContain("whsec_");
  });

  it("NASHIR_ADMIN_TOKEN overrides the generated and the stored token, and is never printed", async () => {
    writeFileSync(join(dir, "admin-token"), "stored-token-from-an-earlier-start\n");
    const envToken = "env-admin-token-0123456789abcdef";
    const proc = await start({ NASHIR_ADMIN_TOKEN: envToken });
    expect(proc.stdout()).not.toContain(envToken);
    const base = { origin: proc.origin, baseUrl: proc.origin };
    expect((await admin({ ...base, adminToken: "stored-token-from-an-earlier-start" }, "PUT", "/v1/sites/nisan", {})).status).toBe(401);
    await createSite({ ...base, adminToken: envToken }, "nisan");
  });

  it("a fresh data folder with NASHIR_ADMIN_TOKEN prints no token", async () => {
    const envToken = "env-admin-token-abcdef0123456789";
    const proc = await start({ NASHIR_ADMIN_TOKEN: envToken });
    expect(proc.stdout()).not.toMatch(/admin token/i);
    if (existsSync(join(dir, "admin-token"))) expect(storedToken()).not.toBe(envToken);
  });

  it("creates missing folders of NASHIR_DB, with or without NASHIR_ADMIN_TOKEN", async () => {
    const withEnv = await start({ NASHIR_DB: join(dir, "a", "b", "nashir.db"), NASHIR_ADMIN_TOKEN: "nested-admin-token-0123456789" });
    await createSite({ origin: withEnv.origin, adminToken: "nested-admin-token-0123456789", baseUrl: withEnv.origin }, "nisan");
    expect(existsSync(join(dir, "a", "b", "nashir.db"))).toBe(true);
    const generated = await start({ NASHIR_DB: join(dir, "c", "d", "nashir.db") });
    const token = readFileSync(join(dir, "c", "d", "admin-token"), "utf8").trim();
    expect(occurrences(generated.stdout(), token)).toBe(1);
    await createSite({ origin: generated.origin, adminToken: token, baseUrl: generated.origin }, "nisan");
  });

  it("end to end: signed publish, three feeds, 304, delete (base URL defaults to http://127.0.0.1:$PORT)", async () => {
    const proc = await start();
    await checkPublishReadDelete({ origin: proc.origin, adminToken: storedToken(), baseUrl: `http://127.0.0.1:${proc.port}` }, "nisan");
  });

  it("end to end with NASHIR_BASE_URL: self links use it, never the Host header", async () => {
    const baseUrl = "https://feeds.nisan.example";
    const proc = await start({ NASHIR_BASE_URL: `${baseUrl}/`, NASHIR_ADMIN_TOKEN: "e2e-admin-token-0123456789" });
    const target: Target = { origin: proc.origin, adminToken: "e2e-admin-token-0123456789", baseUrl };
    await checkPublishReadDelete(target, "nisan");

    // Publish again and read with foreign Host headers: the bytes never change.
    const site = await createSite(target, "other");
    const published = await signedFetch(target, "POST", "/v1/sites/other/articles", site.webhook_secret, JSON.stringify(seedArticle()));
    expect(published.status).toBe(201);
    const plain = await rawRequest(proc.origin, "/other/rss.xml?limit=5");
    expect(feedSummary("rss.xml", plain.body.toString("utf8")).self).toBe(`${baseUrl}/other/rss.xml?limit=5`);
    for (const host of ["evil.example", `127.0.0.1:${proc.port}`, "feeds.nisan.example:8443"]) {
      const res = await rawRequest(proc.origin, "/other/rss.xml?limit=5", { headers: { host, "x-forwarded-host": "forwarded.example" } });
      expect(res.status).toBe(200);
      expect(res.body.equals(plain.body)).toBe(true);
      expect(res.headers.etag).toBe(plain.headers.etag);
    }
    expect(feedSummary("feed.json", (await rawRequest(proc.origin, "/other/feed.json")).body.toString("utf8")).ids).toEqual([
      seedItemId("other", site.created_at),
    ]);
  });

  it("SIGTERM: exits 0 within a few seconds, and the data is there after a restart", async () => {
    const token = "shutdown-admin-token-0123456789";
    const first = await start({ NASHIR_ADMIN_TOKEN: token });
    const target: Target = { origin: first.origin, adminToken: token, baseUrl: first.origin };
    const site = await createSite(target, "nisan");
    const published = await signedFetch(target, "POST", "/v1/sites/nisan/articles", site.webhook_secret, JSON.stringify(seedArticle()));
    expect(published.status).toBe(201);
    // An idle keep-alive connection must not hold the shutdown up.
    expect((await fetch(`${first.origin}/nisan/feed.json`)).status).toBe(200);
    const started = Date.now();
    expect(await stopWith(first, "SIGTERM", 5_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);

    const second = await start({ NASHIR_ADMIN_TOKEN: token });
    const again: Target = { ...target, origin: second.origin, baseUrl: second.origin };
    const res = await fetch(`${second.origin}/nisan/feed.json`);
    expect(res.status).toBe(200);
    expect(feedSummary("feed.json", await res.text()).ids).toEqual([seedItemId("nisan", site.created_at)]);
    const article = await fetch(`${second.origin}/v1/sites/nisan/articles/${String(seedArticle().id)}`, {
      headers: { authorization: `Bearer ${site.api_key}` },
    });
    expect(article.status).toBe(200);
    expect((await admin(again, "GET", "/v1/sites/nisan")).status).toBe(200);
  });

  it("SIGINT also exits 0", async () => {
    const proc = await start({ NASHIR_ADMIN_TOKEN: "sigint-admin-token-0123456789" });
    expect(await stopWith(proc, "SIGINT", 5_000)).toEqual({ code: 0, signal: null });
  });

  it("SIGTERM during an in-flight request: the request completes, then the process exits 0", async () => {
    const token = "inflight-admin-token-0123456789";
    const first = await start({ NASHIR_ADMIN_TOKEN: token });
    const target: Target = { origin: first.origin, adminToken: token, baseUrl: first.origin };
    const site = await createSite(target, "nisan");
    const body = JSON.stringify(seedArticle());
    const headers = {
      ...(await webhookHeaders(site.webhook_secret, body)),
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    };
    let exitedEarly = false;
    void first.exited.then(() => {
      exitedEarly = true;
    });
    // Half the body is sent, then SIGTERM, then (while the server waits for the rest) the other half.
    const response = rawRequest(first.origin, "/v1/sites/nisan/articles", {
      method: "POST",
      headers,
      body,
      between: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        first.child.kill("SIGTERM");
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(exitedEarly).toBe(false);
      },
    });
    const res = await response;
    expect(res.status, res.body.toString("utf8")).toBe(201);
    const status = await Promise.race([first.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5_000))]);
    expect(status).toEqual({ code: 0, signal: null });

    const second = await start({ NASHIR_ADMIN_TOKEN: token });
    const feed = await fetch(`${second.origin}/nisan/atom.xml`);
    expect(feedSummary("atom.xml", await feed.text()).ids).toEqual([seedItemId("nisan", site.created_at)]);
  });
});
