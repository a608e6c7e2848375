// The Cloudflare caches (KV, the Cache API, and the two layered as the Worker uses them) run the
// feed-cache contract against real workerd storage through Miniflare, from Node.

import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdgeFeedCache, type ResponseCache } from "../../../src/store/cache/edge.ts";
import { createKvFeedCache, kvKey } from "../../../src/store/cache/kv.ts";
import type { CachedBody, FeedCache } from "../../../src/store/cache/port.ts";
import { createTieredFeedCache } from "../../../src/store/cache/tiered.ts";
import { appKey, body, feedCacheContract, recordingBackground } from "./contract.ts";

// Nothing phones home.
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

let mf: Miniflare;
let kv: Awaited<ReturnType<Miniflare["getKVNamespace"]>>;
let edge: ResponseCache;
let run = 0;
/** Each test gets its own key space in the one namespace and cache. */
const fresh = () => `t${++run}-${Date.now()}`;

beforeAll(async () => {
  mf = new Miniflare(
    convertV4MiniflareOptions({ modules: true, script: "export default {}", kvNamespaces: ["FEEDS"], cf: false, compatibilityDate: "2025-09-01" }),
  );
  kv = await mf.getKVNamespace("FEEDS");
  // Miniflare's Cache has the Workers signature; its calls are the ones ResponseCache names.
  edge = (await mf.getCaches()).default as unknown as ResponseCache;
});
afterAll(async () => {
  await mf?.dispose();
});

const noCleanup = async () => undefined;

feedCacheContract("Cloudflare KV", async () => ({ cache: createKvFeedCache(kv, { prefix: `${fresh()}:` }), cleanup: noCleanup }));
feedCacheContract("Cache API", async () => ({ cache: createEdgeFeedCache(edge, { origin: `https://${fresh()}.cache.internal` }), cleanup: noCleanup }));
feedCacheContract("Cache API over KV", async () => {
  const space = fresh();
  return {
    cache: createTieredFeedCache([createEdgeFeedCache(edge, { origin: `https://${space}.cache.internal` }), createKvFeedCache(kv, { prefix: `${space}:` })]),
    cleanup: noCleanup,
  };
});

describe("KV feed cache", () => {
  it("writes every entry with an expirationTtl, under a short key", async () => {
    const prefix = `${fresh()}:`;
    const cache = createKvFeedCache(kv, { prefix, expirationTtl: 3_600 });
    const longKey = appKey(`/nisan/tags/${encodeURIComponent("ئ".repeat(200))}/atom.xml`, 3);
    const before = Math.floor(Date.now() / 1000);
    await cache.put(longKey, body("x"));
    const listed = await kv.list({ prefix });
    expect(listed.keys).toHaveLength(1);
    const entry = listed.keys[0];
    expect(entry?.name).toBe(await kvKey(prefix, longKey));
    expect(new TextEncoder().encode(entry?.name).byteLength).toBeLessThanOrEqual(512);
    expect(entry?.expiration).toBeGreaterThanOrEqual(before + 3_600 - 5);
    expect(entry?.expiration).toBeLessThanOrEqual(before + 3_600 + 5);
    expect(entry?.metadata).toEqual({ empty: false });
  });

  it("defaults to a one-day TTL and refuses one KV would refuse", async () => {
    const prefix = `${fresh()}:`;
    const before = Math.floor(Date.now() / 1000);
    await createKvFeedCache(kv, { prefix }).put("k", body("x"));
    const [entry] = (await kv.list({ prefix })).keys;
    expect(entry?.expiration).toBeGreaterThanOrEqual(before + 86_400 - 5);
    expect(() => createKvFeedCache(kv, { expirationTtl: 59 })).toThrow(/at least 60/);
    expect(() => createKvFeedCache(kv, { expirationTtl: 90.5 })).toThrow(/integer/);
  });

  it("two caches with different prefixes share a namespace without seeing each other", async () => {
    const a = createKvFeedCache(kv, { prefix: `${fresh()}:` });
    const b = createKvFeedCache(kv, { prefix: `${fresh()}:` });
    await a.put("same", body("from a"));
    expect(await b.get("same")).toBeUndefined();
  });
});

describe("Cache API over KV", () => {
  function layered() {
    const space = fresh();
    const front = createEdgeFeedCache(edge, { origin: `https://${space}.cache.internal` });
    const back = createKvFeedCache(kv, { prefix: `${space}:` });
    return { front, back, both: createTieredFeedCache([front, back]) };
  }

  it("a put reaches both layers", async () => {
    const { front, back, both } = layered();
    await both.put("k", body("both"));
    expect(new TextDecoder().decode((await front.get("k"))?.body)).toBe("both");
    expect(new TextDecoder().decode((await back.get("k"))?.body)).toBe("both");
  });

  it("a KV hit is answered at once and copied into the Cache API through the background", async () => {
    const { front, back, both } = layered();
    await back.put("k", body("only in kv", true));
    const recorder = recordingBackground();
    const hit = await both.get("k", recorder.background);
    expect(new TextDecoder().decode(hit?.body)).toBe("only in kv");
    expect(hit?.empty).toBe(true);
    expect(recorder.count()).toBe(1);
    await recorder.settle();
    expect(await front.get("k")).toEqual({ body: expect.any(Uint8Array), empty: true });
    // A front hit hands nothing off.
    const again = recordingBackground();
    expect(new TextDecoder().decode((await both.get("k", again.background))?.body)).toBe("only in kv");
    expect(again.count()).toBe(0);
  });

  it("without a background the copy is awaited", async () => {
    const { front, back, both } = layered();
    await back.put("k", body("v"));
    await both.get("k");
    expect(new TextDecoder().decode((await front.get("k"))?.body)).toBe("v");
  });

  it("a layer that fails a read counts as a miss, and is reported", async () => {
    const { back } = layered();
    await back.put("k", body("from kv"));
    const broken: FeedCache = {
      get: async () => {
        throw new Error("cache down");
      },
      put: async (_key: string, _value: CachedBody) => {
        throw new Error("cache down");
      },
    };
    const errors: string[] = [];
    const both = createTieredFeedCache([broken, back], { onError: (error, during) => errors.push(`${during}: ${String(error)}`) });
    expect(new TextDecoder().decode((await both.get("k"))?.body)).toBe("from kv");
    expect(errors).toEqual(["read: Error: cache down", "copy: Error: cache down"]);
    await expect(both.put("k", body("x"))).rejects.toThrow(/cache down/);
  });
});
