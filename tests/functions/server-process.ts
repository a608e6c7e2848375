// Shared helpers for end-to-end suites: start an entry point as a real child process, wait for it,
// talk to it over real HTTP, and run the same publish → read → 304 → delete checks against any
// deployment (Node today; Workers and Lambda suites can pass their own origin and token).

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { expect } from "vitest";
import { signWebhook } from "../../src/core/auth.ts";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
const FIXTURES = join(REPO_ROOT, "tests", "fixtures");

export function seedSite(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, "seed-site.json"), "utf8")) as Record<string, unknown>;
}
export function seedArticle(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, "seed-article.json"), "utf8")) as Record<string, unknown>;
}

export const FEED_CONTENT_TYPES = {
  "rss.xml": "application/rss+xml; charset=utf-8",
  "atom.xml": "application/atom+xml; charset=utf-8",
  "feed.json": "application/feed+json; charset=utf-8",
} as const;
export type FeedFile = keyof typeof FEED_CONTENT_TYPES;
export const FEED_FILES = Object.keys(FEED_CONTENT_TYPES) as FeedFile[];

// ---------------------------------------------------------------- processes

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Where to connect: `http://127.0.0.1:{port}`. */
  origin: string;
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has exited. */
  exited: Promise<ExitStatus>;
  /** SIGKILL to the whole process group; safe to call any number of times. */
  kill(): void;
}

const live = new Set<ServerProcess>();

/** A TCP port that was free a moment ago (the usual small race is accepted). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SpawnOptions {
  /** Script relative to the repo root, e.g. `functions/node.ts`. */
  script: string;
  port: number;
  /** Variables to set; `undefined` removes a variable inherited from this process. */
  env: Record<string, string | undefined>;
}

/** Spawns `process.execPath script` in its own process group and collects its output. */
export function spawnServer(options: SpawnOptions): ServerProcess {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(options.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [options.script], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const proc: ServerProcess = {
    child,
    port: options.port,
    origin: `http://127.0.0.1:${options.port}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill() {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Kills every process this module started that is still running, and waits for them. */
export async function killAllServers(): Promise<void> {
  const running = [...live];
  for (const proc of running) proc.kill();
  await Promise.all(running.map((proc) => Promise.race([proc.exited, sleep(5_000)])));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls /healthz until it answers 200; fails early (with the output) if the process exits. */
export async function waitForHealthy(proc: ServerProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: ExitStatus | undefined;
  void proc.exited.then((status) => {
    exited = status;
  });
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`server exited (${JSON.stringify(exited)}) before it was healthy\nstdout:\n${proc.stdout()}\nstderr:\n${proc.stderr()}`);
    }
    try {
      const res = await fetch(`${proc.origin}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) {
        await res.arrayBuffer();
        return;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`server not healthy within ${timeoutMs} ms\nstdout:\n${proc.stdout()}\nstderr:\n${proc.stderr()}`);
}

/** Sends a signal and waits for the exit, at most `timeoutMs`. */
export async function stopWith(proc: ServerProcess, signal: NodeJS.Signals, timeoutMs = 5_000): Promise<ExitStatus | "timeout"> {
  proc.child.kill(signal);
  return Promise.race([proc.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
}

// ---------------------------------------------------------------- HTTP

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes as received: never decompressed. */
  body: Buffer;
}

/**
 * A plain node:http request: no automatic decompression and any Host header. `slowBody` sends
 * the body in two halves, calling `between` after the first half is written.
 */
export function rawRequest(
  origin: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; between?: () => Promise<void> } = {},
): Promise<RawResponse> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: init.method ?? "GET", headers: init.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    if (body === undefined) {
      req.end();
    } else if (init.between === undefined) {
      req.end(body);
    } else {
      const between = init.between;
      const half = Math.floor(body.byteLength / 2);
      req.write(body.subarray(0, half));
      void between().then(
        () => req.end(body.subarray(half)),
        (error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    }
  });
}

export interface Target {
  /** Where requests go. */
  origin: string;
  adminToken: string;
  /** The configured public base URL: every self link starts with it. */
  baseUrl: string;
}

export function admin(target: Target, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${target.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${target.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Headers of a Standard Webhooks signed request over `body`, timestamped now. */
export async function webhookHeaders(secret: string, body: string, id = `msg_${randomBytes(8).toString("hex")}`): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = await signWebhook(secret, id, timestamp, new TextEncoder().encode(body));
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}

export function signedFetch(target: Target, method: string, path: string, secret: string, body: string): Promise<Response> {
  return webhookHeaders(secret, body).then((headers) =>
    fetch(`${target.origin}${path}`, {
      method,
      headers: { ...headers, ...(body === "" ? {} : { "content-type": "application/json" }) },
      ...(body === "" ? {} : { body }),
    }),
  );
}

export interface CreatedSite {
  api_key: string;
  webhook_secret: string;
  created_at: string;
}

export async function createSite(target: Target, slug: string): Promise<CreatedSite> {
  const res = await admin(target, "PUT", `/v1/sites/${slug}`, { ...seedSite(), slug });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(typeof body.api_key).toBe("string");
  expect(String(body.webhook_secret)).toMatch(/^whsec_/);
  return { api_key: String(body.api_key), webhook_secret: String(body.webhook_secret), created_at: String(body.created_at) };
}

/** The seed's item id under `slug`: tag:{host},{site creation day}:{slug}/{id}. */
export function seedItemId(slug: string, createdAt: string): string {
  return `tag:nisan.example,${createdAt.slice(0, 10)}:${slug}/${String(seedArticle().id)}`;
}

/** The item ids of a feed body in any format, and its self link (checked lightly: this is transport). */
export function feedSummary(file: FeedFile, body: string): { ids: string[]; self: string | undefined } {
  if (file === "feed.json") {
    const doc = JSON.parse(body) as { feed_url?: string; items: { id: string }[]; version: string };
    expect(doc.version).toBe("https://jsonfeed.org/version/1.1");
    return { ids: doc.items.map((i) => i.id), self: doc.feed_url };
  }
  const ids =
    file === "rss.xml"
      ? [...body.matchAll(/<guid isPermaLink="false">([^<]*)<\/guid>/g)].map((m) => m[1] ?? "")
      : [...body.matchAll(/<entry[^>]*>\s*<id>([^<]*)<\/id>/g)].map((m) => m[1] ?? "");
  const self = /<(?:atom:)?link\b(?=[^>]*\brel="self")[^>]*\bhref="([^"]*)"/.exec(body)?.[1];
  return { ids, self: self?.replace(/&amp;/g, "&") };
}

/**
 * The end-to-end path every platform must pass: create a site, publish the seed with a Standard
 * Webhooks signature, read the three feeds (content type, item id, self link, compression),
 * revalidate with If-None-Match, delete the article, and see it gone from every feed.
 */
export async function checkPublishReadDelete(target: Target, slug: string): Promise<void> {
  const site = await createSite(target, slug);
  const body = JSON.stringify(seedArticle());
  const published = await signedFetch(target, "POST", `/v1/sites/${slug}/articles`, site.webhook_secret, body);
  const publishedText = await published.text();
  expect(published.status, publishedText).toBe(201);
  const article = JSON.parse(publishedText) as Record<string, unknown>;
  expect(article.published_at).toBe("2024-06-19T11:49:00Z");
  expect(article.title).toBe(seedArticle().title);

  const itemId = seedItemId(slug, site.created_at);
  const etags = new Map<FeedFile, string>();
  for (const file of FEED_FILES) {
    const path = `/${slug}/${file}`;
    const res = await fetch(`${target.origin}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(FEED_CONTENT_TYPES[file]);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("cache-control")).toBe("public, max-age=900");
    const etag = res.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[^"]+"$/);
    etags.set(file, etag);
    const text = await res.text();
    const summary = feedSummary(file, text);
    expect(summary.ids).toEqual([itemId]);
    expect(summary.self).toBe(`${target.baseUrl}${path}`);
    expect(text).toContain(String(seedArticle().title));

    const limited = await fetch(`${target.origin}${path}?limit=5`);
    expect(feedSummary(file, await limited.text()).self).toBe(`${target.baseUrl}${path}?limit=5`);

    const notModified = await fetch(`${target.origin}${path}`, { headers: { "if-none-match": etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(etag);
    expect(await notModified.text()).toBe("");

    // Compression over the wire, checked on the raw bytes.
    const identity = await rawRequest(target.origin, path);
    for (const [coding, decode] of [["gzip", gunzipSync], ["br", brotliDecompressSync]] as const) {
      const encoded = await rawRequest(target.origin, path, { headers: { "accept-encoding": coding } });
      expect(encoded.status).toBe(200);
      expect(encoded.headers["content-encoding"]).toBe(coding);
      expect(String(encoded.headers["vary"]).toLowerCase()).toContain("accept-encoding");
      expect(decode(encoded.body).equals(identity.body)).toBe(true);
    }

    const head = await fetch(`${target.origin}${path}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(etag);
    expect(head.headers.get("content-type")).toBe(FEED_CONTENT_TYPES[file]);
    expect(await head.text()).toBe("");
  }

  const deleted = await signedFetch(target, "DELETE", `/v1/sites/${slug}/articles/${String(seedArticle().id)}`, site.webhook_secret, "");
  expect(deleted.status, await deleted.text()).toBe(204);
  for (const file of FEED_FILES) {
    const res = await fetch(`${target.origin}/${slug}/${file}`, { headers: { "if-none-match": etags.get(file) ?? "" } });
    expect(res.status).toBe(200);
    expect(feedSummary(file, await res.text()).ids).toEqual([]);
  }
  const gone = await fetch(`${target.origin}/v1/sites/${slug}/articles/${String(seedArticle().id)}`, {
    headers: { authorization: `Bearer ${site.api_key}` },
  });
  expect(gone.status).toBe(404);
  expect(gone.headers.get("content-type")).toMatch(/^application\/problem\+json/);
}
