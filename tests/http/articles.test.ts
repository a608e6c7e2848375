// Publisher side of the contract: article upsert, read, list, delete, events, field rules,
// cleaning, body parsing and limits, over the real app and a real SQLite file.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { START, createHarness, seedArticle, seedSite, type Harness } from "./harness.ts";
import {
  type Json,
  expectInvalid,
  expectProblem,
  jsonOf,
  listIds,
  newArticle,
  recordStatuses,
  storedArticle,
  withKey,
  without,
} from "./api-helpers.ts";

const ARTICLES = "/v1/sites/nisan/articles";
const EVENTS = "/v1/sites/nisan/events";

let h: Harness;
let key: string;
let recorder: ReturnType<typeof recordStatuses>;

beforeEach(async () => {
  h = await createHarness();
  recorder = recordStatuses(h);
  key = (await h.createSite()).api_key;
});
afterEach(async () => {
  expect(recorder.serverErrors()).toEqual([]);
  await h.close();
});

const post = (body: unknown) => withKey(h, "POST", ARTICLES, key, body);
const postRaw = (raw: string | Uint8Array, contentType: string | null = "application/json") =>
  withKey(h, "POST", ARTICLES, key, undefined, { raw, contentType });
const put = (id: string, body: unknown) => withKey(h, "PUT", `${ARTICLES}/${id}`, key, body);
const get = (id: string) => withKey(h, "GET", `${ARTICLES}/${encodeURIComponent(id)}`, key);
const del = (id: string) => withKey(h, "DELETE", `${ARTICLES}/${encodeURIComponent(id)}`, key);
const event = (type: string, data: unknown, extra: Json = {}) =>
  withKey(h, "POST", EVENTS, key, { type, timestamp: "2026-11-27T11:59:00Z", data, ...extra });

async function stored(id: string): Promise<Json> {
  const res = await get(id);
  expect(res.status).toBe(200);
  return jsonOf(res);
}

async function siteVersion(): Promise<number | undefined> {
  return (await h.store.getSiteVersion("nisan"))?.version;
}

/** Asserts that the store holds exactly these articles (by GET of each and the full list). */
async function expectStore(articles: Json[]): Promise<void> {
  const ids = await listIds(h, "nisan", key);
  expect(ids.sort()).toEqual(articles.map((a) => a.id as string).sort());
  for (const a of articles) expect(await stored(a.id as string)).toEqual(a);
}

/** An ISO instant `ms` after the harness start, as the API answers it. */
function at(ms: number): string {
  return new Date(START + ms).toISOString().replace(".000Z", "Z");
}

describe("POST /v1/sites/{site}/articles", () => {
  it("201 on create, 200 on update; the body is the normalised article", async () => {
    const created = await post(newArticle());
    expect(created.status).toBe(201);
    expect(created.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await created.json()).toEqual(storedArticle());

    const updated = await post(newArticle({ title: "New title", updated_at: "2024-06-20T00:00:00Z" }));
    expect(updated.status).toBe(200);
    const body = await jsonOf(updated);
    expect(body).toEqual(storedArticle({ title: "New title", updated_at: "2024-06-20T00:00:00Z" }));
    expect(await stored("a-1")).toEqual(body);
  });

  it("sending the same article again is 200 with the same body", async () => {
    expect((await post(newArticle())).status).toBe(201);
    const again = await post(newArticle());
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(storedArticle());
    expect(await listIds(h, "nisan", key)).toEqual(["a-1"]);
  });

  it("the seed article: local time in Asia/Amman, defaults from the site, body cleaned", async () => {
    const res = await post(seedArticle());
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.id).toBe("2024-06-19-russia-dprk-treaty");
    expect(body.published_at).toBe("2024-06-19T11:49:00Z");
    expect(body.updated_at).toBe("2024-06-19T11:49:00Z");
    expect(body.language).toBe("ar");
    expect(body.authors).toEqual([{ name: "نيسان" }]);
    expect(body.categories).toEqual(["سياسة", "دولي"]);
    expect(body.tags).toEqual(["روسيا", "كوريا الشمالية", "بوتين", "كيم جونغ أون"]);
    expect(body.url).toBe("https://nisan.example/ar/news/2024-06-19-russia-dprk-treaty");
    expect(body.content_html as string).toMatch(/^<p>نيسان ـ قال الرئيس الروسي/);
    expect(await stored("2024-06-19-russia-dprk-treaty")).toEqual(body);
  });

  it("dates: offsets are converted to UTC; local times are read in the site's zone, across DST", async () => {
    const cases: [string, string][] = [
      ["2024-06-19T14:49:00+03:00", "2024-06-19T11:49:00Z"],
      ["2024-06-19T11:49:00.250Z", "2024-06-19T11:49:00.250Z"],
      ["2024-06-19 14:49:30", "2024-06-19T11:49:30Z"],
      // Jordan has been on UTC+3 all year since late 2022; in January 2022 it was UTC+2.
      ["2022-01-10 10:00", "2022-01-10T08:00:00Z"],
    ];
    for (const [i, [input, output]] of cases.entries()) {
      const res = await post(newArticle({ id: `d-${i}`, published_at: input }));
      expect(res.status, input).toBe(201);
      const body = await jsonOf(res);
      expect(body.published_at, input).toBe(output);
      expect(body.updated_at, input).toBe(output);
    }
  });

  it("updated_at defaults to published_at, and is kept when sent", async () => {
    const a = await jsonOf(await post(newArticle({ published_at: "2024-06-19 14:49" })));
    expect(a.updated_at).toBe("2024-06-19T11:49:00Z");
    const b = await jsonOf(await post(newArticle({ id: "a-2", updated_at: "2024-06-21 09:00" })));
    expect(b.published_at).toBe("2024-06-19T11:49:00Z");
    expect(b.updated_at).toBe("2024-06-21T06:00:00Z");
  });

  it("keeps every optional field in normalised form", async () => {
    const res = await post(
      newArticle({
        content_html: "<p>Body</p>",
        content_text: "Body",
        authors: [{ name: "Rana", url: "https://nisan.example/rana", email: "rana@nisan.example" }],
        categories: ["Politics"],
        tags: ["Jordan", "Amman"],
        image: { url: "https://nisan.example/i.jpg", mime_type: "image/jpeg", alt: "A picture" },
        attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", size_in_bytes: 1234, title: "Audio" }],
        language: "en-GB",
      }),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(
      storedArticle({
        content_html: "<p>Body</p>",
        content_text: "Body",
        authors: [{ name: "Rana", url: "https://nisan.example/rana", email: "rana@nisan.example" }],
        categories: ["Politics"],
        tags: ["Jordan", "Amman"],
        image: { url: "https://nisan.example/i.jpg", mime_type: "image/jpeg", alt: "A picture" },
        attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", size_in_bytes: 1234, title: "Audio" }],
        language: "en-GB",
      }),
    );
  });

  it("accepts each of summary, content_html and content_text alone", async () => {
    expect((await post(newArticle({ id: "s" }))).status).toBe(201);
    expect((await post(without(newArticle({ id: "h", content_html: "<p>x</p>" }), "summary"))).status).toBe(201);
    expect((await post(without(newArticle({ id: "t", content_text: "x" }), "summary"))).status).toBe(201);
  });

  it("a site's articles are its own", async () => {
    const other = await h.createSite("ayyar", { ...seedSite(), slug: "ayyar" });
    expect((await post(newArticle())).status).toBe(201);
    const res = await withKey(h, "GET", "/v1/sites/ayyar/articles/a-1", other.api_key);
    await expectProblem(res, 404);
    const created = await withKey(h, "POST", "/v1/sites/ayyar/articles", other.api_key, newArticle({ title: "Ayyar" }));
    expect(created.status).toBe(201);
    expect((await stored("a-1")).title).toBe("Plain title");
  });

  it("an unknown site is 404", async () => {
    await expectProblem(await withKey(h, "POST", "/v1/sites/ayyar/articles", key, newArticle()), 404);
  });
});

describe("PUT /v1/sites/{site}/articles/{id}", () => {
  it("uses the path id when the body has none: 201, then 200", async () => {
    const res = await put("from-path", without(newArticle(), "id"));
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(storedArticle({ id: "from-path" }));
    const again = await put("from-path", newArticle({ id: "from-path", title: "Updated", updated_at: "2024-06-20T00:00:00Z" }));
    expect(again.status).toBe(200);
    expect((await jsonOf(again)).title).toBe("Updated");
    expect((await stored("from-path")).title).toBe("Updated");
  });

  it("a body id that differs from the path is 422 naming /id; nothing is written", async () => {
    await expectInvalid(await put("path-id", newArticle({ id: "body-id" })), "/id");
    await expectProblem(await get("path-id"), 404);
    await expectProblem(await get("body-id"), 404);
  });

  it("a path id that breaks the id rules is 422", async () => {
    for (const id of ["a%20b", "a%25b", "a%3Fb", "x".repeat(201), "%C3%A9"]) {
      const res = await withKey(h, "PUT", `${ARTICLES}/${id}`, key, without(newArticle(), "id"));
      await expectProblem(res, 422);
    }
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("a percent-encoded path id is decoded", async () => {
    const res = await withKey(h, "PUT", `${ARTICLES}/a%3Ab`, key, without(newArticle(), "id"));
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).id).toBe("a:b");
    expect((await stored("a:b")).id).toBe("a:b");
  });
});

describe("GET and DELETE /v1/sites/{site}/articles/{id}", () => {
  it("GET answers 200 with the article, 404 for an unknown id", async () => {
    await post(newArticle());
    const res = await get("a-1");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(storedArticle());
    await expectProblem(await get("a-2"), 404);
    await expectProblem(await withKey(h, "GET", "/v1/sites/ayyar/articles/a-1", key), 404);
  });

  it("DELETE answers 204 with no body; then GET is 404 and the list is empty", async () => {
    await post(newArticle());
    const before = await siteVersion();
    const res = await del("a-1");
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await expectProblem(await get("a-1"), 404);
    expect(await listIds(h, "nisan", key)).toEqual([]);
    expect(await siteVersion()).toBeGreaterThan(before ?? Infinity);
  });

  it("DELETE of an unknown id is 404, and of an already deleted one too", async () => {
    await expectProblem(await del("a-1"), 404);
    await post(newArticle());
    expect((await del("a-1")).status).toBe(204);
    await expectProblem(await del("a-1"), 404);
  });

  it("publishing the id again after a delete is a create (201)", async () => {
    expect((await post(newArticle())).status).toBe(201);
    expect((await del("a-1")).status).toBe(204);
    const again = await post(newArticle({ title: "Back" }));
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual(storedArticle({ title: "Back" }));
  });

  it("a delete leaves other articles alone", async () => {
    await post(newArticle());
    await post(newArticle({ id: "a-2" }));
    expect((await del("a-1")).status).toBe(204);
    await expectStore([storedArticle({ id: "a-2" })]);
  });
});

describe("GET /v1/sites/{site}/articles (list)", () => {
  /** Ten articles; two share a published_at, so the id decides their order. */
  async function publishTen(): Promise<string[]> {
    const order: [string, string][] = [
      ["n-0", "2024-06-10T00:00:00Z"],
      ["n-1", "2024-06-11T00:00:00Z"],
      ["n-2", "2024-06-12T00:00:00Z"],
      ["same-a", "2024-06-13T00:00:00Z"],
      ["same-b", "2024-06-13T00:00:00Z"],
      ["n-5", "2024-06-14T00:00:00Z"],
      ["n-6", "2024-06-15 03:00"],
      ["n-7", "2024-06-16T00:00:00Z"],
      ["n-8", "2024-06-17T00:00:00Z"],
      ["n-9", "2024-06-18T00:00:00Z"],
    ];
    // Publish out of order: the list must sort, not replay insertion order.
    for (const [id, published] of [...order].reverse().filter((_, i) => i % 2 === 0).concat([...order].reverse().filter((_, i) => i % 2 === 1))) {
      expect((await post(newArticle({ id, published_at: published }))).status).toBe(201);
    }
    return ["n-9", "n-8", "n-7", "n-6", "n-5", "same-b", "same-a", "n-2", "n-1", "n-0"];
  }

  it("lists newest first (published_at, then id, descending)", async () => {
    const expected = await publishTen();
    const res = await withKey(h, "GET", ARTICLES, key);
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect((body.items as Json[]).map((a) => a.id)).toEqual(expected);
    expect(body).not.toHaveProperty("next");
    expect((body.items as Json[])[0]).toEqual(storedArticle({ id: "n-9", published_at: "2024-06-18T00:00:00Z", updated_at: "2024-06-18T00:00:00Z" }));
  });

  it("pages with limit and a next cursor; walking every page reaches each article once", async () => {
    const expected = await publishTen();
    for (const limit of [1, 2, 3, 4, 9, 10, 11]) {
      const seen: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const query = `?limit=${limit}${next === undefined ? "" : `&before=${next}`}`;
        const res = await withKey(h, "GET", `${ARTICLES}${query}`, key);
        expect(res.status).toBe(200);
        const body = await jsonOf(res);
        const items = body.items as Json[];
        expect(items.length).toBeLessThanOrEqual(limit);
        seen.push(...items.map((a) => a.id as string));
        next = typeof body.next === "string" ? body.next : undefined;
        pages += 1;
        if (next !== undefined) expect(items.length).toBe(limit);
      } while (next !== undefined && pages < 50);
      expect(seen, `limit ${limit}`).toEqual(expected);
      expect(pages, `limit ${limit}`).toBe(Math.ceil(expected.length / limit));
    }
  });

  it("a cursor stays valid when the article it points at is deleted, and when new ones arrive", async () => {
    const expected = await publishTen();
    const first = await jsonOf(await withKey(h, "GET", `${ARTICLES}?limit=3`, key));
    expect((first.items as Json[]).map((a) => a.id)).toEqual(expected.slice(0, 3));
    expect((await del(expected[2]!)).status).toBe(204);
    expect((await post(newArticle({ id: "newest", published_at: "2024-06-30T00:00:00Z" }))).status).toBe(201);
    const second = await jsonOf(await withKey(h, "GET", `${ARTICLES}?limit=3&before=${first.next as string}`, key));
    expect((second.items as Json[]).map((a) => a.id)).toEqual(expected.slice(3, 6));
  });

  it("the default page is 20", async () => {
    for (let i = 0; i < 25; i++) {
      expect((await post(newArticle({ id: `p-${String(i).padStart(2, "0")}` }))).status).toBe(201);
    }
    const body = await jsonOf(await withKey(h, "GET", ARTICLES, key));
    expect((body.items as Json[]).length).toBe(20);
    expect(typeof body.next).toBe("string");
    const rest = await jsonOf(await withKey(h, "GET", `${ARTICLES}?before=${body.next as string}`, key));
    expect((rest.items as Json[]).map((a) => a.id)).toEqual(["p-04", "p-03", "p-02", "p-01", "p-00"]);
    expect(rest).not.toHaveProperty("next");
  });

  it("an empty site lists no items and no cursor", async () => {
    const body = await jsonOf(await withKey(h, "GET", `${ARTICLES}?limit=100`, key));
    expect(body.items).toEqual([]);
    expect(body).not.toHaveProperty("next");
  });

  it.each(["0", "101", "abc", "-1", "1.5", "", "1e1", "%201"])("limit=%s is 400", async (limit) => {
    await post(newArticle());
    await expectProblem(await withKey(h, "GET", `${ARTICLES}?limit=${limit}`, key), 400);
  });

  it.each(["garbage!", "AAAA", "bm90LWEtY3Vyc29y"])("before=%s that this server did not issue is 400", async (before) => {
    await expectProblem(await withKey(h, "GET", `${ARTICLES}?before=${before}`, key), 400);
  });

  it("limit=1 and limit=100 are fine", async () => {
    await post(newArticle());
    expect((await withKey(h, "GET", `${ARTICLES}?limit=1`, key)).status).toBe(200);
    expect((await withKey(h, "GET", `${ARTICLES}?limit=100`, key)).status).toBe(200);
  });
});

describe("POST /v1/sites/{site}/events", () => {
  it("article.published creates (201), article.updated updates (200), article.deleted deletes (204)", async () => {
    const published = await event("article.published", newArticle());
    expect(published.status).toBe(201);
    expect(await published.json()).toEqual(storedArticle());

    const updated = await event("article.updated", newArticle({ title: "Updated", updated_at: "2024-06-20T00:00:00Z" }));
    expect(updated.status).toBe(200);
    expect(await updated.json()).toEqual(storedArticle({ title: "Updated", updated_at: "2024-06-20T00:00:00Z" }));
    expect((await stored("a-1")).title).toBe("Updated");

    const deleted = await event("article.deleted", { id: "a-1" });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    await expectProblem(await get("a-1"), 404);
  });

  it("article.updated for a new id creates it (201)", async () => {
    const res = await event("article.updated", newArticle({ id: "fresh" }));
    expect(res.status).toBe(201);
    expect((await stored("fresh")).id).toBe("fresh");
  });

  it("article.deleted of an unknown id is 404", async () => {
    await expectProblem(await event("article.deleted", { id: "nope" }), 404);
  });

  it("an unknown type is 422 naming /type", async () => {
    await expectInvalid(await event("article.exploded", newArticle()), "/type");
    await expectInvalid(await withKey(h, "POST", EVENTS, key, { data: newArticle() }), "/type");
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("article errors are named under /data", async () => {
    await expectInvalid(await event("article.published", without(newArticle(), "title")), "/data/title");
    await expectInvalid(await event("article.published", newArticle({ authors: [{ name: "" }] })), "/data/authors/0/name");
    await expectInvalid(await event("article.published", newArticle({ colour: "red" })), "/data/colour");
    await expectInvalid(await event("article.deleted", {}), "/data/id");
    await expectInvalid(await event("article.deleted", { id: "a/b" }), "/data/id");
    await expectInvalid(await event("article.deleted", { id: "a-1", title: "x" }), "/data/title");
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("missing data, a non-object data, and unknown envelope fields are 422", async () => {
    await expectInvalid(await withKey(h, "POST", EVENTS, key, { type: "article.published" }), "/data");
    await expectInvalid(await event("article.published", "a-1"), "/data");
    await expectInvalid(await event("article.published", newArticle(), { extra: 1 }), "/extra");
    await expectProblem(await withKey(h, "POST", EVENTS, key, [newArticle()]), 422);
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("envelope keys that begin with _ are ignored", async () => {
    expect((await event("article.published", newArticle(), { _trace: "abc" })).status).toBe(201);
  });
});

describe("concurrency: the newest updated_at wins", () => {
  it("an older updated_at answers 200 with the stored article and writes nothing", async () => {
    const newer = newArticle({ title: "Newer", updated_at: "2024-06-20T12:00:00Z" });
    expect((await post(newer)).status).toBe(201);
    const version = await siteVersion();

    const stale = await post(newArticle({ title: "Older", summary: "Old summary", updated_at: "2024-06-20T11:00:00Z" }));
    expect(stale.status).toBe(200);
    const expected = storedArticle({ title: "Newer", updated_at: "2024-06-20T12:00:00Z" });
    expect(await stale.json()).toEqual(expected);
    expect(await stored("a-1")).toEqual(expected);
    expect(await siteVersion()).toBe(version);

    // Omitting updated_at means updated_at = published_at, which is older still.
    const implicit = await post(newArticle({ title: "Implicit" }));
    expect(implicit.status).toBe(200);
    expect(await implicit.json()).toEqual(expected);
    expect(await siteVersion()).toBe(version);

    const newest = await post(newArticle({ title: "Newest", updated_at: "2024-06-20T13:00:00Z" }));
    expect(newest.status).toBe(200);
    expect(await newest.json()).toEqual(storedArticle({ title: "Newest", updated_at: "2024-06-20T13:00:00Z" }));
    expect(await stored("a-1")).toEqual(storedArticle({ title: "Newest", updated_at: "2024-06-20T13:00:00Z" }));
    expect(await siteVersion()).toBeGreaterThan(version ?? Infinity);
  });

  it("the same rule holds on PUT and on events", async () => {
    expect((await post(newArticle({ title: "Newer", updated_at: "2024-06-20T12:00:00Z" }))).status).toBe(201);
    const viaPut = await put("a-1", newArticle({ title: "Older", updated_at: "2024-06-19T12:00:00Z" }));
    expect(viaPut.status).toBe(200);
    expect((await jsonOf(viaPut)).title).toBe("Newer");
    const viaEvent = await event("article.updated", newArticle({ title: "Older", updated_at: "2024-06-19T12:00:00Z" }));
    expect(viaEvent.status).toBe(200);
    expect((await jsonOf(viaEvent)).title).toBe("Newer");
    expect((await stored("a-1")).title).toBe("Newer");
  });

  it("concurrent writes of one id: the newest updated_at wins whatever the order", async () => {
    for (const [i, order] of [["older", "newer"], ["newer", "older"]].entries()) {
      const id = `race-${i}`;
      const versions: Record<string, Json> = {
        older: newArticle({ id, title: "Older", updated_at: "2024-06-20T00:00:00Z" }),
        newer: newArticle({ id, title: "Newer", updated_at: "2024-06-21T00:00:00Z" }),
      };
      const answers = await Promise.all(order.map((name) => post(versions[name]!)));
      expect(answers.map((r) => r.status).sort()).toEqual([200, 201]);
      for (const answer of answers) expect((await jsonOf(answer)).title === "Newer" || answer.status === 201).toBe(true);
      expect((await stored(id)).title).toBe("Newer");
    }
  });

  it("updated_at is compared as an instant, not as text", async () => {
    expect((await post(newArticle({ title: "Newer", updated_at: "2024-06-20T12:00:00Z" }))).status).toBe(201);
    // 14:30+03:00 is 11:30Z: older, though its text sorts after "12:00:00Z".
    const res = await post(newArticle({ title: "Older", updated_at: "2024-06-20T14:30:00+03:00" }));
    expect(res.status).toBe(200);
    expect((await jsonOf(res)).title).toBe("Newer");
  });
});

describe("article field rules: 422 naming the JSON Pointer, nothing written", () => {
  interface Case {
    name: string;
    body: () => unknown;
    field: string | readonly string[];
  }
  const many = (n: number, make: (i: number) => unknown) => Array.from({ length: n }, (_, i) => make(i));
  const future = (ms: number) => new Date(START + ms).toISOString();
  const cases: Case[] = [
    { name: "id missing", body: () => without(newArticle(), "id"), field: "/id" },
    { name: "title missing", body: () => without(newArticle(), "title"), field: "/title" },
    { name: "url missing", body: () => without(newArticle(), "url"), field: "/url" },
    { name: "published_at missing", body: () => without(newArticle(), "published_at"), field: "/published_at" },
    { name: "no summary, content_html or content_text", body: () => without(newArticle(), "summary"), field: ["/summary", "/content_html", "/content_text"] },
    { name: "title null", body: () => newArticle({ title: null }), field: "/title" },
    { name: "title a number", body: () => newArticle({ title: 42 }), field: "/title" },
    { name: "title empty", body: () => newArticle({ title: "" }), field: "/title" },
    { name: "title only tags", body: () => newArticle({ title: "<b> </b>" }), field: "/title" },
    { name: "title of 1001 characters", body: () => newArticle({ title: "ت".repeat(1001) }), field: "/title" },
    { name: "summary of 10001 characters", body: () => newArticle({ summary: "s".repeat(10_001) }), field: "/summary" },
    { name: "content_html not a string", body: () => newArticle({ content_html: ["<p>x</p>"] }), field: "/content_html" },
    { name: "21 authors", body: () => newArticle({ authors: many(21, (i) => ({ name: `A${i}` })) }), field: "/authors" },
    { name: "authors not an array", body: () => newArticle({ authors: { name: "A" } }), field: "/authors" },
    { name: "author without a name", body: () => newArticle({ authors: [{ url: "https://nisan.example/a" }] }), field: "/authors/0/name" },
    { name: "author with an empty name", body: () => newArticle({ authors: [{ name: "ok" }, { name: "" }] }), field: "/authors/1/name" },
    { name: "author a string", body: () => newArticle({ authors: ["Rana"] }), field: "/authors/0" },
    { name: "author javascript: url", body: () => newArticle({ authors: [{ name: "A", url: "javascript:alert(1)" }] }), field: "/authors/0/url" },
    { name: "author bad email", body: () => newArticle({ authors: [{ name: "A", email: "not an email" }] }), field: "/authors/0/email" },
    { name: "author unknown field", body: () => newArticle({ authors: [{ name: "A", twitter: "@a" }] }), field: "/authors/0/twitter" },
    { name: "51 categories", body: () => newArticle({ categories: many(51, (i) => `c${i}`) }), field: "/categories" },
    { name: "51 tags", body: () => newArticle({ tags: many(51, (i) => `t${i}`) }), field: "/tags" },
    { name: "a tag of 201 characters", body: () => newArticle({ tags: ["ok", "t".repeat(201)] }), field: "/tags/1" },
    { name: "a category of 201 characters", body: () => newArticle({ categories: ["c".repeat(201)] }), field: "/categories/0" },
    { name: "an empty tag", body: () => newArticle({ tags: [""] }), field: "/tags/0" },
    { name: "a tag that is a number", body: () => newArticle({ tags: [7] }), field: "/tags/0" },
    { name: "tags a string", body: () => newArticle({ tags: "a,b" }), field: "/tags" },
    { name: "attachment without mime_type", body: () => newArticle({ attachments: [{ url: "https://nisan.example/a.mp3" }] }), field: "/attachments/0/mime_type" },
    { name: "attachment without url", body: () => newArticle({ attachments: [{ mime_type: "audio/mpeg" }] }), field: "/attachments/0/url" },
    { name: "attachment bad mime_type", body: () => newArticle({ attachments: [{ url: "https://nisan.example/a", mime_type: "audio" }] }), field: "/attachments/0/mime_type" },
    { name: "attachment negative size", body: () => newArticle({ attachments: [{ url: "https://nisan.example/a", mime_type: "audio/mpeg", size_in_bytes: -1 }] }), field: "/attachments/0/size_in_bytes" },
    { name: "21 attachments", body: () => newArticle({ attachments: many(21, (i) => ({ url: `https://nisan.example/${i}`, mime_type: "audio/mpeg" })) }), field: "/attachments" },
    { name: "image a string", body: () => newArticle({ image: "https://nisan.example/i.jpg" }), field: "/image" },
    { name: "image without url", body: () => newArticle({ image: { alt: "x" } }), field: "/image/url" },
    { name: "image relative url", body: () => newArticle({ image: { url: "/i.jpg" } }), field: "/image/url" },
    { name: "image data: url", body: () => newArticle({ image: { url: "data:image/png;base64,AAAA" } }), field: "/image/url" },
    { name: "image bad mime_type", body: () => newArticle({ image: { url: "https://nisan.example/i.jpg", mime_type: "jpeg" } }), field: "/image/mime_type" },
    { name: "image unknown field", body: () => newArticle({ image: { url: "https://nisan.example/i.jpg", width: 5 } }), field: "/image/width" },
    { name: "language invalid", body: () => newArticle({ language: "a" }), field: "/language" },
    { name: "language with an underscore", body: () => newArticle({ language: "en_US" }), field: "/language" },
    { name: "language a number", body: () => newArticle({ language: 1 }), field: "/language" },
    { name: "published_at 6 minutes in the future", body: () => newArticle({ published_at: future(6 * 60_000) }), field: "/published_at" },
    { name: "published_at a year in the future", body: () => newArticle({ published_at: "2027-12-01 00:00" }), field: "/published_at" },
    { name: "updated_at 6 minutes in the future", body: () => newArticle({ updated_at: future(6 * 60_000) }), field: "/updated_at" },
    { name: "published_at 2024-02-30 (RFC 3339)", body: () => newArticle({ published_at: "2024-02-30T10:00:00Z" }), field: "/published_at" },
    { name: "published_at 2024-02-30 (local)", body: () => newArticle({ published_at: "2024-02-30 10:00" }), field: "/published_at" },
    { name: "published_at 2023-02-29", body: () => newArticle({ published_at: "2023-02-29T10:00:00Z" }), field: "/published_at" },
    { name: "published_at 0000-01-01", body: () => newArticle({ published_at: "0000-01-01T00:00:00Z" }), field: "/published_at" },
    { name: "published_at +275760-09-13", body: () => newArticle({ published_at: "+275760-09-13T00:00:00Z" }), field: "/published_at" },
    { name: "published_at 25:00", body: () => newArticle({ published_at: "2024-06-19T25:00:00Z" }), field: "/published_at" },
    { name: "published_at 13th month", body: () => newArticle({ published_at: "2024-13-01T00:00:00Z" }), field: "/published_at" },
    { name: "published_at a date only", body: () => newArticle({ published_at: "2024-06-19" }), field: "/published_at" },
    { name: "published_at prose", body: () => newArticle({ published_at: "yesterday" }), field: "/published_at" },
    { name: "published_at a number", body: () => newArticle({ published_at: 1718797740 }), field: "/published_at" },
    { name: "published_at RFC 822", body: () => newArticle({ published_at: "Wed, 19 Jun 2024 11:49:00 GMT" }), field: "/published_at" },
    { name: "updated_at 2024-02-30", body: () => newArticle({ updated_at: "2024-02-30T10:00:00Z" }), field: "/updated_at" },
    { name: "id with /", body: () => newArticle({ id: "a/b" }), field: "/id" },
    { name: "id with ?", body: () => newArticle({ id: "a?b" }), field: "/id" },
    { name: "id with #", body: () => newArticle({ id: "a#b" }), field: "/id" },
    { name: "id with %", body: () => newArticle({ id: "a%b" }), field: "/id" },
    { name: "id with a space", body: () => newArticle({ id: "a b" }), field: "/id" },
    { name: "id with a tab", body: () => newArticle({ id: "a\tb" }), field: "/id" },
    { name: "id with a newline", body: () => newArticle({ id: "a\nb" }), field: "/id" },
    { name: "id .", body: () => newArticle({ id: "." }), field: "/id" },
    { name: "id ..", body: () => newArticle({ id: ".." }), field: "/id" },
    { name: "id of 201 characters", body: () => newArticle({ id: "x".repeat(201) }), field: "/id" },
    { name: "id empty", body: () => newArticle({ id: "" }), field: "/id" },
    { name: "id with NUL", body: () => newArticle({ id: "a\u0000b" }), field: "/id" },
    { name: "id with DEL", body: () => newArticle({ id: "a\u007Fb" }), field: "/id" },
    { name: "id with a C1 control", body: () => newArticle({ id: "a\u0085b" }), field: "/id" },
    { name: "id non-ASCII", body: () => newArticle({ id: "خبر" }), field: "/id" },
    { name: "id a number", body: () => newArticle({ id: 17 }), field: "/id" },
    { name: "url with NUL", body: () => newArticle({ url: "https://nisan.example/a\u0000b" }), field: "/url" },
    { name: "url with a C1 control", body: () => newArticle({ url: "https://nisan.example/a\u0085b" }), field: "/url" },
    { name: "url javascript:", body: () => newArticle({ url: "javascript:alert(1)" }), field: "/url" },
    { name: "url JavaScript: mixed case", body: () => newArticle({ url: "JavaScript:alert(1)" }), field: "/url" },
    { name: "url with credentials", body: () => newArticle({ url: "https://user:pass@nisan.example/a" }), field: "/url" },
    { name: "url with a user only", body: () => newArticle({ url: "https://user@nisan.example/a" }), field: "/url" },
    { name: "url with a space", body: () => newArticle({ url: "https://nisan.example/a b" }), field: "/url" },
    { name: "url with a leading space", body: () => newArticle({ url: " https://nisan.example/a" }), field: "/url" },
    { name: "url relative", body: () => newArticle({ url: "/ar/news/a-1" }), field: "/url" },
    { name: "url ftp:", body: () => newArticle({ url: "ftp://nisan.example/a" }), field: "/url" },
    { name: "url data:", body: () => newArticle({ url: "data:text/html,hi" }), field: "/url" },
    { name: "an unknown field", body: () => newArticle({ colour: "red" }), field: "/colour" },
    { name: "a server-set-looking field", body: () => newArticle({ site: "nisan" }), field: "/site" },
    { name: "constructor", body: () => newArticle({ constructor: "x" }), field: "/constructor" },
    { name: "toString", body: () => newArticle({ toString: "x" }), field: "/toString" },
    { name: "hasOwnProperty", body: () => newArticle({ hasOwnProperty: 1 }), field: "/hasOwnProperty" },
    { name: "a key with / is escaped in the pointer", body: () => newArticle({ "a/b~c": 1 }), field: "/a~1b~0c" },
    { name: "body an array", body: () => [newArticle()], field: "" },
    { name: "body a string", body: () => "article", field: "" },
    { name: "body null", body: () => null, field: "" },
  ];

  it.each(cases)("$name", async ({ body, field }) => {
    const res = await post(body());
    const problem = await expectProblem(res, 422);
    const fields = (problem.errors ?? []).map((e) => e.field);
    const wanted = typeof field === "string" ? [field] : field;
    expect(fields.some((f) => wanted.includes(f)), `errors ${JSON.stringify(problem.errors)} should name ${wanted.join(" or ")}`).toBe(true);
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("names every bad field at once", async () => {
    const problem = await expectProblem(
      await post({ id: "a b", title: "", url: "javascript:x", published_at: "2024-02-30T00:00:00Z", summary: "s", authors: [{ name: "ok" }, {}], tags: ["t".repeat(201)], colour: 1 }),
      422,
    );
    const fields = (problem.errors ?? []).map((e) => e.field).sort();
    expect(fields).toEqual(["/authors/1/name", "/colour", "/id", "/published_at", "/tags/0", "/title", "/url"]);
  });

  it("limits are inclusive: 1000-character title, 10000-character summary, 20 authors, 50 terms of 200, 20 attachments, 200-character id", async () => {
    const id = "i".repeat(200);
    const res = await post(
      newArticle({
        id,
        title: "ت".repeat(1000),
        summary: "s".repeat(10_000),
        authors: many(20, (i) => ({ name: `A${i}` })),
        categories: many(50, (i) => `${i}`.padEnd(200, "c")),
        tags: many(50, (i) => `${i}`.padEnd(200, "t")),
        attachments: many(20, (i) => ({ url: `https://nisan.example/${i}.mp3`, mime_type: "audio/mpeg" })),
      }),
    );
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.id).toBe(id);
    expect([...(body.title as string)].length).toBe(1000);
    expect((body.summary as string).length).toBe(10_000);
    expect((body.authors as unknown[]).length).toBe(20);
    expect((body.categories as unknown[]).length).toBe(50);
    expect((body.tags as unknown[]).length).toBe(50);
    expect((body.attachments as unknown[]).length).toBe(20);
  });

  it("the title limit counts characters after cleaning", async () => {
    const tagged = await post(newArticle({ id: "tagged", title: `<b>${"a".repeat(1000)}</b>` }));
    expect(tagged.status).toBe(201);
    expect((await jsonOf(tagged)).title).toBe("a".repeat(1000));
    const controls = await post(newArticle({ id: "controls", title: `${"a".repeat(1000)}\u0001\u0085` }));
    expect(controls.status).toBe(201);
    expect((await jsonOf(controls)).title).toBe("a".repeat(1000));
    // Astral characters count once each.
    const emoji = await post(newArticle({ id: "emoji", title: "😀".repeat(1000) }));
    expect(emoji.status).toBe(201);
  });

  it("published_at up to 5 minutes ahead is accepted; a millisecond more is 422", async () => {
    const res = await post(newArticle({ published_at: new Date(START + 4 * 60_000).toISOString() }));
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).published_at).toBe(at(4 * 60_000));
    const edge = await post(newArticle({ id: "edge", published_at: new Date(START + 5 * 60_000).toISOString() }));
    expect(edge.status).toBe(201);
    expect((await jsonOf(edge)).published_at).toBe(at(5 * 60_000));
    await expectInvalid(await post(newArticle({ id: "past-edge", published_at: new Date(START + 5 * 60_000 + 1).toISOString() })), "/published_at");
    // The clock moves: what was too far ahead is fine later.
    h.advance(60_000);
    expect((await post(newArticle({ id: "past-edge", published_at: new Date(START + 5 * 60_000 + 1).toISOString() }))).status).toBe(201);
  });

  it("ids may use every printable ASCII character but / ? # %", async () => {
    const id = "!\"$&'()*+,-.0123456789:;<=>@ABCXYZ[\\]^_`abcxyz{|}~";
    const res = await post(newArticle({ id }));
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).id).toBe(id);
    expect((await stored(id)).id).toBe(id);
    for (const ok of ["...", ".a", "a.", "x".repeat(200)]) {
      expect((await post(newArticle({ id: ok }))).status, ok).toBe(201);
      expect((await stored(ok)).id).toBe(ok);
    }
  });

  it("keys that begin with _ are ignored, at every level", async () => {
    const res = await post(
      newArticle({
        _private: { secret: true },
        _: 1,
        authors: [{ name: "A", _cms_id: 9 }],
        image: { url: "https://nisan.example/i.jpg", _w: 5 },
        attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg", _x: 1 }],
      }),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(
      storedArticle({
        authors: [{ name: "A" }],
        image: { url: "https://nisan.example/i.jpg" },
        attachments: [{ url: "https://nisan.example/a.mp3", mime_type: "audio/mpeg" }],
      }),
    );
  });

  it("__proto__ keys are ignored and pollute nothing", async () => {
    const raw =
      '{"__proto__": {"polluted": "yes", "title": "Injected", "isAdmin": true}, "id": "proto", "title": "Real", "url": "https://nisan.example/p", ' +
      '"published_at": "2024-06-19T11:49:00Z", "summary": "s", "authors": [{"name": "A", "__proto__": {"email": "x@evil.example"}}]}';
    const res = await postRaw(raw);
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.title).toBe("Real");
    expect(body.authors).toEqual([{ name: "A" }]);
    expect(Object.prototype.hasOwnProperty.call(body, "polluted")).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(body, "__proto__")).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(await stored("proto")).toEqual(body);
    // Without a title of its own, a __proto__ title does not count.
    const noTitle = raw.replace('"title": "Real", ', "").replace('"id": "proto"', '"id": "proto-2"');
    await expectInvalid(await postRaw(noTitle), "/title");
  });
});

describe("cleaning", () => {
  it("NFC: decomposed text comes back composed, in every text field", async () => {
    const decomposed = "Cafe\u0301 \u0627\u0653";
    const composed = "Caf\u00e9 \u0622";
    expect(decomposed).not.toBe(composed);
    const res = await post(
      newArticle({ title: decomposed, summary: decomposed, content_text: decomposed, tags: [decomposed], authors: [{ name: decomposed }] }),
    );
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.title).toBe(composed);
    expect(body.summary).toBe(composed);
    expect(body.content_text).toBe(composed);
    expect(body.tags).toEqual([composed]);
    expect(body.authors).toEqual([{ name: composed }]);
  });

  it("removes XML-illegal characters, C1 controls and lone surrogates, and keeps LRM/RLM", async () => {
    const raw = JSON.stringify(newArticle()).replace(
      '"title":"Plain title"',
      '"title":"a\\u0001b\\u0008c\\u000bd\\u001fe\\u0085f\\u009fg\\ud800h\\udfffi\\ufffej\\uffffk \\u200eL\\u200fM \\ud83d\\ude00"',
    );
    expect(raw).toContain("\\ud800");
    const res = await postRaw(raw);
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.title).toBe("abcdefghijk \u200eL\u200fM \u{1F600}");
  });

  it("cleans summary and content_text the same way, keeping line breaks in content_text", async () => {
    const raw = JSON.stringify(newArticle({ content_text: "X" }))
      .replace('"summary":"A summary."', '"summary":"s\\u0000u\\u0086m"')
      .replace('"content_text":"X"', '"content_text":"line 1\\nline\\u0002 2\\ud800"');
    const res = await postRaw(raw);
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.summary).toBe("sum");
    expect(body.content_text).toBe("line 1\nline 2");
  });

  it("titles and summaries are plain text: tags removed, entities decoded", async () => {
    const res = await post(
      newArticle({
        title: "<b>Tom &amp; Jerry</b> &lt;3 &quot;q&quot; &#1575;&#x644; <script>x</script>",
        summary: "<p>One</p><p>Two &nbsp;&eacute;</p>",
      }),
    );
    expect(res.status).toBe(201);
    const body = await jsonOf(res);
    expect(body.title).toBe('Tom & Jerry <3 "q" ال');
    expect(body.summary as string).toMatch(/^One\s+Two\s+é$/);
    expect(body.title as string).not.toContain("<b>");
    expect(body.title as string).not.toContain("script");
  });

  it("content_html: dangerous elements go with their content, on* and javascript: go, relative URLs become absolute", async () => {
    const res = await post(
      newArticle({
        content_html:
          '<p onclick="steal()" onmouseover="x()">Hi<script>alert("s")</script><style>p{color:red}</style>' +
          '<iframe src="https://evil.example/">framed</iframe> <a href="javascript:alert(1)">bad</a> ' +
          '<a href="/rel/path" onfocus="y()">rel</a> <img src="img.png" onerror="z()"></p>' +
          '<object data="x.swf">obj</object><embed src="e.swf"><form action="/f"><input name="q">formtext</form>' +
          "<!-- a secret comment -->" +
          '<a href="vbscript:msgbox(1)">v</a><a href="data:text/html,hi">d</a><img src="data:image/png;base64,AAAA">' +
          '<a href="JaVaScRiPt:alert(1)">x</a><a href="java&#x09;script:alert(1)">y</a><a href="../up">up</a>',
      }),
    );
    expect(res.status).toBe(201);
    const html = (await jsonOf(res)).content_html as string;
    for (const gone of ["script", "alert", "style", "color:red", "iframe", "framed", "evil.example", "onclick", "onmouseover", "onfocus", "onerror", "steal", "object", "x.swf", "obj", "embed", "e.swf", "form", "formtext", "input", "secret comment", "<!--", "javascript", "vbscript", "data:"]) {
      expect(html.toLowerCase(), gone).not.toContain(gone.toLowerCase());
    }
    expect(html).toContain('<a href="https://nisan.example/rel/path">rel</a>');
    expect(html).toContain('src="https://nisan.example/ar/news/img.png"');
    expect(html).toContain('<a href="https://nisan.example/ar/up">up</a>');
    expect(html).toContain("Hi");
    expect(html).toContain(">bad</a>");
    expect(await stored("a-1")).toMatchObject({ content_html: html });
  });

  it("content_html: relative URLs resolve against the article url", async () => {
    const res = await post(
      newArticle({ url: "https://other.example/deep/dir/page.html", content_html: '<p><a href="sib.html">s</a> <a href="?q=1">q</a> <a href="#top">t</a> <img src="//cdn.example/i.png"></p>' }),
    );
    expect(res.status).toBe(201);
    const html = (await jsonOf(res)).content_html as string;
    expect(html).toContain('href="https://other.example/deep/dir/sib.html"');
    expect(html).toContain('href="https://other.example/deep/dir/page.html?q=1"');
    expect(html).toContain('href="https://other.example/deep/dir/page.html#top"');
    expect(html).toContain('src="https://cdn.example/i.png"');
  });

  it("content_html that is empty after sanitising does not count as a body", async () => {
    const res = await post(without(newArticle({ content_html: "<script>only()</script>" }), "summary"));
    await expectProblem(res, 422);
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("URLs are answered in normalised form", async () => {
    const res = await post(newArticle({ url: "HTTPS://Nisan.Example:443/ar/news/a-1" }));
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).url).toBe("https://nisan.example/ar/news/a-1");
  });
});

describe("request bodies", () => {
  it("400 for JSON that does not parse or is truncated", async () => {
    const full = JSON.stringify(newArticle());
    for (const raw of ["{not json", full.slice(0, full.length - 1), full.slice(0, 20), "", " ", "{'id': 'a-1'}", `${full}}`, `${full} x`]) {
      await expectProblem(await postRaw(raw), 400);
    }
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("400 for bytes that are not UTF-8", async () => {
    const encoder = new TextEncoder();
    const [head, tail] = JSON.stringify(newArticle()).split("Plain title") as [string, string];
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const bytes = new Uint8Array([...encoder.encode(head), ...bad, ...encoder.encode(tail)]);
      await expectProblem(await postRaw(bytes), 400);
    }
    // The same frame with valid UTF-8 bytes is accepted.
    const good = new Uint8Array([...encoder.encode(head), 0xd8, 0xaa, ...encoder.encode(tail)]);
    const res = await postRaw(good);
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).title).toBe("ت");
  });

  it("415 unless the Content-Type is application/json", async () => {
    const raw = JSON.stringify(newArticle());
    await expectProblem(await withKey(h, "POST", ARTICLES, key, undefined, { raw, contentType: "text/plain" }), 415);
    await expectProblem(await withKey(h, "POST", ARTICLES, key, undefined, { raw, contentType: "application/x-www-form-urlencoded" }), 415);
    await expectProblem(await withKey(h, "POST", ARTICLES, key, undefined, { raw, contentType: "application/jsonx" }), 415);
    // No Content-Type at all (a byte body gets none by default).
    const bytes = new TextEncoder().encode(raw);
    await expectProblem(await withKey(h, "POST", ARTICLES, key, undefined, { raw: bytes, contentType: null }), 415);
    await expectProblem(await withKey(h, "PUT", `${ARTICLES}/a-1`, key, undefined, { raw, contentType: "text/plain" }), 415);
    await expectProblem(await withKey(h, "POST", EVENTS, key, undefined, { raw, contentType: "text/plain" }), 415);
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });

  it("application/json with parameters and in any case is accepted", async () => {
    const raw = JSON.stringify(newArticle());
    expect((await withKey(h, "POST", ARTICLES, key, undefined, { raw, contentType: "application/json; charset=utf-8" })).status).toBe(201);
    expect((await withKey(h, "POST", ARTICLES, key, undefined, { raw, contentType: "Application/JSON" })).status).toBe(200);
  });

  it("413 for a body over 1 MiB", async () => {
    const body = JSON.stringify(newArticle({ content_text: "a".repeat(1024 * 1024) }));
    expect(body.length).toBeGreaterThan(1024 * 1024);
    await expectProblem(await postRaw(body), 413);
    await expectProblem(await postRaw(new TextEncoder().encode(body)), 413);
    // The cap is on the body itself, even when the article inside would be small.
    const padded = JSON.stringify(newArticle({ _padding: "p".repeat(1024 * 1024) }));
    await expectProblem(await postRaw(padded), 413);
    const spaced = JSON.stringify(newArticle()) + " ".repeat(1024 * 1024);
    await expectProblem(await postRaw(spaced), 413);
    expect(await listIds(h, "nisan", key)).toEqual([]);
    // Just under the cap is read, and the ignored padding does not count toward the article.
    const under = JSON.stringify(newArticle({ _padding: "p".repeat(1024 * 1024 - 300) }));
    expect(under.length).toBeLessThanOrEqual(1024 * 1024);
    const res = await postRaw(under);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(storedArticle());
  });

  it("413 for a normalised article over 100 KiB sent in a body under 1 MiB", async () => {
    const body = JSON.stringify(newArticle({ content_text: "a".repeat(150 * 1024) }));
    expect(body.length).toBeLessThan(1024 * 1024);
    await expectProblem(await postRaw(body), 413);
    // The cap is in UTF-8 bytes: 60,000 Arabic letters are 120,000 bytes.
    await expectProblem(await post(newArticle({ content_text: "ت".repeat(60_000) })), 413);
    expect(await listIds(h, "nisan", key)).toEqual([]);
    // Under the cap is fine.
    expect((await post(newArticle({ content_text: "a".repeat(90 * 1024) }))).status).toBe(201);
  });

  it("JSON nested 10,000 deep is a 4xx, never a 5xx", async () => {
    const depth = 10_000;
    const bodies: string[] = [
      "[".repeat(depth) + "]".repeat(depth),
      '{"a":'.repeat(depth) + "1" + "}".repeat(depth),
      JSON.stringify(newArticle()).replace('"Plain title"', "[".repeat(depth) + "]".repeat(depth)),
      JSON.stringify(newArticle()).replace('"summary":"A summary."', `"_ext":${'{"a":'.repeat(depth)}1${"}".repeat(depth)},"summary":"s"`),
      JSON.stringify(newArticle()).replace('"A summary."', "[".repeat(depth) + "]".repeat(depth)),
    ];
    // Near the 1 MiB cap: half a million levels.
    bodies.push("[".repeat(500_000) + "]".repeat(500_000));
    for (const raw of bodies) {
      expect(raw).not.toBe(JSON.stringify(newArticle()));
      const res = await postRaw(raw);
      if (res.status !== 201) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        await expectProblem(res, res.status);
      }
    }
  });

  it("deeply nested HTML in content_html is accepted and flattened", async () => {
    const html = "<div>".repeat(10_000) + "deep" + "</div>".repeat(10_000);
    const res = await post(newArticle({ content_html: html }));
    expect(res.status).toBe(201);
    expect((await jsonOf(res)).content_html as string).toContain("deep");
  });

  it("100,000 tags is 422 naming /tags", async () => {
    const tags = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    const body = JSON.stringify(newArticle({ tags }));
    expect(body.length).toBeLessThan(1024 * 1024);
    await expectInvalid(await postRaw(body), "/tags");
    expect(await listIds(h, "nisan", key)).toEqual([]);
  });
});

describe("a refused request leaves the store unchanged", () => {
  it("after 400, 401, 403, 404, 413, 415 and 422 the article, the list and the site version are as before", async () => {
    const original = await jsonOf(await post(newArticle()));
    const version = await siteVersion();
    const other = await h.createSite("ayyar", { ...seedSite(), slug: "ayyar" });
    const versionAfterOther = await siteVersion();
    expect(versionAfterOther).toBe(version);

    const newer = (overrides: Json = {}) => newArticle({ title: "Changed", updated_at: "2024-06-21T00:00:00Z", ...overrides });
    const refusals: [number, () => Promise<Response>][] = [
      [400, () => postRaw(JSON.stringify(newer()).slice(0, -2))],
      [401, () => withKey(h, "POST", ARTICLES, `${key}x`, newer())],
      [401, () => h.request(ARTICLES, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(newer()) })],
      [403, () => withKey(h, "POST", ARTICLES, other.api_key, newer())],
      [404, () => withKey(h, "POST", "/v1/sites/tishreen/articles", key, newer())],
      [413, () => post(newer({ content_text: "x".repeat(150 * 1024) }))],
      [413, () => post(newer({ content_text: "x".repeat(1024 * 1024 + 1) }))],
      [415, () => withKey(h, "POST", ARTICLES, key, undefined, { raw: JSON.stringify(newer()), contentType: "text/plain" })],
      [422, () => post(newer({ url: "javascript:alert(1)" }))],
      [422, () => post(newer({ colour: "red" }))],
      [422, () => put("a-1", newer({ id: "a-2" }))],
      [422, () => event("article.exploded", newer())],
      [422, () => event("article.updated", newer({ tags: [""] }))],
      [422, () => event("article.deleted", { id: "a/1" })],
      [403, () => withKey(h, "DELETE", `${ARTICLES}/a-1`, other.api_key)],
      [401, () => withKey(h, "DELETE", `${ARTICLES}/a-1`, "nope")],
    ];
    for (const [status, send] of refusals) {
      await expectProblem(await send(), status);
      expect(await stored("a-1")).toEqual(original);
      expect(await listIds(h, "nisan", key)).toEqual(["a-1"]);
      expect(await siteVersion()).toBe(version);
    }
  });
});

describe("publisher credentials on reads", () => {
  it("GET of an article and of the list need the site's credentials", async () => {
    await post(newArticle());
    await expectProblem(await h.request(`${ARTICLES}/a-1`), 401);
    await expectProblem(await h.request(ARTICLES), 401);
    await expectProblem(await withKey(h, "GET", ARTICLES, "garbage"), 401);
  });
});
