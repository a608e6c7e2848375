// Standard Webhooks signatures, replays by webhook-id, cross-site keys and the failed-auth limit,
// over the real app and a real SQLite file.

import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, createHarness, seedSite, type Harness, type HarnessOptions } from "./harness.ts";
import {
  type Json,
  adminAs,
  deferred,
  expectInvalid,
  expectProblem,
  jsonOf,
  listIds,
  newArticle,
  recordStatuses,
  sendSigned,
  storedArticle,
  withKey,
} from "./api-helpers.ts";
import type { Store } from "../../src/store/port.ts";

const ARTICLES = "/v1/sites/nisan/articles";

interface Setup {
  h: Harness;
  key: string;
  secret: string;
  recorder: ReturnType<typeof recordStatuses>;
}

let open: Setup[] = [];

async function setup(options: HarnessOptions = {}): Promise<Setup> {
  const h = await createHarness(options);
  const recorder = recordStatuses(h);
  const creds = await h.createSite();
  const s = { h, key: creds.api_key, secret: creds.webhook_secret, recorder };
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open) {
    expect(s.recorder.serverErrors()).toEqual([]);
    await s.h.close();
  }
  open = [];
});

const body = (overrides: Json = {}) => JSON.stringify(newArticle(overrides));

/** A second secret of the same shape, which the site never issued. */
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;

async function getArticle(s: Setup, id: string): Promise<Response> {
  return withKey(s.h, "GET", `${ARTICLES}/${id}`, s.key);
}

describe("Standard Webhooks signature", () => {
  it("a valid signature is accepted: 201 with the normalised article", async () => {
    const s = await setup();
    const res = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body() });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(storedArticle());
    expect(await jsonOf(await getArticle(s, "a-1"))).toEqual(storedArticle());
  });

  it("the harness's own signer agrees", async () => {
    const s = await setup();
    expect((await s.h.signed(ARTICLES, s.secret, body())).status).toBe(201);
  });

  it("several space-separated signatures: one match suffices, wherever it is", async () => {
    const s = await setup();
    const bogus = `v1,${Buffer.alloc(32, 1).toString("base64")}`;
    const cases: ((valid: string) => string)[] = [
      (valid) => `${bogus} ${valid}`,
      (valid) => `${valid} ${bogus}`,
      (valid) => `v1a,${valid.slice(3)} ${bogus} ${valid}`,
      (valid) => `v2,abc ${valid}`,
    ];
    for (const [i, signature] of cases.entries()) {
      const res = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: `multi-${i}` }), signature });
      expect(res.status, String(i)).toBe(201);
    }
  });

  it("a wrong signature is 401 and writes nothing", async () => {
    const s = await setup();
    const bogus = `v1,${Buffer.alloc(32, 1).toString("base64")}`;
    const wrongs: ((valid: string) => string)[] = [
      () => bogus,
      () => `${bogus} ${bogus}`,
      (valid) => valid.slice(0, -4) + (valid.endsWith("AAA=") ? "BBB=" : "AAA="),
      (valid) => valid.replace("v1,", "v2,"),
      (valid) => valid.slice(3),
      () => "",
      () => "v1,",
      () => "v1,not-base64!!",
    ];
    for (const signature of wrongs) {
      await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), signature }), 401);
    }
    await expectProblem(await getArticle(s, "a-1"), 404);
  });

  it("a signature made with another secret, or over another body, is 401", async () => {
    const s = await setup();
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: OTHER_SECRET, body: body() }), 401);
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ title: "Tampered" }), signedBody: body() }), 401);
    // The signature covers the id and the timestamp too.
    const id = "msg_fixed";
    const ts = Math.floor(s.h.now() / 1000);
    const valid = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "probe" }), id, timestamp: ts });
    expect(valid.status).toBe(201);
    let captured = "";
    await sendSigned(s.h, ARTICLES, {
      secret: s.secret,
      body: body({ id: "probe" }),
      id,
      timestamp: ts,
      signature: (v) => {
        captured = v;
        return v;
      },
    });
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "probe" }), id: "msg_other", timestamp: ts, signature: () => captured }), 401);
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "probe" }), id, timestamp: ts - 1, signature: () => captured }), 401);
    await expectProblem(await getArticle(s, "a-1"), 404);
  });

  it("timestamps 6 minutes old or 6 minutes ahead are 401; 4 minutes either way is fine", async () => {
    const s = await setup();
    const now = Math.floor(s.h.now() / 1000);
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), timestamp: now - 6 * 60 }), 401);
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), timestamp: now + 6 * 60 }), 401);
    await expectProblem(await getArticle(s, "a-1"), 404);
    expect((await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "old" }), timestamp: now - 4 * 60 })).status).toBe(201);
    expect((await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "new" }), timestamp: now + 4 * 60 })).status).toBe(201);
  });

  it("a timestamp that is not Unix seconds is 401", async () => {
    const s = await setup();
    const now = Math.floor(s.h.now() / 1000);
    for (const timestamp of ["abc", String(now * 1000), new Date(s.h.now()).toISOString(), `${now}.5`, ""]) {
      await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), timestamp }), 401);
    }
  });

  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"] as const)("a missing %s header is 401", async (header) => {
    const s = await setup();
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), omit: [header] }), 401);
    await expectProblem(await getArticle(s, "a-1"), 404);
  });

  it("no credentials at all is 401", async () => {
    const s = await setup();
    const res = await s.h.request(ARTICLES, { method: "POST", headers: { "content-type": "application/json" }, body: body() });
    await expectProblem(res, 401);
  });

  it("signed PUT, DELETE and events work", async () => {
    const s = await setup();
    const put = await sendSigned(s.h, `${ARTICLES}/a-1`, { secret: s.secret, body: body(), method: "PUT" });
    expect(put.status).toBe(201);
    const del = await sendSigned(s.h, `${ARTICLES}/a-1`, { secret: s.secret, body: "", method: "DELETE" });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    await expectProblem(await getArticle(s, "a-1"), 404);
    const viaHarness = await s.h.signed(`${ARTICLES}/a-1`, s.secret, "", { method: "DELETE" });
    await expectProblem(viaHarness, 404);

    const event = (type: string, data: unknown) => JSON.stringify({ type, timestamp: "2026-11-27T12:00:00Z", data });
    expect((await sendSigned(s.h, "/v1/sites/nisan/events", { secret: s.secret, body: event("article.published", newArticle()) })).status).toBe(201);
    expect((await sendSigned(s.h, "/v1/sites/nisan/events", { secret: s.secret, body: event("article.deleted", { id: "a-1" }) })).status).toBe(204);
    await expectProblem(await getArticle(s, "a-1"), 404);
  });
});

describe("keys and sites", () => {
  it("site A's API key on site B is 403; B's data is untouched", async () => {
    const s = await setup();
    const b = await s.h.createSite("ayyar", { ...seedSite(), slug: "ayyar" });
    expect((await withKey(s.h, "POST", "/v1/sites/ayyar/articles", b.api_key, newArticle())).status).toBe(201);

    await expectProblem(await withKey(s.h, "POST", "/v1/sites/ayyar/articles", s.key, newArticle({ title: "From A" })), 403);
    await expectProblem(await withKey(s.h, "PUT", "/v1/sites/ayyar/articles/a-1", s.key, newArticle({ title: "From A" })), 403);
    await expectProblem(await withKey(s.h, "DELETE", "/v1/sites/ayyar/articles/a-1", s.key), 403);
    await expectProblem(await withKey(s.h, "GET", "/v1/sites/ayyar/articles/a-1", s.key), 403);
    await expectProblem(await withKey(s.h, "GET", "/v1/sites/ayyar/articles", s.key), 403);
    const stored = await jsonOf(await withKey(s.h, "GET", "/v1/sites/ayyar/articles/a-1", b.api_key));
    expect(stored.title).toBe("Plain title");
  });

  it("site A's webhook secret on site B is 401", async () => {
    const s = await setup();
    await s.h.createSite("ayyar", { ...seedSite(), slug: "ayyar" });
    await expectProblem(await sendSigned(s.h, "/v1/sites/ayyar/articles", { secret: s.secret, body: body() }), 401);
  });

  it("a garbage or malformed bearer is 401", async () => {
    const s = await setup();
    for (const authorization of ["Bearer garbage", "Bearer ", "Bearer", `Bearer ${s.key}x`, `Bearer ${s.key.slice(0, -1)}`, `Basic ${s.key}`, s.key, `Bearer ${ADMIN_TOKEN}`, "Bearer nsr_ayyar_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      const res = await s.h.request(ARTICLES, { method: "POST", headers: { authorization, "content-type": "application/json" }, body: body() });
      await expectProblem(res, 401);
    }
    await expectProblem(await getArticle(s, "a-1"), 404);
  });
});

describe("replays by webhook-id", () => {
  it("the same id and body answer the first status and body, and apply once", async () => {
    const s = await setup();
    const id = "msg_create_once";
    const first = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(first.status).toBe(201);
    const firstText = await first.text();

    s.h.advance(30_000);
    const second = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(second.status).toBe(201);
    expect(await second.text()).toBe(firstText);
    expect(second.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await listIds(s.h, "nisan", s.key)).toEqual(["a-1"]);
  });

  it("a replay after a later update still answers the first body and does not undo the update", async () => {
    const s = await setup();
    const id = "msg_first";
    const first = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(first.status).toBe(201);
    const firstText = await first.text();

    const update = await withKey(s.h, "POST", ARTICLES, s.key, newArticle({ title: "Corrected", updated_at: "2024-06-20T00:00:00Z" }));
    expect(update.status).toBe(200);
    const version = (await s.h.store.getSiteVersion("nisan"))?.version;

    const replay = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(replay.status).toBe(201);
    expect(await replay.text()).toBe(firstText);
    expect((await jsonOf(await getArticle(s, "a-1"))).title).toBe("Corrected");
    expect((await s.h.store.getSiteVersion("nisan"))?.version).toBe(version);
  });

  it("a replayed delete answers 204 again, even after the id was published anew", async () => {
    const s = await setup();
    await withKey(s.h, "POST", ARTICLES, s.key, newArticle());
    const id = "msg_delete";
    const first = await sendSigned(s.h, `${ARTICLES}/a-1`, { secret: s.secret, body: "", method: "DELETE", id });
    expect(first.status).toBe(204);
    expect((await withKey(s.h, "POST", ARTICLES, s.key, newArticle())).status).toBe(201);
    const replay = await sendSigned(s.h, `${ARTICLES}/a-1`, { secret: s.secret, body: "", method: "DELETE", id });
    expect(replay.status).toBe(204);
    expect(await replay.text()).toBe("");
    expect((await getArticle(s, "a-1")).status).toBe(200);
  });

  it("an update replay answers its 200 and its body", async () => {
    const s = await setup();
    expect((await withKey(s.h, "POST", ARTICLES, s.key, newArticle())).status).toBe(201);
    const id = "msg_update";
    const text = body({ title: "Second", updated_at: "2024-06-20T00:00:00Z" });
    const first = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: text, id });
    expect(first.status).toBe(200);
    const firstText = await first.text();
    const replay = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: text, id });
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe(firstText);
  });

  it("replays are kept for at least 72 hours", async () => {
    const s = await setup();
    const id = "msg_kept";
    const first = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(first.status).toBe(201);
    const firstText = await first.text();
    expect((await withKey(s.h, "DELETE", `${ARTICLES}/a-1`, s.key)).status).toBe(204);
    const sentAt = s.h.now();
    for (const hours of [1, 24, 48, 71.9]) {
      s.h.advance(sentAt + hours * 3_600_000 - s.h.now());
      const replay = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
      expect(replay.status, `${hours} h`).toBe(201);
      expect(await replay.text()).toBe(firstText);
      // Applied once: the deleted article was not brought back.
      expect((await getArticle(s, "a-1")).status, `${hours} h`).toBe(404);
    }
  });

  it("the same id with a different body is 422 and writes nothing", async () => {
    const s = await setup();
    const id = "msg_same";
    expect((await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id })).status).toBe(201);
    const version = (await s.h.store.getSiteVersion("nisan"))?.version;
    const other = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ title: "Other", updated_at: "2024-06-21T00:00:00Z" }), id });
    await expectProblem(other, 422);
    const otherArticle = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "a-2" }), id });
    await expectProblem(otherArticle, 422);
    expect(await listIds(s.h, "nisan", s.key)).toEqual(["a-1"]);
    expect((await jsonOf(await getArticle(s, "a-1"))).title).toBe("Plain title");
    expect((await s.h.store.getSiteVersion("nisan"))?.version).toBe(version);
    // Whitespace is part of the body.
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: `${body()} `, id }), 422);
  });

  it("deleting a site forgets its replays: the same id on the re-created site is processed afresh", async () => {
    const s = await setup();
    const id = "msg_before_delete";
    expect((await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id })).status).toBe(201);
    expect((await s.h.admin("DELETE", "/v1/sites/nisan")).status).toBe(204);
    const fresh = await s.h.createSite();
    const again = await sendSigned(s.h, ARTICLES, { secret: fresh.webhook_secret, body: body(), id });
    expect(again.status).toBe(201);
    expect(await listIds(s.h, "nisan", fresh.api_key)).toEqual(["a-1"]);
  });

  it("the same id on another site is another message", async () => {
    const s = await setup();
    const b = await s.h.createSite("ayyar", { ...seedSite(), slug: "ayyar" });
    const id = "msg_shared";
    expect((await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id })).status).toBe(201);
    expect((await sendSigned(s.h, "/v1/sites/ayyar/articles", { secret: b.webhook_secret, body: body(), id })).status).toBe(201);
    expect(await listIds(s.h, "ayyar", b.api_key)).toEqual(["a-1"]);
  });

  it("a request refused with a 4xx does not burn its webhook-id", async () => {
    const s = await setup();
    const id = "msg_retry";
    // 422: invalid article.
    await expectInvalid(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ title: "" }), id }), "/title");
    // 413: too large once normalised.
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ content_text: "x".repeat(150 * 1024) }), id }), 413);
    // 404: delete of an unknown article.
    await expectProblem(await sendSigned(s.h, `${ARTICLES}/a-1`, { secret: s.secret, body: "", method: "DELETE", id }), 404);
    // 401: bad signature.
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: OTHER_SECRET, body: body(), id }), 401);
    // 400: not JSON.
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: "{", id }), 400);
    // The fixed request with the same id is processed afresh.
    const fixed = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(fixed.status).toBe(201);
    expect(await fixed.json()).toEqual(storedArticle());
    const replay = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(replay.status).toBe(201);
    expect(await listIds(s.h, "nisan", s.key)).toEqual(["a-1"]);
  });

  it("a request still in flight answers 409 to the same id; the first then completes once", async () => {
    const entered = deferred<void>();
    const release = deferred<void>();
    let puts = 0;
    let hold = true;
    const wrapStore = (store: Store): Store => ({
      ...store,
      async putArticle(slug, article, now) {
        puts += 1;
        if (hold) {
          hold = false;
          entered.resolve();
          await release.promise;
        }
        return store.putArticle(slug, article, now);
      },
    });
    const s = await setup({ wrapStore });
    const id = "msg_in_flight";
    const firstPromise = sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    await entered.promise;

    const second = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    await expectProblem(second, 409);
    // A different body under the in-flight id is still a different body.
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ title: "Other" }), id }), 422);
    // Other ids are not blocked.
    expect((await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body({ id: "a-2" }) })).status).toBe(201);

    release.resolve();
    const first = await firstPromise;
    expect(first.status).toBe(201);
    const firstText = await first.text();

    const third = await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), id });
    expect(third.status).toBe(201);
    expect(await third.text()).toBe(firstText);
    expect(puts).toBe(2);
    expect((await listIds(s.h, "nisan", s.key)).sort()).toEqual(["a-1", "a-2"]);
  });

  it("the in-flight check also holds when the claim is taken directly in the store", async () => {
    const s = await setup();
    const id = "msg_claimed";
    const text = body();
    const route = new TextEncoder().encode(`POST ${ARTICLES}\n`);
    const bytes = new Uint8Array([...route, ...new TextEncoder().encode(text)]);
    const hash = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");
    const claim = await s.h.store.claimWebhook("nisan", id, hash, new Date(s.h.now()).toISOString(), 60_000);
    expect(claim.state).toBe("claimed");
    await expectProblem(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: text, id }), 409);
    await expectProblem(await getArticle(s, "a-1"), 404);
  });
});

describe("failed-authentication limit", () => {
  const wrongKey = (s: Setup, client: string) => withKey(s.h, "POST", ARTICLES, `${s.key}x`, newArticle(), { client });
  const goodKey = (s: Setup, client: string, id = "a-1") => withKey(s.h, "POST", ARTICLES, s.key, newArticle({ id }), { client });

  async function expectThrottled(res: Response): Promise<void> {
    await expectProblem(res, 429);
    const retry = res.headers.get("retry-after");
    expect(retry).toMatch(/^\d+$/);
    expect(Number(retry)).toBeGreaterThanOrEqual(1);
    expect(Number(retry)).toBeLessThanOrEqual(60);
  }

  it("10 failures, then the 11th request from that client is 429 with Retry-After; others are unaffected; 61 s later it works", async () => {
    const s = await setup();
    for (let i = 0; i < 10; i++) await expectProblem(await wrongKey(s, "mallory"), 401);
    // Even valid credentials are refused for now.
    await expectThrottled(await goodKey(s, "mallory"));
    await expectThrottled(await wrongKey(s, "mallory"));
    await expectProblem(await withKey(s.h, "GET", `${ARTICLES}/a-1`, s.key, undefined, { client: "mallory" }), 429);
    await expectProblem(await adminAs(s.h, "mallory", "GET", "/v1/sites/nisan"), 429);
    // Nothing was written by the throttled request.
    expect(await listIds(s.h, "nisan", s.key)).toEqual([]);

    // Another client is unaffected, also when it fails once.
    expect((await goodKey(s, "alice")).status).toBe(201);
    await expectProblem(await wrongKey(s, "alice"), 401);
    expect((await adminAs(s.h, "alice", "GET", "/v1/sites/nisan")).status).toBe(200);

    s.h.advance(61_000);
    const after = await goodKey(s, "mallory", "a-2");
    expect(after.status).toBe(201);
  });

  it("the 10th failure is still a 401", async () => {
    const s = await setup();
    for (let i = 0; i < 9; i++) await expectProblem(await wrongKey(s, "bob"), 401);
    expect((await goodKey(s, "bob")).status).toBe(201);
    await expectProblem(await wrongKey(s, "bob"), 401);
    await expectThrottled(await goodKey(s, "bob", "a-2"));
  });

  it("failures older than a minute do not count", async () => {
    const s = await setup();
    for (let i = 0; i < 9; i++) await expectProblem(await wrongKey(s, "carol"), 401);
    s.h.advance(61_000);
    for (let i = 0; i < 9; i++) await expectProblem(await wrongKey(s, "carol"), 401);
    expect((await goodKey(s, "carol")).status).toBe(201);
  });

  it("admin token failures count too", async () => {
    const s = await setup();
    for (let i = 0; i < 10; i++) await expectProblem(await adminAs(s.h, "eve", "GET", "/v1/sites/nisan", `${ADMIN_TOKEN}x`), 401);
    await expectThrottled(await adminAs(s.h, "eve", "GET", "/v1/sites/nisan"));
    await expectThrottled(await adminAs(s.h, "eve", "PUT", "/v1/sites/ayyar", ADMIN_TOKEN, { ...seedSite(), slug: "ayyar" }));
    await expectThrottled(await goodKey(s, "eve"));
    await expectProblem(await s.h.admin("GET", "/v1/sites/ayyar"), 404);
    expect((await adminAs(s.h, "frank", "GET", "/v1/sites/nisan")).status).toBe(200);
    s.h.advance(61_000);
    expect((await adminAs(s.h, "eve", "GET", "/v1/sites/nisan")).status).toBe(200);
  });

  it("bad signatures, stale timestamps, missing headers and missing tokens all count", async () => {
    const s = await setup();
    const now = Math.floor(s.h.now() / 1000);
    const failures: (() => Promise<Response>)[] = [
      () => sendSigned(s.h, ARTICLES, { secret: OTHER_SECRET, body: body(), client: "trent" }),
      () => sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), timestamp: now - 3_600, client: "trent" }),
      () => sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), omit: ["webhook-id"], client: "trent" }),
      () => s.h.request(ARTICLES, { method: "POST", headers: { "content-type": "application/json" }, body: body(), client: "trent" }),
      () => s.h.request("/v1/sites/nisan", { client: "trent" }),
      () => adminAs(s.h, "trent", "DELETE", "/v1/sites/nisan", "nope"),
      () => wrongKey(s, "trent"),
      () => sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), signature: () => "v1,AAAA", client: "trent" }),
      () => withKey(s.h, "GET", ARTICLES, "nope", undefined, { client: "trent" }),
      () => sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), timestamp: now + 3_600, client: "trent" }),
    ];
    for (const fail of failures) await expectProblem(await fail(), 401);
    await expectThrottled(await sendSigned(s.h, ARTICLES, { secret: s.secret, body: body(), client: "trent" }));
    expect((await s.h.admin("GET", "/v1/sites/nisan")).status).toBe(200);
  });
});
