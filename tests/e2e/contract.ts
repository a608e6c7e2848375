// One end-to-end suite, written once, run against every deployment form (Node server, Worker in
// workerd): create a site, publish the seed article with a Standard Webhooks signature, read the
// three feeds, revalidate (304), delete the article.
//
// Same data, same bytes: next to the server under test, the suite runs the Node server
// (functions/node.ts) as a reference with the same NASHIR_BASE_URL, publishes the same data to both,
// and compares every feed body byte for byte. The only thing allowed to differ is the site's
// creation date in the tag: URIs (it comes from each server's clock).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, brotliDecompressSync } from "node:zlib";
import { XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEtag } from "../../src/core/caching.ts";
import {
  FEED_CONTENT_TYPES,
  FEED_FILES,
  admin,
  feedSummary,
  freePort,
  killAllServers,
  rawRequest,
  seedArticle,
  seedItemId,
  seedSite,
  sleep,
  spawnServer,
  waitForHealthy,
  webhookHeaders,
  type FeedFile,
  type RawResponse,
  type ServerProcess,
  type Target,
} from "../functions/server-process.ts";

export interface ServerSettings {
  /** NASHIR_BASE_URL: the public origin in every self link, the same for the server and the reference. */
  baseUrl: string;
  adminToken: string;
}

export interface RunningServer extends Target {
  proc: ServerProcess;
  /** Removes whatever the server kept on disk (called after the process is gone). */
  cleanup(): void;
}

export type StartServer = (settings: ServerSettings) => Promise<RunningServer>;

const SLUG = "nisan";
const SETTINGS: ServerSettings = { baseUrl: "https://feeds.nisan.example", adminToken: "e2e-admin-token-0123456789abcdef" };
/** The seed's first category, percent-encoded in its feed path. */
const CATEGORY_PATH = `/${SLUG}/categories/${encodeURIComponent("سياسة")}`;

/** The Node server (functions/node.ts) as a child process, on a fresh SQLite file. */
export const startNodeServer: StartServer = async (settings) => {
  const dir = mkdtempSync(join(tmpdir(), "nashir-e2e-node-"));
  const port = await freePort();
  const proc = spawnServer({
    script: "functions/node.ts",
    port,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      NASHIR_DB: join(dir, "nashir.db"),
      NASHIR_BASE_URL: settings.baseUrl,
      NASHIR_ADMIN_TOKEN: settings.adminToken,
      NASHIR_STORE: undefined,
    },
  });
  await waitForHealthy(proc);
  return {
    origin: proc.origin,
    baseUrl: settings.baseUrl,
    adminToken: settings.adminToken,
    proc,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
};

/** This process's environment without any AWS setting (`undefined` removes it), plus `extra`. */
export function withoutAws(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) env[key] = undefined;
  return { ...env, ...extra };
}

export interface DynaliteProcess {
  proc: ServerProcess;
  /** NASHIR_DYNAMODB_ENDPOINT for servers on it. */
  endpoint: string;
  table: string;
}

/**
 * `npm run dynalite` (scripts/dynalite.ts) as a child process in its own process group, in memory,
 * on a free port; resolves once it reports the table ACTIVE. killAllServers stops it with the rest.
 */
export async function startDynaliteProcess(table = "nashir-e2e", timeoutMs = 20_000): Promise<DynaliteProcess> {
  const port = await freePort();
  const proc = spawnServer({
    script: "scripts/dynalite.ts",
    port,
    env: withoutAws({ DYNALITE_PORT: String(port), NASHIR_DYNAMODB_TABLE: table, DYNALITE_PATH: undefined }),
  });
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!proc.stdout().includes("is ACTIVE")) {
    if (exited || Date.now() > deadline) {
      proc.kill();
      throw new Error(`scripts/dynalite.ts ${exited ? "exited" : "not ready"} before its table was ACTIVE\nstdout:\n${proc.stdout()}\nstderr:\n${proc.stderr()}`);
    }
    await sleep(50);
  }
  return { proc, endpoint: `http://127.0.0.1:${port}`, table };
}

/** The creation date in tag: URIs is the one byte range that comes from each server's clock. */
function normalise(body: string): string {
  return body.replace(/tag:nisan\.example,\d{4}-\d{2}-\d{2}:/g, "tag:nisan.example,CREATED:");
}

const IDENTITY = { headers: { "accept-encoding": "identity" } };

/** The body as sent, decoded by its Content-Encoding. */
function decoded(res: RawResponse): Buffer {
  const coding = res.headers["content-encoding"];
  if (coding === undefined) return res.body;
  if (coding === "gzip") return gunzipSync(res.body);
  if (coding === "br") return brotliDecompressSync(res.body);
  throw new Error(`unexpected content-encoding ${String(coding)}`);
}

/**
 * The same entity tag. A proxy that re-encodes a body may weaken a strong tag (Cloudflare does);
 * If-None-Match compares weakly, so that is still the same tag.
 */
function sameTag(received: string | string[] | undefined, etag: string): boolean {
  const opaque = (tag: string) => tag.replace(/^W\//, "");
  return typeof received === "string" && opaque(received) === opaque(etag);
}

/**
 * A tag of the same document in any content coding: each coding has its own strong ETag
 * (src/core/caching.ts codedEtag), and any of them revalidates the document.
 */
function sameDocument(received: string | string[] | undefined, etag: string): boolean {
  return typeof received === "string" && baseEtag(received) === baseEtag(etag);
}

function checkSyntax(file: FeedFile, text: string): void {
  if (file === "feed.json") {
    expect(() => JSON.parse(text) as unknown).not.toThrow();
  } else {
    expect(XMLValidator.validate(text)).toBe(true);
  }
}

interface Published {
  apiKey: string;
  secret: string;
  createdAt: string;
}

export function e2eSuite(name: string, startServer: StartServer): void {
  describe(`end to end: ${name}`, () => {
    let server: RunningServer;
    let reference: RunningServer;
    const sites = new Map<RunningServer, Published>();
    const etags = new Map<string, string>();
    let started = 0;

    beforeAll(async () => {
      started = Date.now();
      [server, reference] = await Promise.all([startServer(SETTINGS), startNodeServer(SETTINGS)]);
      console.log(`[e2e ${name}] servers healthy after ${Date.now() - started} ms`);
    }, 120_000);

    afterAll(async () => {
      // SIGKILL to each whole process group (wrangler and workerd included), then the temp state.
      await killAllServers();
      server?.cleanup();
      reference?.cleanup();
      console.log(`[e2e ${name}] suite took ${Date.now() - started} ms`);
    });

    it("1. creates the site: 201 with secrets once, then 200 without them", async () => {
      for (const target of [server, reference]) {
        const res = await admin(target, "PUT", `/v1/sites/${SLUG}`, seedSite());
        const text = await res.text();
        expect(res.status, text).toBe(201);
        const body = JSON.parse(text) as Record<string, unknown>;
        expect(String(body.webhook_secret)).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
        expect(typeof body.api_key).toBe("string");
        sites.set(target, { apiKey: String(body.api_key), secret: String(body.webhook_secret), createdAt: String(body.created_at) });

        const read = await admin(target, "GET", `/v1/sites/${SLUG}`);
        expect(read.status).toBe(200);
        const readText = await read.text();
        expect(readText).not.toContain("whsec_");
        expect(JSON.parse(readText)).toMatchObject({ slug: SLUG, title: seedSite().title, ttl_minutes: 15 });
        expect((await admin({ ...target, adminToken: "wrong-token" }, "GET", `/v1/sites/${SLUG}`)).status).toBe(401);
      }
    });

    it("2. publishes the seed article with a Standard Webhooks signature, once per webhook-id", async () => {
      const body = JSON.stringify(seedArticle());
      for (const target of [server, reference]) {
        const site = sites.get(target)!;
        const webhookId = `msg_e2e_${Date.now()}`;
        const headers = { ...(await webhookHeaders(site.secret, body, webhookId)), "content-type": "application/json" };
        const res = await fetch(`${target.origin}/v1/sites/${SLUG}/articles`, { method: "POST", headers, body });
        const text = await res.text();
        expect(res.status, text).toBe(201);
        const article = JSON.parse(text) as Record<string, unknown>;
        expect(article.published_at).toBe("2024-06-19T11:49:00Z");
        expect(article.title).toBe(seedArticle().title);

        // A retry with the same webhook-id is answered from the replay record, and applied once.
        const again = await fetch(`${target.origin}/v1/sites/${SLUG}/articles`, { method: "POST", headers, body });
        expect(again.status).toBe(201);
        expect(again.headers.get("webhook-replayed")).toBe("true");
        expect(await again.text()).toBe(text);
        // The same webhook-id, correctly signed, over another body: refused.
        const otherBody = body.replace("}", ',"_note":"x"}');
        const otherHeaders = { ...(await webhookHeaders(site.secret, otherBody, webhookId)), "content-type": "application/json" };
        const other = await fetch(`${target.origin}/v1/sites/${SLUG}/articles`, { method: "POST", headers: otherHeaders, body: otherBody });
        expect(other.status).toBe(422);

        const unsigned = await fetch(`${target.origin}/v1/sites/${SLUG}/articles`, {
          method: "POST",
          headers: { ...headers, "webhook-signature": "v1,AAAA" },
          body,
        });
        expect(unsigned.status).toBe(401);
      }
    });

    it("3. serves the three feeds: valid, with the seed item, and byte for byte the Node server's", async () => {
      const itemId = (target: RunningServer) => seedItemId(SLUG, sites.get(target)!.createdAt);
      for (const prefix of [`/${SLUG}`, CATEGORY_PATH]) {
        for (const file of FEED_FILES) {
          const path = `${prefix}/${file}`;
          const [res, ref] = await Promise.all([rawRequest(server.origin, path, IDENTITY), rawRequest(reference.origin, path, IDENTITY)]);
          expect(res.status, `${path}: ${res.body.toString("utf8")}`).toBe(200);
          expect(res.headers["content-type"]).toBe(FEED_CONTENT_TYPES[file]);
          expect(res.headers["content-encoding"]).toBeUndefined();
          expect(res.headers["cache-control"]).toBe("public, max-age=900");
          expect(res.headers["access-control-allow-origin"]).toBe("*");
          expect(String(res.headers["vary"]).toLowerCase()).toContain("accept-encoding");
          expect(res.headers["last-modified"]).toMatch(/ GMT$/);
          const etag = String(res.headers.etag);
          expect(etag).toMatch(/^"[^"]+"$/);
          etags.set(path, etag);

          const text = res.body.toString("utf8");
          checkSyntax(file, text);
          const summary = feedSummary(file, text);
          expect(summary.ids).toEqual([itemId(server)]);
          expect(summary.self).toBe(`${SETTINGS.baseUrl}${path}`);
          expect(normalise(text)).toBe(normalise(ref.body.toString("utf8")));
          expect(Buffer.byteLength(normalise(text))).toBe(Buffer.byteLength(normalise(ref.body.toString("utf8"))));

          // A second read (now from the feed cache) is the same bytes.
          const again = await rawRequest(server.origin, path, IDENTITY);
          expect(again.body.equals(res.body)).toBe(true);
          expect(sameTag(again.headers.etag, etag)).toBe(true);

          // Compression as the client asks, always the same bytes underneath; no Accept-Encoding
          // means any coding will do (RFC 9110), so that answer is decoded by what it says it is.
          for (const coding of ["gzip", "br"] as const) {
            const encoded = await rawRequest(server.origin, path, { headers: { "accept-encoding": coding } });
            expect(encoded.status).toBe(200);
            expect(encoded.headers["content-encoding"]).toBe(coding);
            expect(sameDocument(encoded.headers.etag, etag)).toBe(true);
            expect(decoded(encoded).equals(res.body)).toBe(true);
          }
          const plain = await rawRequest(server.origin, path);
          expect(decoded(plain).equals(res.body)).toBe(true);

          // The Host header never shapes the body.
          const foreign = await rawRequest(server.origin, path, { headers: { ...IDENTITY.headers, host: "evil.example", "x-forwarded-host": "forwarded.example" } });
          expect(foreign.body.equals(res.body)).toBe(true);

          const head = await rawRequest(server.origin, path, { method: "HEAD", ...IDENTITY });
          expect(head.status).toBe(200);
          expect(sameTag(head.headers.etag, etag)).toBe(true);
          expect(head.body.byteLength).toBe(0);
        }
      }
      const limited = await rawRequest(server.origin, `/${SLUG}/rss.xml?limit=5`, IDENTITY);
      expect(normalise(limited.body.toString("utf8"))).toBe(normalise((await rawRequest(reference.origin, `/${SLUG}/rss.xml?limit=5`, IDENTITY)).body.toString("utf8")));
      expect(feedSummary("rss.xml", limited.body.toString("utf8")).self).toBe(`${SETTINGS.baseUrl}/${SLUG}/rss.xml?limit=5`);
    });

    it("4. answers 304 to If-None-Match, with the ETag and no body", async () => {
      expect(etags.size).toBe(6);
      for (const [path, etag] of etags) {
        for (const coding of ["identity", "gzip", "br"]) {
          const res = await rawRequest(server.origin, path, { headers: { "if-none-match": etag, "accept-encoding": coding } });
          expect(res.status).toBe(304);
          expect(sameDocument(res.headers.etag, etag)).toBe(true);
          expect(res.body.byteLength).toBe(0);
        }
        const other = await rawRequest(server.origin, path, { headers: { "if-none-match": '"not-this-one"', ...IDENTITY.headers } });
        expect(other.status).toBe(200);
      }
    });

    it("5. deletes the article: 204, then 404, and every feed is empty with a new ETag", async () => {
      const site = sites.get(server)!;
      const id = String(seedArticle().id);
      const headers = await webhookHeaders(site.secret, "");
      const deleted = await fetch(`${server.origin}/v1/sites/${SLUG}/articles/${id}`, { method: "DELETE", headers });
      expect(deleted.status, await deleted.text()).toBe(204);

      const gone = await fetch(`${server.origin}/v1/sites/${SLUG}/articles/${id}`, { headers: { authorization: `Bearer ${site.apiKey}` } });
      expect(gone.status).toBe(404);
      expect(gone.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await gone.json()).toMatchObject({ status: 404 });

      for (const [path, etag] of etags) {
        const res = await rawRequest(server.origin, path, { headers: { "if-none-match": etag, ...IDENTITY.headers } });
        expect(res.status).toBe(200);
        expect(sameTag(res.headers.etag, etag)).toBe(false);
        const file = path.slice(path.lastIndexOf("/") + 1) as FeedFile;
        const text = res.body.toString("utf8");
        checkSyntax(file, text);
        expect(feedSummary(file, text).ids).toEqual([]);
      }
      const again = await fetch(`${server.origin}/v1/sites/${SLUG}/articles/${id}`, { method: "DELETE", headers: await webhookHeaders(site.secret, "") });
      expect(again.status).toBe(404);
    });
  });
}
