// The Node request listener (src/platform/node.ts): GETs of hot feed documents are answered in
// front of the router, and every such answer is byte for byte and header for header the one the
// routes give; nothing it answers outlives a write or a month.

import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { composeApp, createApp } from "../../src/http/app.ts";
import { createMemoryFeedCache } from "../../src/store/cache/memory.ts";
import { nodeListener } from "../../src/platform/node.ts";
import { withTurnVersionReads } from "../../src/store/turn-reads.ts";
import { createHarness, seedArticle, type Harness } from "../http/harness.ts";

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A GET or HEAD over a real socket; the body as sent (no decoding). */
function get(server: Server, path: string, headers: Record<string, string | string[]> = {}, method = "GET"): Promise<Raw> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const out: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          // Per connection or per moment, not per answer.
          if (["date", "connection", "keep-alive"].includes(name) || value === undefined) continue;
          out[name] = Array.isArray(value) ? value.join(", ") : value;
        }
        resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
}

describe.each([
  ["version read per request", false],
  ["version reads shared per turn, answered without waiting when read", true],
] as const)("Node listener: hot feeds in front of the router (%s)", (_name, turnShared) => {
  let h: Harness;
  let fast: Server;
  let routedOnly: Server;
  let routedCalls = 0;
  let apiKey = "";

  beforeEach(async () => {
    h = await createHarness();
    const creds = await h.createSite();
    apiKey = creds.api_key;
    expect((await h.publish("nisan", creds.api_key, seedArticle())).status).toBe(201);
    const turnStore = withTurnVersionReads(h.store, setImmediate);
    const { app, hotFeeds } = composeApp(turnShared ? { ...h.deps, store: turnStore, siteVersionNow: (slug) => turnStore.versionNow(slug) } : h.deps);
    routedCalls = 0;
    fast = createServer(
      nodeListener(
        (request, env) => {
          routedCalls++;
          return app.fetch(request, env);
        },
        hotFeeds,
        h.deps.clock,
      ),
    );
    // The reference: the same store, its own caches, every request through the routes.
    const reference = createApp({ ...h.deps, feedCache: createMemoryFeedCache({ maxBytes: 8 << 20, maxEntries: 100 }) });
    routedOnly = createServer(nodeListener(reference.fetch, undefined, h.deps.clock));
    await Promise.all([listen(fast), listen(routedOnly)]);
  });

  afterEach(async () => {
    await Promise.all([fast, routedOnly].map((s) => new Promise((resolve) => s.close(resolve))));
    await h.close();
  });

  const paths = ["/nisan/rss.xml", "/nisan/atom.xml?limit=3", "/nisan/feed.json", `/nisan/categories/${encodeURIComponent("سياسة")}/rss.xml`];

  it("answers repeated GETs without the router, exactly as the routes do", async () => {
    for (const path of paths) {
      const first = await get(fast, path);
      expect(first.status).toBe(200);
      const etag = first.headers.etag ?? "";
      const variants: Record<string, string | string[]>[] = [
        {},
        { "accept-encoding": "gzip" },
        { "accept-encoding": "br" },
        { "if-none-match": etag },
        { "if-none-match": `W/${etag}` },
        { "accept-encoding": "gzip", "if-none-match": etag },
        { "if-modified-since": first.headers["last-modified"] ?? "" },
        { "if-none-match": '"other"' },
        // Repeated headers: joined, as the routes see them.
        { "if-none-match": [etag, '"other"'] },
        { "accept-encoding": ["identity;q=0", "gzip"], "If-Modified-Since": first.headers["last-modified"] ?? "" },
      ];
      for (const headers of variants) {
        await get(fast, path, headers); // the routes once (a new coding is compressed and cached there)
        const before = routedCalls;
        const hot = await get(fast, path, headers);
        expect(routedCalls, `${path} ${JSON.stringify(headers)} went through the router`).toBe(before);
        const reference = await get(routedOnly, path, headers);
        expect(hot.status).toBe(reference.status);
        expect(hot.headers).toEqual(reference.headers);
        expect(hot.body.equals(reference.body)).toBe(true);
      }
    }
  });

  it("a publish is seen by the next GET: new bytes, and the old ETag is no longer a 304", async () => {
    const path = "/nisan/rss.xml";
    const old = await get(fast, path);
    await get(fast, path);
    const edited = { ...seedArticle(), title: "عنوان بعد التعديل" };
    // Published through the harness app (the same store): a write made outside the fast server.
    const published = await h.publish("nisan", apiKey, edited);
    expect([200, 201]).toContain(published.status);
    const now = await get(fast, path, { "if-none-match": old.headers.etag ?? "" });
    expect(now.status).toBe(200);
    expect(now.body.toString("utf8")).toContain("عنوان بعد التعديل");
    const reference = await get(routedOnly, path);
    expect(now.body.equals(reference.body)).toBe(true);
  });

  it("a burst of concurrent GETs (many in one turn) gets the routes' bytes, without the router", async () => {
    const path = "/nisan/feed.json";
    await get(fast, path);
    const reference = await get(routedOnly, path);
    const before = routedCalls;
    const burst = await Promise.all(Array.from({ length: 24 }, () => get(fast, path)));
    expect(routedCalls).toBe(before);
    for (const answer of burst) {
      expect(answer.status).toBe(200);
      expect(answer.headers).toEqual(reference.headers);
      expect(answer.body.equals(reference.body)).toBe(true);
    }
  });

  it("a new month, HEAD, and unknown targets go through the router", async () => {
    const path = "/nisan/atom.xml";
    const first = await get(fast, path);
    await get(fast, path);
    let before = routedCalls;
    const head = await get(fast, path, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(routedCalls).toBe(before + 1);
    before = routedCalls;
    expect((await get(fast, "/nowhere/rss.xml")).status).toBe(404);
    expect(routedCalls).toBe(before + 1);
    h.advance(40 * 86_400_000);
    before = routedCalls;
    const next = await get(fast, path, { "if-none-match": first.headers.etag ?? "" });
    expect(routedCalls).toBe(before + 1);
    expect(next.status).toBe(200);
    expect(next.headers.etag).not.toBe(first.headers.etag);
  });
});
