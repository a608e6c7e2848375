// The feed-cache contract: one suite every FeedCache runs (memory, KV, Cache API, layered).
// It speaks only through the port, so it holds for any engine. A cache may forget, but what it
// returns must be exactly what was put under exactly that key.

import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Background, CachedBody, FeedCache } from "../../../src/store/cache/port.ts";

export type FeedCacheFactory = () => Promise<{ cache: FeedCache; cleanup: () => Promise<void> }>;

const encoder = new TextEncoder();

/** A key as the app builds it: document URL, plan, version, coding. */
export function appKey(path: string, version: number | string, coding = "identity"): string {
  return `https://feeds.nisan.example${path}|month=2024-6#${version}#${coding}`;
}

export function body(text: string, empty = false): CachedBody {
  return { body: encoder.encode(text), empty };
}

function bytes(value: CachedBody | undefined): number[] | undefined {
  return value === undefined ? undefined : [...value.body];
}

/** A Background that records the work it is given and lets the caller go on at once. */
export function recordingBackground(): { background: Background; settle: () => Promise<void>; count: () => number } {
  const pending: Promise<unknown>[] = [];
  return {
    background: async (work) => {
      pending.push(work);
    },
    settle: async () => {
      await Promise.all(pending);
    },
    count: () => pending.length,
  };
}

export function feedCacheContract(name: string, factory: FeedCacheFactory): void {
  describe(`feed cache contract: ${name}`, () => {
    let cache: FeedCache;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ cache, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup();
    });

    it("misses a key never written", async () => {
      expect(await cache.get(appKey("/nisan/rss.xml", 1))).toBeUndefined();
    });

    it("returns exactly the bytes and the empty flag that were put", async () => {
      const rss = body('<?xml version="1.0" encoding="utf-8"?><rss>نيسان ـ قال الرئيس</rss>');
      await cache.put(appKey("/nisan/rss.xml", 1), rss);
      const hit = await cache.get(appKey("/nisan/rss.xml", 1));
      expect(hit?.empty).toBe(false);
      expect(bytes(hit)).toEqual([...rss.body]);

      await cache.put(appKey("/nisan/feed.json", 1), body('{"items":[]}', true));
      expect(await cache.get(appKey("/nisan/feed.json", 1))).toEqual({ body: expect.any(Uint8Array), empty: true });
      expect(new TextDecoder().decode((await cache.get(appKey("/nisan/feed.json", 1)))?.body)).toBe('{"items":[]}');
    });

    it("keeps binary bodies byte for byte: gzip, every byte value, zero bytes, a view into a larger buffer", async () => {
      const gz = new Uint8Array(gzipSync(Buffer.from("hello ".repeat(1000))));
      await cache.put(appKey("/nisan/rss.xml", 1, "gzip"), { body: gz, empty: false });
      expect(bytes(await cache.get(appKey("/nisan/rss.xml", 1, "gzip")))).toEqual([...gz]);

      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await cache.put(appKey("/nisan/atom.xml", 1), { body: all, empty: false });
      expect(bytes(await cache.get(appKey("/nisan/atom.xml", 1)))).toEqual([...all]);

      await cache.put(appKey("/nisan/feed.json", 1), { body: new Uint8Array(0), empty: true });
      const none = await cache.get(appKey("/nisan/feed.json", 1));
      expect(none?.body.byteLength).toBe(0);
      expect(none?.empty).toBe(true);

      const big = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
      const view = big.subarray(10, 20);
      await cache.put(appKey("/nisan/tags/x/rss.xml", 1), { body: view, empty: false });
      expect(bytes(await cache.get(appKey("/nisan/tags/x/rss.xml", 1)))).toEqual([...view]);
    });

    it("keeps a large body whole (1 MiB)", async () => {
      const large = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff);
      await cache.put(appKey("/nisan/rss.xml", 7, "identity"), { body: large, empty: false });
      const hit = await cache.get(appKey("/nisan/rss.xml", 7, "identity"));
      expect(hit?.body.byteLength).toBe(large.byteLength);
      expect(Buffer.from(hit?.body ?? new Uint8Array()).equals(Buffer.from(large))).toBe(true);
    });

    it("keeps keys apart by version, coding, format, query and name", async () => {
      const keys = [
        appKey("/nisan/rss.xml", 1),
        appKey("/nisan/rss.xml", 2),
        appKey("/nisan/rss.xml", 1, "gzip"),
        appKey("/nisan/rss.xml", 1, "br"),
        appKey("/nisan/atom.xml", 1),
        appKey("/nisan/rss.xml?limit=5", 1),
        appKey("/nisan/categories/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/rss.xml", 1),
        appKey("/nisan/categories/Tech/rss.xml", 1),
        appKey("/nisan/categories/tech/rss.xml", 1),
        appKey("/other/rss.xml", 1),
        appKey("/nisan/archive/2024/05/rss.xml", "a1f3"),
      ];
      for (const [i, key] of keys.entries()) await cache.put(key, body(`doc ${i}`));
      for (const [i, key] of keys.entries()) {
        expect(new TextDecoder().decode((await cache.get(key))?.body)).toBe(`doc ${i}`);
      }
    });

    it("takes any key: long (a 200-character name, percent-encoded), odd characters, unicode", async () => {
      const longName = encodeURIComponent("ئ".repeat(200));
      const keys = [
        appKey(`/nisan/tags/${longName}/atom.xml`, 3),
        appKey(`/nisan/tags/${longName}/atom.xml`, 4),
        "..",
        ".",
        "a b#c?d%e/f\\g",
        "سياسة",
        "x".repeat(4096),
      ];
      for (const [i, key] of keys.entries()) await cache.put(key, body(`value ${i}`));
      for (const [i, key] of keys.entries()) {
        expect(new TextDecoder().decode((await cache.get(key))?.body)).toBe(`value ${i}`);
      }
    });

    it("peek, where the cache has it, answers what get answers", async () => {
      if (cache.peek === undefined) return;
      const key = appKey("/nisan/rss.xml", 9);
      expect(cache.peek(key)).toBeUndefined();
      await cache.put(key, body("peeked"));
      expect(cache.peek(key)).toEqual(await cache.get(key));
      expect(new TextDecoder().decode(cache.peek(key)?.body)).toBe("peeked");
      expect(cache.peek(appKey("/nisan/rss.xml", 10))).toBeUndefined();
    });

    it("a second put under the same key replaces the value", async () => {
      const key = appKey("/nisan/feed.json", 5);
      await cache.put(key, body("first", true));
      await cache.put(key, body("second"));
      const hit = await cache.get(key);
      expect(new TextDecoder().decode(hit?.body)).toBe("second");
      expect(hit?.empty).toBe(false);
    });

    it("a get given a background still answers the value, and whatever it hands off settles", async () => {
      const key = appKey("/nisan/rss.xml", 9);
      await cache.put(key, body("bg"));
      const recorder = recordingBackground();
      expect(new TextDecoder().decode((await cache.get(key, recorder.background))?.body)).toBe("bg");
      expect(await cache.get(appKey("/nisan/rss.xml", 10), recorder.background)).toBeUndefined();
      await recorder.settle();
    });

    it("what get returns does not change when the caller writes to it", async () => {
      const key = appKey("/nisan/atom.xml", 11);
      await cache.put(key, body("abc"));
      const first = await cache.get(key);
      // Copies are fine and so is sharing; but a cache must not hand out a buffer it later reuses.
      const snapshot = bytes(first);
      await cache.put(appKey("/nisan/atom.xml", 12), body("zzz"));
      expect(bytes(first)).toEqual(snapshot);
    });
  });
}
