// Admin side of the contract: PUT/GET/DELETE /v1/sites/{site} and rotate-secrets, over the real app
// and a real SQLite file.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, START, createHarness, seedArticle, seedSite, type Harness } from "./harness.ts";
import {
  type Json,
  expectInvalid,
  expectProblem,
  jsonOf,
  newArticle,
  recordStatuses,
  sendSigned,
  withKey,
  without,
} from "./api-helpers.ts";

const SECRET = /^whsec_([A-Za-z0-9+/]{43}=)$/;

/** The seed site's settings, fresh each call. */
function siteSettings(overrides: Json = {}): Json {
  return { ...seedSite(), ...overrides };
}

/** The seed site as the API answers it, created at `created` and last changed at `updated`. */
function expectedSite(created: number, updated = created, overrides: Json = {}): Json {
  return {
    slug: "nisan",
    title: "نيسان",
    description: "آخر الأخبار المحلية والدولية",
    home_page_url: "https://nisan.example/ar/",
    language: "ar",
    timezone: "Asia/Amman",
    ttl_minutes: 15,
    tombstone_days: 30,
    websub_hubs: [],
    created_at: new Date(created).toISOString().replace(".000Z", "Z"),
    updated_at: new Date(updated).toISOString().replace(".000Z", "Z"),
    ...overrides,
  };
}

function expectNoSecrets(body: Json): void {
  expect(body).not.toHaveProperty("api_key");
  expect(body).not.toHaveProperty("webhook_secret");
  expect(body).not.toHaveProperty("credentials");
  expect(JSON.stringify(body)).not.toMatch(/whsec_|nsr_/);
}

let h: Harness;
let recorder: ReturnType<typeof recordStatuses>;

beforeEach(async () => {
  h = await createHarness();
  recorder = recordStatuses(h);
});
afterEach(async () => {
  expect(recorder.serverErrors()).toEqual([]);
  await h.close();
});

describe("admin token", () => {
  const routes: [string, string, boolean][] = [
    ["PUT", "/v1/sites/nisan", true],
    ["GET", "/v1/sites/nisan", false],
    ["DELETE", "/v1/sites/nisan", false],
    ["POST", "/v1/sites/nisan/rotate-secrets", false],
  ];

  it.each(routes)("%s %s without a token is 401 problem+json", async (method, path, hasBody) => {
    await h.createSite();
    const init: RequestInit = { method };
    if (hasBody) init.headers = { "content-type": "application/json" };
    if (hasBody) init.body = JSON.stringify(siteSettings({ title: "Hijacked" }));
    const res = await h.request(path, init);
    const problem = await expectProblem(res, 401);
    expect(problem.title).not.toBe("");
    // Nothing changed.
    const after = await jsonOf(await h.admin("GET", "/v1/sites/nisan"));
    expect(after.title).toBe("نيسان");
  });

  it.each(routes)("%s %s with a wrong token is 401 problem+json", async (method, path, hasBody) => {
    await h.createSite();
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}x` };
    if (hasBody) headers["content-type"] = "application/json";
    const init: RequestInit = { method, headers };
    if (hasBody) init.body = JSON.stringify(siteSettings({ title: "Hijacked" }));
    await expectProblem(await h.request(path, init), 401);
    const after = await h.admin("GET", "/v1/sites/nisan");
    expect(after.status).toBe(200);
    expect((await jsonOf(after)).title).toBe("نيسان");
  });

  it("refuses a site's API key, a prefix of the token and other schemes", async () => {
    const creds = await h.createSite();
    for (const authorization of [
      `Bearer ${creds.api_key}`,
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
      `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`,
      ADMIN_TOKEN,
      "Bearer",
    ]) {
      await expectProblem(await h.request("/v1/sites/nisan", { headers: { authorization } }), 401);
    }
  });

  it("refuses to create a site without the token: nothing is written", async () => {
    const res = await h.request("/v1/sites/other", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(siteSettings({ slug: "other" })),
    });
    await expectProblem(res, 401);
    await expectProblem(await h.admin("GET", "/v1/sites/other"), 404);
  });
});

describe("PUT /v1/sites/{site}: create and update", () => {
  it("creates with 201: the site, an api_key and a whsec_ secret of 32 random bytes", async () => {
    const res = await h.admin("PUT", "/v1/sites/nisan", siteSettings());
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body).toMatchObject({ ...expectedSite(START), api_key: expect.any(String), webhook_secret: expect.any(String) });
    const key = body.api_key as string;
    expect(key.length).toBeGreaterThanOrEqual(32);
    const secret = body.webhook_secret as string;
    const match = SECRET.exec(secret);
    expect(match, secret).not.toBeNull();
    expect(Buffer.from(match![1]!, "base64").length).toBe(32);
  });

  it("gives every site its own key and secret", async () => {
    const a = await h.createSite("nisan");
    const b = await h.createSite("ayyar", siteSettings({ slug: "ayyar" }));
    expect(a.api_key).not.toBe(b.api_key);
    expect(a.webhook_secret).not.toBe(b.webhook_secret);
  });

  it("the returned credentials work: api_key and webhook_secret both publish", async () => {
    const creds = await h.createSite();
    expect((await h.publish("nisan", creds.api_key, newArticle())).status).toBe(201);
    const signed = await sendSigned(h, "/v1/sites/nisan/articles", {
      secret: creds.webhook_secret,
      body: JSON.stringify(newArticle({ id: "a-2" })),
    });
    expect(signed.status).toBe(201);
  });

  it("a second PUT updates with 200 and no secrets; created_at never changes", async () => {
    const creds = await h.createSite();
    h.advance(3_600_000);
    const res = await h.admin("PUT", "/v1/sites/nisan", siteSettings({ title: "Nisan News", ttl_minutes: 30 }));
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expectNoSecrets(body);
    expect(body).toMatchObject(expectedSite(START, START + 3_600_000, { title: "Nisan News", ttl_minutes: 30 }));

    // The credentials issued at creation are not changed by an update.
    expect((await h.publish("nisan", creds.api_key, newArticle())).status).toBe(201);

    h.advance(60_000);
    const again = await jsonOf(await h.admin("PUT", "/v1/sites/nisan", siteSettings()));
    expect(again.created_at).toBe("2026-11-27T12:00:00Z");
    expect(again.updated_at).toBe("2026-11-27T13:01:00Z");
    expect(again.title).toBe("نيسان");
    expect(again.ttl_minutes).toBe(15);
  });

  it("an update drops optional fields that are no longer sent", async () => {
    await h.createSite();
    const res = await h.admin("PUT", "/v1/sites/nisan", without(siteSettings(), "description"));
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).not.toHaveProperty("description");
    expect(await jsonOf(await h.admin("GET", "/v1/sites/nisan"))).not.toHaveProperty("description");
  });

  it("ttl_minutes defaults to 15 and keeps a sent value", async () => {
    const created = await jsonOf(await h.admin("PUT", "/v1/sites/nisan", without(siteSettings(), "ttl_minutes")));
    expect(created.ttl_minutes).toBe(15);
    const other = await jsonOf(await h.admin("PUT", "/v1/sites/ayyar", siteSettings({ slug: "ayyar", ttl_minutes: 60 })));
    expect(other.ttl_minutes).toBe(60);
    expect((await jsonOf(await h.admin("GET", "/v1/sites/ayyar"))).ttl_minutes).toBe(60);
  });

  it("accepts every optional field", async () => {
    const res = await h.admin(
      "PUT",
      "/v1/sites/nisan",
      siteSettings({
        icon: "https://nisan.example/icon.png",
        copyright: "© Nisan",
        ttl_minutes: 5,
        websub_hubs: ["https://pubsubhubbub.appspot.com/"],
      }),
    );
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body).toMatchObject({
      icon: "https://nisan.example/icon.png",
      copyright: "© Nisan",
      ttl_minutes: 5,
      websub_hubs: ["https://pubsubhubbub.appspot.com/"],
    });
  });

  it("the slug may be omitted from the body", async () => {
    const res = await h.admin("PUT", "/v1/sites/nisan", without(siteSettings(), "slug"));
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).slug).toBe("nisan");
  });

  it("keys that begin with _ are ignored", async () => {
    const res = await h.admin("PUT", "/v1/sites/nisan", siteSettings({ _extra: "x", _cms: { id: 7 } }));
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body).not.toHaveProperty("_extra");
    expect(body).not.toHaveProperty("_cms");
    const stored = await jsonOf(await h.admin("GET", "/v1/sites/nisan"));
    expect(stored).toMatchObject(expectedSite(START));
    expect(Object.keys(stored).filter((k) => k.startsWith("_"))).toEqual([]);
  });

  it("415 for a body that is not declared application/json", async () => {
    const res = await h.request("/v1/sites/nisan", {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/plain" },
      body: JSON.stringify(siteSettings()),
    });
    await expectProblem(res, 415);
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
  });

  it("400 for a body that is not JSON", async () => {
    const res = await h.request("/v1/sites/nisan", {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: '{"title": "x",',
    });
    await expectProblem(res, 400);
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
  });
});

describe("slug rules", () => {
  it.each([
    ["uppercase", "Nisan"],
    ["leading hyphen", "-nisan"],
    ["underscore", "ni_san"],
    ["dot", "ni.san"],
    ["non-ASCII", "%C3%A9t%C3%A9"],
    ["space", "ni%20san"],
    ["64 characters", "a".repeat(64)],
    ["reserved v1", "v1"],
    ["reserved healthz", "healthz"],
    ["reserved static", "static"],
  ])("%s (%s) is 422 naming /slug", async (_name, slug) => {
    const res = await h.admin("PUT", `/v1/sites/${slug}`, without(siteSettings(), "slug"));
    await expectInvalid(res, "/slug");
  });

  it("63 characters, digits and inner hyphens are fine", async () => {
    for (const slug of ["a".repeat(63), "0", "9-news", "news-24-7"]) {
      const res = await h.admin("PUT", `/v1/sites/${slug}`, siteSettings({ slug }));
      expect(res.status, slug).toBe(201);
      expect((await jsonOf(res)).slug).toBe(slug);
    }
  });

  it("a body slug that differs from the path is 422 naming /slug, and nothing is created", async () => {
    const res = await h.admin("PUT", "/v1/sites/nisan", siteSettings({ slug: "ayyar" }));
    await expectInvalid(res, "/slug");
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
    await expectProblem(await h.admin("GET", "/v1/sites/ayyar"), 404);
  });
});

describe("site field validation", () => {
  it.each(["title", "home_page_url", "language", "timezone"])("missing %s is 422 naming its pointer", async (key) => {
    await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", without(siteSettings(), key)), `/${key}`);
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
  });

  it("names every missing field at once", async () => {
    const problem = await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", {}), "/title");
    const fields = (problem.errors ?? []).map((e) => e.field).sort();
    expect(fields).toEqual(["/home_page_url", "/language", "/timezone", "/title"]);
  });

  it.each([
    ["title", 5, "/title"],
    ["title", "", "/title"],
    ["title", "<b></b>", "/title"],
    ["language", "a", "/language"],
    ["language", "en_US", "/language"],
    ["language", "", "/language"],
    ["language", "عربي", "/language"],
    ["timezone", "Mars/Olympus_Mons", "/timezone"],
    ["timezone", "Asia/Ammann", "/timezone"],
    ["timezone", "", "/timezone"],
    ["timezone", 3, "/timezone"],
    ["home_page_url", "ftp://nisan.example/", "/home_page_url"],
    ["home_page_url", "nisan.example", "/home_page_url"],
    ["home_page_url", "/ar/", "/home_page_url"],
    ["home_page_url", "javascript:alert(1)", "/home_page_url"],
    ["home_page_url", "mailto:news@nisan.example", "/home_page_url"],
    ["home_page_url", "https://user:pw@nisan.example/", "/home_page_url"],
    ["home_page_url", "https://nisan.example/a b", "/home_page_url"],
    ["icon", "data:image/png;base64,AAAA", "/icon"],
    ["ttl_minutes", "15", "/ttl_minutes"],
    ["ttl_minutes", 1.5, "/ttl_minutes"],
    ["websub_hubs", "https://hub.example/", "/websub_hubs"],
    ["websub_hubs", ["ftp://hub.example/"], "/websub_hubs/0"],
  ])("%s = %j is 422 naming %s", async (key, value, pointer) => {
    await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", siteSettings({ [key]: value })), pointer);
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
  });

  it("an unknown field is 422 naming it", async () => {
    await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", siteSettings({ colour: "red" })), "/colour");
    await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", siteSettings({ api_key: "mine" })), "/api_key");
    await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", siteSettings({ created_at: "2020-01-01T00:00:00Z" })), "/created_at");
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
  });

  it("a body that is not an object is 422", async () => {
    for (const body of [[], "nisan", 42]) {
      await expectProblem(await h.admin("PUT", "/v1/sites/nisan", body), 422);
    }
  });

  it("language and time zone are answered in canonical form", async () => {
    const res = await h.admin("PUT", "/v1/sites/nisan", siteSettings({ language: "AR-jo", timezone: "asia/amman" }));
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.language).toBe("ar-JO");
    expect(body.timezone).toBe("Asia/Amman");
  });

  it("a refused update leaves the site unchanged", async () => {
    await h.createSite();
    h.advance(1_000);
    await expectInvalid(await h.admin("PUT", "/v1/sites/nisan", siteSettings({ title: "New", timezone: "Nowhere/Land" })), "/timezone");
    expect(await jsonOf(await h.admin("GET", "/v1/sites/nisan"))).toMatchObject(expectedSite(START));
  });
});

describe("GET /v1/sites/{site}", () => {
  it("answers 200 with the site and never the secrets", async () => {
    await h.createSite();
    const res = await h.admin("GET", "/v1/sites/nisan");
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expectNoSecrets(body);
    expect(body).toMatchObject(expectedSite(START));
  });

  it("never shows secrets after a rotation either", async () => {
    await h.createSite();
    expect((await h.admin("POST", "/v1/sites/nisan/rotate-secrets")).status).toBe(200);
    const body = await jsonOf(await h.admin("GET", "/v1/sites/nisan"));
    expectNoSecrets(body);
    expect(body).toMatchObject(expectedSite(START));
  });

  it("an unknown site is 404", async () => {
    await h.createSite();
    await expectProblem(await h.admin("GET", "/v1/sites/ayyar"), 404);
    await expectProblem(await h.admin("GET", "/v1/sites/Not_A_Slug"), 404);
  });
});

describe("DELETE /v1/sites/{site}", () => {
  it("answers 204 with no body; the site is then 404", async () => {
    await h.createSite();
    const res = await h.admin("DELETE", "/v1/sites/nisan");
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await expectProblem(await h.admin("GET", "/v1/sites/nisan"), 404);
    await expectProblem(await h.request("/nisan/feed.json"), 404);
  });

  it("an unknown site is 404", async () => {
    await expectProblem(await h.admin("DELETE", "/v1/sites/nisan"), 404);
    await h.createSite();
    expect((await h.admin("DELETE", "/v1/sites/nisan")).status).toBe(204);
    await expectProblem(await h.admin("DELETE", "/v1/sites/nisan"), 404);
  });

  it("removes every article: after re-creating the site its feed is empty and the article 404", async () => {
    const old = await h.createSite();
    expect((await h.publish("nisan", old.api_key, seedArticle())).status).toBe(201);
    expect((await h.publish("nisan", old.api_key, newArticle())).status).toBe(201);
    const before = (await (await h.request("/nisan/feed.json")).json()) as Json;
    expect((before.items as unknown[]).length).toBe(2);

    expect((await h.admin("DELETE", "/v1/sites/nisan")).status).toBe(204);
    h.advance(1_000);
    const fresh = await h.createSite();
    expect(fresh.api_key).not.toBe(old.api_key);

    const feed = await h.request("/nisan/feed.json");
    expect(feed.status).toBe(200);
    expect((await feed.json() as Json).items).toEqual([]);
    await expectProblem(await withKey(h, "GET", "/v1/sites/nisan/articles/2024-06-19-russia-dprk-treaty", fresh.api_key), 404);
    await expectProblem(await withKey(h, "GET", "/v1/sites/nisan/articles/a-1", fresh.api_key), 404);
    const list = await jsonOf(await withKey(h, "GET", "/v1/sites/nisan/articles", fresh.api_key));
    expect(list.items).toEqual([]);
    expect(list).not.toHaveProperty("next");
    // Publishing the same id again is a create.
    expect((await h.publish("nisan", fresh.api_key, seedArticle())).status).toBe(201);
  });

  it("a re-created site never serves the deleted site's feed bytes or validators", async () => {
    const old = await h.createSite();
    const firstEmpty = await h.request("/nisan/feed.json");
    expect(firstEmpty.status).toBe(200);
    expect((await h.publish("nisan", old.api_key, newArticle({ id: "old-story", title: "Old story" }))).status).toBe(201);
    const oldFeed = await h.request("/nisan/feed.json");
    const oldEtag = oldFeed.headers.get("etag");
    expect(await oldFeed.text()).toContain("Old story");

    expect((await h.admin("DELETE", "/v1/sites/nisan")).status).toBe(204);
    const fresh = await h.createSite();
    expect((await h.publish("nisan", fresh.api_key, newArticle({ id: "new-story", title: "New story" }))).status).toBe(201);

    const feed = await h.request("/nisan/feed.json");
    expect(feed.status).toBe(200);
    const text = await feed.text();
    expect(text).toContain("New story");
    expect(text).not.toContain("Old story");
    expect(feed.headers.get("etag")).not.toBe(oldEtag);
    const conditional = await h.request("/nisan/feed.json", { headers: { "if-none-match": oldEtag ?? "" } });
    expect(conditional.status).toBe(200);
  });

  it("the deleted site's credentials do not open the re-created site", async () => {
    const old = await h.createSite();
    expect((await h.admin("DELETE", "/v1/sites/nisan")).status).toBe(204);
    await h.createSite();
    await expectProblem(await h.publish("nisan", old.api_key, newArticle()), 401);
    const signed = await sendSigned(h, "/v1/sites/nisan/articles", { secret: old.webhook_secret, body: JSON.stringify(newArticle()) });
    await expectProblem(signed, 401);
  });

  it("deleting one site leaves the others alone", async () => {
    const a = await h.createSite("nisan");
    const b = await h.createSite("ayyar", siteSettings({ slug: "ayyar" }));
    expect((await h.publish("nisan", a.api_key, newArticle())).status).toBe(201);
    expect((await h.publish("ayyar", b.api_key, newArticle())).status).toBe(201);
    expect((await h.admin("DELETE", "/v1/sites/nisan")).status).toBe(204);
    const res = await withKey(h, "GET", "/v1/sites/ayyar/articles/a-1", b.api_key);
    expect(res.status).toBe(200);
    expect((await h.admin("GET", "/v1/sites/ayyar")).status).toBe(200);
  });
});

describe("POST /v1/sites/{site}/rotate-secrets", () => {
  const GRACE_MS = 86_400_000;

  async function publishWithKey(apiKey: string, id: string): Promise<Response> {
    return h.publish("nisan", apiKey, newArticle({ id }));
  }
  async function publishSigned(secret: string, id: string): Promise<Response> {
    return sendSigned(h, "/v1/sites/nisan/articles", { secret, body: JSON.stringify(newArticle({ id })) });
  }

  it("answers 200 with a new api_key and webhook_secret", async () => {
    const old = await h.createSite();
    const res = await h.admin("POST", "/v1/sites/nisan/rotate-secrets");
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(typeof body.api_key).toBe("string");
    expect(body.api_key).not.toBe(old.api_key);
    const secret = body.webhook_secret as string;
    expect(secret).not.toBe(old.webhook_secret);
    const match = SECRET.exec(secret);
    expect(match, secret).not.toBeNull();
    expect(Buffer.from(match![1]!, "base64").length).toBe(32);
  });

  it("new credentials work at once; old ones through the grace period, then 401", async () => {
    const old = await h.createSite();
    const rotated = await jsonOf(await h.admin("POST", "/v1/sites/nisan/rotate-secrets"));
    const key = rotated.api_key as string;
    const secret = rotated.webhook_secret as string;

    expect((await publishWithKey(key, "new-key")).status).toBe(201);
    expect((await publishSigned(secret, "new-secret")).status).toBe(201);
    expect((await publishWithKey(old.api_key, "old-key")).status).toBe(201);
    expect((await publishSigned(old.webhook_secret, "old-secret")).status).toBe(201);

    h.advance(GRACE_MS - 1_000);
    expect((await publishWithKey(old.api_key, "old-key-late")).status).toBe(201);
    expect((await publishSigned(old.webhook_secret, "old-secret-late")).status).toBe(201);

    h.advance(2_000);
    await expectProblem(await publishWithKey(old.api_key, "old-key-expired"), 401);
    await expectProblem(await publishSigned(old.webhook_secret, "old-secret-expired"), 401);
    await expectProblem(await withKey(h, "GET", "/v1/sites/nisan/articles", old.api_key), 401);
    expect((await publishWithKey(key, "new-key-later")).status).toBe(201);
    expect((await publishSigned(secret, "new-secret-later")).status).toBe(201);

    // Refused requests wrote nothing.
    await expectProblem(await withKey(h, "GET", "/v1/sites/nisan/articles/old-key-expired", key), 404);
    await expectProblem(await withKey(h, "GET", "/v1/sites/nisan/articles/old-secret-expired", key), 404);
  });

  it("keeps created_at and the site settings", async () => {
    await h.createSite();
    h.advance(60_000);
    expect((await h.admin("POST", "/v1/sites/nisan/rotate-secrets")).status).toBe(200);
    const site = await jsonOf(await h.admin("GET", "/v1/sites/nisan"));
    expect(site.created_at).toBe("2026-11-27T12:00:00Z");
    expect(site.title).toBe("نيسان");
  });

  it("an unknown site is 404; no token is 401", async () => {
    await expectProblem(await h.admin("POST", "/v1/sites/nisan/rotate-secrets"), 404);
    await h.createSite();
    await expectProblem(await h.request("/v1/sites/nisan/rotate-secrets", { method: "POST" }), 401);
  });
});
