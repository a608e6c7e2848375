// Each content coding of a feed is its own representation with its own strong ETag (RFC 9110 §8.8.3).

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, seedArticle, type Harness } from "./harness.ts";

describe("ETags per content coding", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
    const { api_key } = await h.createSite();
    expect((await h.publish("nisan", api_key, seedArticle())).status).toBe(201);
  });
  afterEach(async () => {
    await h.close();
  });

  for (const path of ["/nisan/rss.xml", "/nisan/atom.xml", "/nisan/feed.json", "/nisan/"]) {
    it(`${path}: identity, gzip and br carry different tags, and any of them revalidates`, async () => {
      const get = (encoding?: string, etag?: string) =>
        h.request(path, { headers: { ...(encoding ? { "accept-encoding": encoding } : {}), ...(etag ? { "if-none-match": etag } : {}) } });
      const identity = await get();
      const gzip = await get("gzip");
      const br = await get("br");
      expect(gzip.headers.get("content-encoding")).toBe("gzip");
      expect(br.headers.get("content-encoding")).toBe("br");
      const tags = [identity, gzip, br].map((r) => r.headers.get("etag")!);
      expect(new Set(tags).size).toBe(3);
      for (const tag of tags) expect(tag).toMatch(/^"[^"]+"$/);
      // A cache holding the gzip copy revalidates it; the 304 names the coding it would send now.
      const revalidated = await get("gzip", tags[1]);
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.get("etag")).toBe(tags[1]);
      const crossCoding = await get(undefined, tags[1]);
      expect(crossCoding.status).toBe(304);
      expect(crossCoding.headers.get("etag")).toBe(tags[0]);
      // Repeated GETs (hot path) keep the same per-coding tags.
      expect((await get("gzip")).headers.get("etag")).toBe(tags[1]);
      expect((await get()).headers.get("etag")).toBe(tags[0]);
    });
  }
});
