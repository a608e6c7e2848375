// Secrets and isolation. After creation, no API key, webhook secret, key hash or admin token ever
// appears in a log event or in any later response (site, list, feeds, errors), in-process and from
// the real Node server's stdout/stderr; API keys are stored hashed (the plaintext is nowhere in the
// SQLite files). Plus the authentication cases tests/http/webhooks.test.ts does not cover:
// captured signed requests moved to another route, id or time, hostile webhook-ids, forged key
// prefixes, and bounded work on a header stuffed with signatures.

import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { signWebhook } from "../../src/core/auth.ts";
import { ADMIN_TOKEN, createHarness, type Harness } from "../http/harness.ts";
import { expectProblem, newArticle, recordStatuses } from "../http/api-helpers.ts";
import { freePort, killAllServers, spawnServer, stopWith, waitForHealthy } from "../functions/server-process.ts";

const ARTICLES = "/v1/sites/nisan/articles";

interface Issued {
  api_key: string;
  webhook_secret: string;
}

/** Every form a secret could leak in: itself, the secret's base64 without `whsec_`, the key's hash. */
function secretForms(issued: Issued[], adminToken: string): string[] {
  const forms = [adminToken];
  for (const { api_key, webhook_secret } of issued) {
    forms.push(api_key, api_key.slice(-43), webhook_secret, webhook_secret.slice("whsec_".length), createHash("sha256").update(api_key).digest("hex"));
  }
  return forms;
}

function leaks(haystack: string, forms: readonly string[]): string[] {
  return forms.filter((form) => haystack.includes(form)).map((form) => `${form.slice(0, 12)}…`);
}

async function signedHeaders(secret: string, id: string, timestamp: number, body: string): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signWebhook(secret, id, String(timestamp), new TextEncoder().encode(body)),
  };
}

describe("secrets never leak after creation (in-process)", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("no api_key, webhook secret, key hash or admin token in any log event or later response", async () => {
    const logs: string[] = [];
    h.deps.log = (event) => logs.push(JSON.stringify(event));
    const seen: string[] = [];
    const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
      const res = await h.request(path, init);
      const text = await res.clone().text();
      seen.push(`${res.status} ${path} ${JSON.stringify([...res.headers])} ${text}`);
      return res;
    };
    const admin = (method: string, path: string, body?: unknown) =>
      call(path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    // The only answers allowed to carry secrets: creation and rotation, each its own.
    const first = await h.createSite();
    const other = await h.createSite("ayyar");
    const rotatedRes = await h.admin("POST", "/v1/sites/nisan/rotate-secrets");
    expect(rotatedRes.status).toBe(200);
    const rotated = (await rotatedRes.json()) as Issued;
    const forms = secretForms([first, other, rotated], ADMIN_TOKEN);

    const withKey = (key: string, method: string, path: string, body?: unknown) =>
      call(path, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const signed = async (secret: string, body: string, id = `msg_${Math.random()}`, timestamp = Math.floor(h.now() / 1000)) =>
      call(ARTICLES, { method: "POST", headers: await signedHeaders(secret, id, timestamp, body), body });

    // Everything a publisher, an admin, a reader and an attacker can do, including every failure.
    expect((await withKey(first.api_key, "POST", ARTICLES, newArticle({ id: "old-key", categories: ["c"] }))).status).toBe(201);
    expect((await withKey(rotated.api_key, "POST", ARTICLES, newArticle({ id: "new-key", tags: ["t"] }))).status).toBe(201);
    expect((await signed(rotated.webhook_secret, JSON.stringify(newArticle({ id: "signed" })), "msg_fixed")).status).toBe(201);
    expect((await signed(rotated.webhook_secret, JSON.stringify(newArticle({ id: "signed" })), "msg_fixed")).status).toBe(201); // replay
    expect((await signed(rotated.webhook_secret, JSON.stringify(newArticle({ id: "other" })), "msg_fixed")).status).toBe(422);
    expect((await signed(first.webhook_secret, "{}", undefined, 1)).status).toBe(401); // stale timestamp
    expect((await signed(other.webhook_secret, "{}")).status).toBe(401); // another site's secret
    expect((await withKey(other.api_key, "POST", ARTICLES, newArticle())).status).toBe(403);
    expect((await withKey(`${first.api_key}x`, "GET", ARTICLES)).status).toBe(401);
    expect((await withKey(ADMIN_TOKEN, "GET", ARTICLES)).status).toBe(401);
    expect((await withKey(first.api_key, "POST", ARTICLES, newArticle({ url: "javascript:alert(1)" }))).status).toBe(422);
    expect((await call(ARTICLES, { method: "POST", headers: { authorization: `Bearer ${first.api_key}`, "content-type": "text/plain" }, body: "x" })).status).toBe(415);
    expect((await withKey(first.api_key, "GET", `${ARTICLES}/nope`)).status).toBe(404);
    expect((await withKey(first.api_key, "GET", ARTICLES)).status).toBe(200);
    expect((await withKey(first.api_key, "GET", `${ARTICLES}/signed`)).status).toBe(200);
    expect((await admin("GET", "/v1/sites/nisan")).status).toBe(200);
    expect((await admin("PUT", "/v1/sites/nisan", { title: "T", home_page_url: "https://nisan.example/", language: "ar", timezone: "UTC" })).status).toBe(200);
    expect((await admin("PUT", "/v1/sites/nisan", { title: "T", home_page_url: "https://nisan.example/", language: "ar", timezone: "Mars/Base" })).status).toBe(422);
    expect((await call("/v1/sites/nisan", { headers: { authorization: `Bearer ${first.api_key}` } })).status).toBe(401);
    for (const path of ["/nisan/rss.xml", "/nisan/atom.xml", "/nisan/feed.json", "/nisan/categories/c/rss.xml", "/nisan/tags/t/feed.json", "/ayyar/atom.xml", "/nisan/rss.xml?limit=0", "/healthz", "/nowhere"]) {
      expect((await call(path)).status).toBeLessThan(500);
    }
    expect((await withKey(first.api_key, "DELETE", `${ARTICLES}/old-key`)).status).toBe(204);

    expect(seen.length).toBeGreaterThan(25);
    expect(logs.length).toBeGreaterThan(3);
    expect(leaks(seen.join("\n"), forms)).toEqual([]);
    expect(leaks(logs.join("\n"), forms)).toEqual([]);
  });

  it("an engine error's message and stack are never answered", async () => {
    // The store is wrapped to fail with a message that (as a worst case) carries the admin token.
    const failing = await createHarness({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, prop, receiver) {
            if (prop === "listArticles") return () => Promise.reject(new Error(`engine exploded near ${ADMIN_TOKEN}`));
            const value: unknown = Reflect.get(target, prop, receiver);
            return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    try {
      await failing.createSite();
      const res = await failing.request("/nisan/feed.json");
      expect(res.status).toBeGreaterThanOrEqual(500);
      const text = await res.text();
      expect(text).not.toContain(ADMIN_TOKEN);
      expect(text).not.toContain("engine exploded");
      expect(text).not.toMatch(/\bat [^\n]+\.(ts|js):\d+/);
    } finally {
      await failing.close();
    }
  });
});

describe("authentication and isolation beyond tests/http/webhooks.test.ts", () => {
  let h: Harness;
  let site: Issued;
  let recorder: ReturnType<typeof recordStatuses>;
  beforeEach(async () => {
    h = await createHarness();
    recorder = recordStatuses(h);
    site = await h.createSite();
  });
  afterEach(async () => {
    expect(recorder.serverErrors()).toEqual([]);
    await h.close();
  });

  const list = async () => {
    const res = await h.request(`${ARTICLES}?limit=100`, { headers: { authorization: `Bearer ${site.api_key}` } });
    return ((await res.json()) as { items: { id: string; title: string }[] }).items.map((a) => `${a.id}:${a.title}`);
  };

  it("a captured signed DELETE cannot be moved to another article while its webhook-id is remembered", async () => {
    for (const id of ["keep", "victim"]) {
      expect((await h.publish("nisan", site.api_key, newArticle({ id }))).status).toBe(201);
    }
    const headers = await signedHeaders(site.webhook_secret, "msg_delete_keep", Math.floor(h.now() / 1000), "");
    delete headers["content-type"];
    expect((await h.request(`${ARTICLES}/keep`, { method: "DELETE", headers })).status).toBe(204);
    // The path is not signed (Standard Webhooks signs id, timestamp and body), but the replay record
    // is: the same webhook-id on another path is "another body".
    const moved = await h.request(`${ARTICLES}/victim`, { method: "DELETE", headers });
    expect((await expectProblem(moved, 422)).errors?.map((e) => e.field)).toContain("webhook-id");
    expect(await list()).toEqual(["victim:Plain title"]);
  });

  it("a captured signed publish replayed to PUT or to events, or with another id or timestamp, changes nothing", async () => {
    const body = JSON.stringify(newArticle({ id: "a-1" }));
    const now = Math.floor(h.now() / 1000);
    const headers = await signedHeaders(site.webhook_secret, "msg_capture", now, body);
    expect((await h.request(ARTICLES, { method: "POST", headers, body })).status).toBe(201);
    const before = await list();
    await expectProblem(await h.request(`${ARTICLES}/a-1`, { method: "PUT", headers, body }), 422);
    await expectProblem(await h.request("/v1/sites/nisan/events", { method: "POST", headers, body }), 422);
    await expectProblem(await h.request(ARTICLES, { method: "POST", headers: { ...headers, "webhook-id": "msg_fresh" }, body }), 401);
    await expectProblem(await h.request(ARTICLES, { method: "POST", headers: { ...headers, "webhook-timestamp": String(now + 1) }, body }), 401);
    const edited = JSON.stringify(newArticle({ id: "a-1", title: "Edited" }));
    await expectProblem(await h.request(ARTICLES, { method: "POST", headers: { ...headers, "webhook-id": "msg_other" }, body: edited }), 401);
    expect(await list()).toEqual(before);
  });

  it("hostile webhook-ids with valid signatures are 400 and leave no replay record", async () => {
    const body = JSON.stringify(newArticle());
    for (const id of ["m".repeat(257), "msg with spaces", "msg_ü", "msg\u0000x", "msg\tx"]) {
      // Header values cannot carry NUL or raw non-ASCII: those never reach the app at all.
      let headers: Record<string, string>;
      try {
        headers = await signedHeaders(site.webhook_secret, id, Math.floor(h.now() / 1000), body);
        new Headers(headers);
      } catch {
        continue;
      }
      const res = await h.request(ARTICLES, { method: "POST", headers, body });
      expect([400, 401], `${JSON.stringify(id.slice(0, 20))}: ${res.status}`).toContain(res.status);
      await expectProblem(res, res.status);
    }
    expect(await list()).toEqual([]);
    // 256 printable characters is the longest id, and works.
    const longest = "m".repeat(256);
    expect((await h.request(ARTICLES, { method: "POST", headers: await signedHeaders(site.webhook_secret, longest, Math.floor(h.now() / 1000), body), body })).status).toBe(201);
  });

  it("a header stuffed with signatures: only the first ten are tried; the work is bounded, never a 5xx", async () => {
    const body = JSON.stringify(newArticle());
    const headers = await signedHeaders(site.webhook_secret, "msg_stuffed", Math.floor(h.now() / 1000), body);
    const valid = headers["webhook-signature"]!;
    const junk = Array.from({ length: 5_000 }, (_, i) => `v1,${Buffer.alloc(32, i % 256).toString("base64")}`).join(" ");
    const started = Date.now();
    await expectProblem(await h.request(ARTICLES, { method: "POST", headers: { ...headers, "webhook-signature": `${junk} ${valid}` }, body }), 401);
    expect(Date.now() - started).toBeLessThan(5_000);
    const res = await h.request(ARTICLES, { method: "POST", headers: { ...headers, "webhook-signature": `v1,AAAA ${"x".repeat(10_000)} v2,${valid.slice(3)} ${valid}` }, body });
    expect(res.status).toBe(201);
  });

  it("an API key whose site prefix is rewritten opens neither site (401, not 403)", async () => {
    const other = await h.createSite("ayyar");
    const forged = site.api_key.replace(/^nsr_nisan_/, "nsr_ayyar_");
    expect(forged).not.toBe(site.api_key);
    for (const slug of ["nisan", "ayyar"]) {
      await expectProblem(await h.publish(slug, forged, newArticle()), 401);
    }
    // The real keys still work, each on its own site only.
    expect((await h.publish("ayyar", other.api_key, newArticle())).status).toBe(201);
    await expectProblem(await h.publish("nisan", other.api_key, newArticle()), 403);
  });

  it("publisher credentials never open the admin routes, and the admin token never publishes", async () => {
    for (const token of [site.api_key, site.webhook_secret]) {
      for (const [method, path] of [["GET", "/v1/sites/nisan"], ["POST", "/v1/sites/nisan/rotate-secrets"], ["DELETE", "/v1/sites/nisan"], ["PUT", "/v1/sites/evil"]] as const) {
        await expectProblem(await h.request(path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(method === "PUT" ? { body: "{}" } : {}) }), 401);
      }
    }
    const asAdmin = await signedHeaders(`whsec_${Buffer.from(ADMIN_TOKEN).toString("base64")}`, "msg_admin", Math.floor(h.now() / 1000), "{}");
    await expectProblem(await h.request(ARTICLES, { method: "POST", headers: asAdmin, body: "{}" }), 401);
    expect((await h.admin("GET", "/v1/sites/nisan")).status).toBe(200);
  });
});

describe("the real Node server: logs and the database file", () => {
  let dir: string;
  afterAll(async () => {
    await killAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("stdout and stderr never carry a secret, and the SQLite files never carry an API key", async () => {
    dir = mkdtempSync(join(tmpdir(), "nashir-secrets-"));
    const token = "secrets-admin-token-0123456789abcdef";
    const port = await freePort();
    const proc = spawnServer({
      script: "functions/node.ts",
      port,
      env: { PORT: String(port), HOST: "127.0.0.1", NASHIR_DB: join(dir, "nashir.db"), NASHIR_ADMIN_TOKEN: token, NASHIR_BASE_URL: undefined, NASHIR_STORE: undefined },
    });
    await waitForHealthy(proc);
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${proc.origin}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const created = (await (await admin("PUT", "/v1/sites/nisan", { title: "T", home_page_url: "https://nisan.example/", language: "ar", timezone: "UTC" })).json()) as Issued;
    const rotated = (await (await admin("POST", "/v1/sites/nisan/rotate-secrets")).json()) as Issued;
    for (const key of [created.api_key, rotated.api_key, `${created.api_key}x`]) {
      await fetch(`${proc.origin}${ARTICLES}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(newArticle({ id: key.slice(-8).replace(/[^a-z0-9]/gi, "k") })) });
    }
    const body = JSON.stringify(newArticle({ id: "signed" }));
    const signed = await fetch(`${proc.origin}${ARTICLES}`, { method: "POST", headers: await signedHeaders(rotated.webhook_secret, "msg_1", Math.floor(Date.now() / 1000), body), body });
    expect(signed.status).toBe(201);
    for (const path of ["/nisan/rss.xml", "/nisan/feed.json", "/v1/sites/nisan"]) {
      const res = path.startsWith("/v1") ? await admin("GET", path) : await fetch(`${proc.origin}${path}`);
      const text = await res.text();
      expect(leaks(text, secretForms([created, rotated], token))).toEqual([]);
    }
    expect(await stopWith(proc, "SIGTERM")).toEqual({ code: 0, signal: null });

    const forms = secretForms([created, rotated], token);
    expect(leaks(proc.stdout(), forms)).toEqual([]);
    expect(leaks(proc.stderr(), forms)).toEqual([]);
    expect(proc.stdout()).toContain("article.created");

    // Raw bytes of every file SQLite wrote (database, WAL, shared memory): no API key, no admin token.
    const keys = [created.api_key, rotated.api_key, created.api_key.slice(-43), rotated.api_key.slice(-43), token];
    for (const file of readdirSync(dir)) {
      if (!file.startsWith("nashir.db")) continue;
      const bytes = readFileSync(join(dir, file)).toString("latin1");
      expect(keys.filter((k) => bytes.includes(k)), file).toEqual([]);
    }
    // And through SQLite itself: every row of every table, as text.
    const db = new DatabaseSync(join(dir, "nashir.db"), { readOnly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      let text = "";
      for (const { name } of tables) text += JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all());
      expect(text).toContain(createHash("sha256").update(rotated.api_key).digest("hex"));
      expect(keys.filter((k) => text.includes(k))).toEqual([]);
    } finally {
      db.close();
    }
  }, 60_000);
});
