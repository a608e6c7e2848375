import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, seedArticle, type Harness } from "./harness.ts";

describe("smoke", () => {
  let h: Harness;
  beforeEach(async () => { h = await createHarness(); });
  afterEach(async () => { await h.close(); });
  it("publishes and serves", async () => {
    const creds = await h.createSite();
    const res = await h.publish("nisan", creds.api_key, seedArticle());
    expect(res.status).toBe(201);
    const body = await res.json() as Record<string, unknown>;
    expect(body.published_at).toBe("2024-06-19T11:49:00Z");
    const signedRes = await h.signed("/v1/sites/nisan/articles", creds.webhook_secret, JSON.stringify(seedArticle()));
    expect(signedRes.status).toBe(200);
    const feed = await h.request("/nisan/feed.json");
    expect(feed.status).toBe(200);
  });
});
