// WebSub end to end: hub discovery in every feed response (Link headers on 200 and 304, atom:link
// rel=hub, JSON Feed hubs), and publish pings to a real hub (node:http on 127.0.0.1) after each
// change, through the Node retry queue and through the Workers/Lambda notifier with waitUntil.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Hono } from "hono";
import { signWebhook } from "../../src/core/auth.ts";
import { createApp } from "../../src/http/app.ts";
import type { HubNotifier } from "../../src/http/deps.ts";
import { type HubQueue, createHubQueue } from "../../src/platform/hub-queue.ts";
import { type AttemptNotifier, createAttemptNotifier } from "../../src/platform/websub.ts";
import { BASE_URL, type Harness, createHarness, seedArticle, seedSite } from "./harness.ts";
import { type TestHub, startHub } from "./test-hub.ts";

type Json = Record<string, unknown>;

const FILES = ["rss.xml", "atom.xml", "feed.json"] as const;
const SECRET_QUERY = "token=s3cret-hub-token";

/** The feed URLs an article with these names appears in, built here independently of src. */
function feedsOf(names: { categories?: string[]; tags?: string[]; authors?: string[] }): string[] {
  const paths = [
    "",
    ...(names.categories ?? []).map((n) => `/categories/${encodeURIComponent(n)}`),
    ...(names.tags ?? []).map((n) => `/tags/${encodeURIComponent(n)}`),
    ...(names.authors ?? []).map((n) => `/authors/${encodeURIComponent(n)}`),
  ];
  return [...new Set(paths.flatMap((p) => FILES.map((f) => `${BASE_URL}/nisan${p}/${f}`)))].sort();
}

const SEED_FEEDS = feedsOf({
  categories: ["سياسة", "دولي"],
  tags: ["روسيا", "كوريا الشمالية", "بوتين", "كيم جونغ أون"],
  authors: ["نيسان"],
});

/** `Link` header entries as [url, rel]. */
function links(res: Response): [string, string][] {
  const header = res.headers.get("link") ?? "";
  return [...header.matchAll(/<([^>]*)>\s*;\s*rel="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]);
}

/** `<link …>` / `<atom:link …>` elements of an XML feed as attribute maps. */
function xmlLinks(xml: string): Record<string, string>[] {
  return [...xml.matchAll(/<(?:atom:)?link\b([^>]*)\/?>/g)].map((m) => Object.fromEntries([...(m[1] ?? "").matchAll(/([a-z:]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])));
}

const sorted = (urls: readonly string[]) => [...urls].sort();

interface World {
  h: Harness;
  app: Hono;
  logs: Json[];
  apiKey: string;
  webhookSecret: string;
}

async function world(hubs: HubNotifier | undefined, websubHubs: string[]): Promise<World> {
  const h = await createHarness();
  const logs: Json[] = [];
  const app = createApp({ ...h.deps, log: (e) => logs.push(e), ...(hubs ? { hubs } : {}) });
  const created = await h.createSite("nisan", { ...seedSite(), websub_hubs: websubHubs });
  return { h, app, logs, apiKey: created.api_key, webhookSecret: created.webhook_secret };
}

function send(w: World, method: string, path: string, body?: unknown, ctx?: ExecutionContextLike): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${w.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const request = new Request(`http://localhost${path}`, init);
  return Promise.resolve(ctx ? w.app.fetch(request, undefined, ctx) : w.app.fetch(request));
}

async function signedSend(w: World, path: string, body: unknown, id: string): Promise<Response> {
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(w.h.now() / 1000));
  const signature = await signWebhook(w.webhookSecret, id, timestamp, new TextEncoder().encode(text));
  return w.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature },
    body: text,
  });
}

/** What Workers hands to fetch: here it only collects the background work. */
interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: unknown;
}
function executionContext(): ExecutionContextLike & { work: Promise<unknown>[] } {
  const work: Promise<unknown>[] = [];
  return { work, waitUntil: (p) => void work.push(p), passThroughOnException: () => undefined, props: {} };
}

describe("hub discovery in feed responses", () => {
  let w: World;
  const hubs = ["https://hub.example/", `https://hub2.example/websub?${SECRET_QUERY}`];

  beforeEach(async () => {
    w = await world(undefined, hubs);
    const res = await w.h.publish("nisan", w.apiKey, seedArticle());
    expect(res.status).toBe(201);
  });
  afterEach(() => w.h.close());

  it("announces every hub and the exact self URL in Link headers, on 200 and on 304", async () => {
    const paths = ["/nisan/rss.xml", "/nisan/atom.xml?limit=5", `/nisan/categories/${encodeURIComponent("سياسة")}/feed.json`, `/nisan/tags/${encodeURIComponent("كوريا الشمالية")}/rss.xml?limit=2`];
    for (const path of paths) {
      const res = await w.h.request(path);
      expect(res.status, path).toBe(200);
      expect(links(res)).toEqual([...hubs.map((hub) => [hub, "hub"]), [`${BASE_URL}${path}`, "self"]]);
      expect(res.headers.get("access-control-expose-headers")).toContain("Link");

      const etag = res.headers.get("etag") ?? "";
      const again = await w.h.request(path, { headers: { "if-none-match": etag } });
      expect(again.status, path).toBe(304);
      expect(again.headers.get("link")).toBe(res.headers.get("link"));
    }
  });

  it("the Link self is the body's self link; hubs are atom:link rel=hub in RSS, link rel=hub in Atom, hubs in JSON Feed", async () => {
    const rss = await w.h.request("/nisan/rss.xml?limit=3");
    const rssLinks = xmlLinks(await rss.text());
    expect(rssLinks.filter((l) => l.rel === "hub").map((l) => l.href)).toEqual(hubs.map((h) => h.replace(/&/g, "&amp;")));
    expect(rssLinks.find((l) => l.rel === "self")?.href).toBe(links(rss).find(([, rel]) => rel === "self")?.[0]);

    const atomPath = `/nisan/categories/${encodeURIComponent("دولي")}/atom.xml`;
    const atom = await w.h.request(atomPath);
    const atomLinks = xmlLinks(await atom.text());
    expect(atomLinks.filter((l) => l.rel === "hub").map((l) => l.href)).toEqual(hubs);
    expect(atomLinks.find((l) => l.rel === "self")?.href).toBe(`${BASE_URL}${atomPath}`);
    expect(links(atom).find(([, rel]) => rel === "self")?.[0]).toBe(`${BASE_URL}${atomPath}`);

    const json = await w.h.request("/nisan/feed.json");
    const feed = (await json.json()) as { feed_url: string; hubs: { type: string; url: string }[] };
    expect(feed.hubs).toEqual(hubs.map((url) => ({ type: "WebSub", url })));
    expect(links(json).find(([, rel]) => rel === "self")?.[0]).toBe(feed.feed_url);
  });

  it("a site without hubs still names its self URL, and no hub", async () => {
    await w.h.admin("PUT", "/v1/sites/nisan", { ...seedSite(), websub_hubs: [] });
    const res = await w.h.request("/nisan/atom.xml");
    expect(links(res)).toEqual([[`${BASE_URL}/nisan/atom.xml`, "self"]]);
    expect(xmlLinks(await res.text()).filter((l) => l.rel === "hub")).toEqual([]);
  });
});

describe("publish pings through the Node queue", () => {
  let hub: TestHub;
  let queue: HubQueue;
  let w: World;

  beforeEach(async () => {
    hub = await startHub();
    queue = createHubQueue({ log: (e) => w.logs.push(e), firstRetryMs: 20, random: () => 0, timeoutMs: 60_000 });
    w = await world(queue, [`${hub.url}?${SECRET_QUERY}`]);
  });
  afterEach(async () => {
    await queue.close(0);
    await hub.close();
    await w.h.close();
  });

  /** Waits for the `n`th ping and for the queue to have nothing in flight. */
  const ping = async (n: number) => {
    await hub.received(n);
    await queue.idle();
    const request = hub.requests[n - 1];
    if (!request) throw new Error(`no ping ${n}`);
    return request;
  };

  it("a publish pings the hub with hub.mode=publish and every changed feed URL, each exactly a served self link", async () => {
    const res = await send(w, "POST", "/v1/sites/nisan/articles", seedArticle());
    expect(res.status).toBe(201);
    const request = await ping(1);
    expect(request.method).toBe("POST");
    expect(request.path).toBe(`/hub?${SECRET_QUERY}`);
    expect(request.contentType).toBe("application/x-www-form-urlencoded");
    expect(request.mode).toBe("publish");
    expect(sorted(request.urls)).toEqual(SEED_FEEDS);
    // The Arabic names travel percent-encoded, as in the feeds' own self links.
    expect(request.urls).toContain(`${BASE_URL}/nisan/categories/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/rss.xml`);
    expect(request.body).toContain("hub.url=https%3A%2F%2Ffeeds.nisan.example%2Fnisan%2Fcategories%2F%25D8%25B3");
    for (const url of request.urls) {
      const feed = await w.app.request(url.slice(BASE_URL.length));
      expect(feed.status, url).toBe(200);
      expect(links(feed).find(([, rel]) => rel === "self")?.[0]).toBe(url);
    }
    expect(hub.requests).toHaveLength(1);
  });

  it("an edit that moves the article pings the feeds it left and the feeds it joined", async () => {
    const first = { ...seedArticle(), categories: ["اقتصاد"], tags: ["نفط"], authors: [{ name: "سلمى" }] };
    expect((await send(w, "POST", "/v1/sites/nisan/articles", first)).status).toBe(201);
    expect(sorted((await ping(1)).urls)).toEqual(feedsOf({ categories: ["اقتصاد"], tags: ["نفط"], authors: ["سلمى"] }));

    const moved = { ...first, updated_at: "2024-06-20T08:00:00Z", categories: ["رياضة"], tags: ["نفط"], authors: [{ name: "ليلى" }] };
    expect((await send(w, "PUT", `/v1/sites/nisan/articles/${String(seedArticle().id)}`, moved)).status).toBe(200);
    expect(sorted((await ping(2)).urls)).toEqual(feedsOf({ categories: ["رياضة", "اقتصاد"], tags: ["نفط"], authors: ["ليلى", "سلمى"] }));
  });

  it("a delete pings the main feeds and the deleted article's feeds", async () => {
    expect((await send(w, "POST", "/v1/sites/nisan/articles", seedArticle())).status).toBe(201);
    await ping(1);
    expect((await send(w, "DELETE", `/v1/sites/nisan/articles/${String(seedArticle().id)}`)).status).toBe(204);
    expect(sorted((await ping(2)).urls)).toEqual(SEED_FEEDS);
    // A delete of an unknown id changes nothing: 404, no ping (checked by the next, distinct ping).
    expect((await send(w, "DELETE", "/v1/sites/nisan/articles/nothing-here")).status).toBe(404);
    expect((await send(w, "POST", "/v1/sites/nisan/articles", { ...seedArticle(), id: "b", categories: ["b"], tags: [], authors: [] })).status).toBe(201);
    expect(sorted((await ping(3)).urls)).toEqual(feedsOf({ categories: ["b"] }));
    expect(hub.requests).toHaveLength(3);
  });

  it("the events route pings for article.published, article.updated and article.deleted", async () => {
    const article = { ...seedArticle(), categories: ["أ"], tags: [], authors: [] };
    expect((await send(w, "POST", "/v1/sites/nisan/events", { type: "article.published", data: article })).status).toBe(201);
    expect(sorted((await ping(1)).urls)).toEqual(feedsOf({ categories: ["أ"] }));
    const updated = { ...article, updated_at: "2024-06-21T00:00:00Z", categories: ["ب"] };
    expect((await send(w, "POST", "/v1/sites/nisan/events", { type: "article.updated", data: updated })).status).toBe(200);
    expect(sorted((await ping(2)).urls)).toEqual(feedsOf({ categories: ["ب", "أ"] }));
    expect((await send(w, "POST", "/v1/sites/nisan/events", { type: "article.deleted", data: { id: seedArticle().id } })).status).toBe(204);
    expect(sorted((await ping(3)).urls)).toEqual(feedsOf({ categories: ["ب"] }));
  });

  it("a stale update, an unchanged re-publish and a replayed webhook send no ping", async () => {
    const article = { ...seedArticle(), updated_at: "2024-06-20T00:00:00Z" };
    expect((await send(w, "POST", "/v1/sites/nisan/articles", article)).status).toBe(201);
    await ping(1);

    const stale = await send(w, "POST", "/v1/sites/nisan/articles", { ...article, title: "older", updated_at: "2024-06-19T23:00:00Z" });
    expect(stale.status).toBe(200);
    expect(((await stale.json()) as Json).title).toBe(seedArticle().title);
    expect((await send(w, "POST", "/v1/sites/nisan/articles", article)).status).toBe(200);
    const newer = { ...article, id: "replayed", categories: ["r"], tags: [], authors: [] };
    expect((await signedSend(w, "/v1/sites/nisan/articles", newer, "msg_once")).status).toBe(201);
    expect(sorted((await ping(2)).urls)).toEqual(feedsOf({ categories: ["r"] }));
    expect((await signedSend(w, "/v1/sites/nisan/articles", newer, "msg_once")).status).toBe(201);
    expect(queue.size).toBe(0);

    // A distinct change now: had any of the above pinged, it would show as an extra request or
    // (merged into this one) as extra URLs.
    expect((await send(w, "POST", "/v1/sites/nisan/articles", { ...article, id: "sentinel", categories: ["s"], tags: [], authors: [] })).status).toBe(201);
    expect(sorted((await ping(3)).urls)).toEqual(feedsOf({ categories: ["s"] }));
    await queue.idle();
    expect(hub.requests).toHaveLength(3);
  });

  it("a hub that answers 500 twice is retried and finally gets the ping; failures are logged without secrets", async () => {
    hub.failNext(2, 500);
    const res = await send(w, "POST", "/v1/sites/nisan/articles", seedArticle());
    expect(res.status).toBe(201);
    await ping(3);
    expect(hub.requests.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect(hub.requests.every((r) => sorted(r.urls).join() === SEED_FEEDS.join())).toBe(true);
    expect(queue.size).toBe(0);
    const failures = w.logs.filter((e) => e.event === "websub.failed");
    expect(failures).toMatchObject([
      { hub: hub.url, sites: ["nisan"], attempt: 1, status: 500 },
      { hub: hub.url, sites: ["nisan"], attempt: 2, status: 500 },
    ]);
    const logText = JSON.stringify(w.logs);
    expect(logText).not.toContain("s3cret");
    expect(logText).not.toContain(w.apiKey);
  });

  it("the publisher's answer does not wait for a hub that never answers", async () => {
    hub.hang();
    const res = await send(w, "POST", "/v1/sites/nisan/articles", seedArticle());
    expect(res.status).toBe(201);
    await hub.received(1);
    // The publish has been answered while the hub still holds the ping's request open (and the
    // queue would wait a minute for it): the answer never depended on the hub.
    expect(hub.open()).toBe(1);
    expect(queue.size).toBe(1);
    const again = await send(w, "GET", `/v1/sites/nisan/articles/${String(seedArticle().id)}`);
    expect(again.status).toBe(200);
    expect(hub.open()).toBe(1);
  });
});

describe("publish pings on Workers and Lambda: at most 3 attempts within the request", () => {
  let hub: TestHub;
  let notifier: AttemptNotifier;
  let w: World;

  beforeEach(async () => {
    hub = await startHub();
    notifier = createAttemptNotifier({ log: (e) => w.logs.push(e), backoffMs: [5, 10], timeoutMs: 2_000 });
    w = await world(notifier, [hub.url]);
  });
  afterEach(async () => {
    await notifier.settled();
    await hub.close();
    await w.h.close();
  });

  it("hands the delivery to waitUntil; a hub failing twice gets the ping on the third attempt", async () => {
    hub.failNext(2, 503);
    const ctx = executionContext();
    const res = await send(w, "POST", "/v1/sites/nisan/articles", seedArticle(), ctx);
    expect(res.status).toBe(201);
    expect(ctx.work).toHaveLength(1);
    await Promise.all(ctx.work);
    expect(hub.requests.map((r) => r.answered)).toEqual([503, 503, 204]);
    expect(sorted(hub.requests[2]?.urls ?? [])).toEqual(SEED_FEEDS);
    expect(w.logs.filter((e) => e.event === "websub.failed")).toMatchObject([{ attempt: 1, status: 503 }, { attempt: 2, status: 503 }]);
  });

  it("stops after 3 attempts and logs the ping as abandoned", async () => {
    hub.failNext(10, 500);
    const ctx = executionContext();
    expect((await send(w, "POST", "/v1/sites/nisan/articles", seedArticle(), ctx)).status).toBe(201);
    await Promise.all(ctx.work);
    expect(hub.requests).toHaveLength(3);
    expect(w.logs.filter((e) => e.event === "websub.abandoned")).toMatchObject([{ site: "nisan", hub: hub.url, attempt: 3, status: 500 }]);
  });

  it("no change, no background work: a stale update hands nothing to waitUntil", async () => {
    const article = { ...seedArticle(), updated_at: "2024-06-20T00:00:00Z" };
    const first = executionContext();
    expect((await send(w, "POST", "/v1/sites/nisan/articles", article, first)).status).toBe(201);
    await Promise.all(first.work);
    const stale = executionContext();
    expect((await send(w, "POST", "/v1/sites/nisan/articles", { ...article, updated_at: "2024-06-19T20:00:00Z" }, stale)).status).toBe(200);
    const same = executionContext();
    expect((await send(w, "POST", "/v1/sites/nisan/articles", article, same)).status).toBe(200);
    expect(stale.work).toEqual([]);
    expect(same.work).toEqual([]);
    expect(hub.requests).toHaveLength(1);
  });

  it("without an ExecutionContext (Lambda) the answer comes first and settled() waits for the ping", async () => {
    hub.hang();
    const hanging = createAttemptNotifier({ log: (e) => w.logs.push(e), attempts: 1, timeoutMs: 60_000 });
    const lambda = createApp({ ...w.h.deps, hubs: hanging });
    const res = await lambda.request("/v1/sites/nisan/articles", {
      method: "POST",
      headers: { authorization: `Bearer ${w.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(seedArticle()),
    });
    expect(res.status).toBe(201);
    await hub.received(1);
    expect(hub.open()).toBe(1);
    let settled = false;
    const waiting = hanging.settled().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    // The hub closes the connection: the attempt fails, is logged, and the wait ends.
    await hub.close();
    await waiting;
    expect(w.logs.filter((e) => e.event === "websub.abandoned")).toMatchObject([{ attempt: 1 }]);
  });
});
