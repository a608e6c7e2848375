import { describe, expect, it } from "vitest";
import { createMemoryFeedCache } from "../../../src/store/cache/memory.ts";
import { body, feedCacheContract } from "./contract.ts";

feedCacheContract("memory", async () => ({
  cache: createMemoryFeedCache({ maxBytes: 8 * 1024 * 1024, maxEntries: 1_000 }),
  cleanup: async () => undefined,
}));

describe("memory feed cache", () => {
  it("evicts the least recently used entries to stay within its byte and entry bounds", async () => {
    const cache = createMemoryFeedCache({ maxBytes: 10, maxEntries: 3 });
    await cache.put("a", body("aaaa"));
    await cache.put("b", body("bbbb"));
    expect(cache.stats()).toEqual({ entries: 2, bytes: 8 });
    await cache.get("a"); // a is now the most recent
    await cache.put("c", body("cccc")); // 12 bytes would not fit: b goes
    expect(await cache.get("b")).toBeUndefined();
    expect(await cache.get("a")).toBeDefined();
    expect(cache.stats()).toEqual({ entries: 2, bytes: 8 });
    await cache.put("d", body("d"));
    await cache.put("e", body("e"));
    expect(cache.stats().entries).toBe(3);
    expect(await cache.put("huge", body("x".repeat(11)))).toBeUndefined();
    expect(await cache.get("huge")).toBeUndefined();
  });
});
