// A real app over a real SQLite file, a clock the test moves, and helpers that speak the contract.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, brotliCompressSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import type { Hono } from "hono";
import { signWebhook } from "../../src/core/auth.ts";
import { createApp } from "../../src/http/app.ts";
import type { AppDeps } from "../../src/http/deps.ts";
import { createMemoryFeedCache } from "../../src/store/cache/memory.ts";
import type { Store } from "../../src/store/port.ts";
import { createSqliteStore } from "../../src/store/sqlite.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const BASE_URL = "https://feeds.nisan.example";
/** 2026-11-27T12:00:00Z: after the seed article, so its date is in the past. */
export const START = Date.UTC(2026, 10, 27, 12, 0, 0);

const fixtures = join(import.meta.dirname, "..", "fixtures");

/** Fresh parsed copies every call: no test can mutate another's fixture. */
export function seedSite(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixtures, "seed-site.json"), "utf8")) as Record<string, unknown>;
}
export function seedArticle(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixtures, "seed-article.json"), "utf8")) as Record<string, unknown>;
}

export interface Harness {
  app: Hono;
  store: Store;
  deps: AppDeps;
  /** Current fake time (epoch ms); move it with `advance`. */
  now(): number;
  advance(ms: number): void;
  /** Sends a request to the app; `client` sets the identity used for the failure limit. */
  request(path: string, init?: RequestInit & { client?: string }): Promise<Response>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** Creates the site (seed settings by default) and returns its credentials. */
  createSite(slug?: string, settings?: Record<string, unknown>): Promise<{ api_key: string; webhook_secret: string }>;
  /** POSTs an article with the API key. */
  publish(slug: string, apiKey: string, article: unknown): Promise<Response>;
  /** POSTs (or sends `method` to `path`) with a Standard Webhooks signature. */
  signed(path: string, secret: string, body: string, options?: { id?: string; timestamp?: number; method?: string }): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Wrap the real store (e.g. to count calls or inject faults). */
  wrapStore?: (store: Store) => Store;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "nashir-http-"));
  const sqlite = createSqliteStore({ path: join(dir, "nashir.db") });
  const store = options.wrapStore ? options.wrapStore(sqlite) : sqlite;
  let now = START;
  const deps: AppDeps = {
    store,
    clock: () => now,
    config: { baseUrl: BASE_URL, adminToken: ADMIN_TOKEN, secretGraceSeconds: 86_400 },
    random: (n) => new Uint8Array(randomBytes(n)),
    feedCache: createMemoryFeedCache({ maxBytes: 8 * 1024 * 1024, maxEntries: 1_000 }),
    codings: ["br", "gzip"],
    compress: async (data, coding) => new Uint8Array(coding === "br" ? brotliCompressSync(data) : gzipSync(data)),
    clientId: (c) => c.req.header("x-test-client") ?? "test",
    log: () => undefined,
  };
  const app = createApp(deps);

  const request: Harness["request"] = (path, init = {}) => {
    const { client, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (client) headers.set("x-test-client", client);
    return Promise.resolve(app.request(path, { ...rest, headers }));
  };

  const admin: Harness["admin"] = (method, path, body) =>
    request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return {
    app,
    store,
    deps,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    request,
    admin,
    async createSite(slug = "nisan", settings) {
      const body = settings ?? { ...seedSite(), slug };
      const res = await admin("PUT", `/v1/sites/${slug}`, body);
      if (res.status !== 201) throw new Error(`site create answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { api_key: string; webhook_secret: string };
    },
    publish(slug, apiKey, article) {
      return request(`/v1/sites/${slug}/articles`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(article),
      });
    },
    async signed(path, secret, body, opts = {}) {
      const id = opts.id ?? `msg_${randomBytes(8).toString("hex")}`;
      const timestamp = String(opts.timestamp ?? Math.floor(now / 1000));
      const signature = await signWebhook(secret, id, timestamp, new TextEncoder().encode(body));
      return request(path, {
        method: opts.method ?? "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": timestamp,
          "webhook-signature": signature,
        },
        body: body === "" && (opts.method === "DELETE" || opts.method === "GET") ? null : body,
      });
    },
    async close() {
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts the RFC 9457 shape and returns the parsed problem. */
export async function problemOf(res: Response): Promise<{ type: string; title: string; status: number; detail: string; errors?: { field: string; message: string }[] }> {
  if (!res.headers.get("content-type")?.startsWith("application/problem+json")) {
    throw new Error(`expected problem+json, got ${res.headers.get("content-type")} (${res.status}): ${await res.text()}`);
  }
  return (await res.json()) as Awaited<ReturnType<typeof problemOf>>;
}
