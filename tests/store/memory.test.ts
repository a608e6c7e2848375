import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../src/store/memory.ts";
import { StoreUnavailableError } from "../../src/store/port.ts";
import { storeContract } from "./contract.ts";

storeContract("memory", async () => {
  const store = createMemoryStore();
  return { store, cleanup: () => store.close() };
});

describe("memory store", () => {
  it("is unavailable after close", async () => {
    const store = createMemoryStore();
    await store.ping();
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getSite("s")).rejects.toThrow(/closed/);
    await store.close();
  });

  it("keeps two stores apart", async () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    await a.createSite({
      site: {
        slug: "s",
        title: "S",
        home_page_url: "https://s.example/",
        language: "en",
        timezone: "UTC",
        ttl_minutes: 15,
    tombstone_days: 30,
        websub_hubs: [],
        created_at: "2024-01-01T00:00:00Z",
        updated_at: "2024-01-01T00:00:00Z",
      },
      version: 1,
      modified_at: "2024-01-01T00:00:00Z",
      credentials: [],
    });
    expect(await b.getSite("s")).toBeUndefined();
  });
});
