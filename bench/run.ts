// `npm run bench`: every figure is a ratio of two things measured side by side in this one run
// (the machine is shared and noisy, so absolute times are context, never pass/fail). Writes
// bench/results.md. Traffic goes to 127.0.0.1 only; every phase is bounded in time.
//
//   1. Rendering: ours vs `feed` and `feedsmith`, full render and assembly from cached fragments.
//   2. Warm GET of a 50-item Arabic feed: functions/node.ts vs plain node:http with the same bytes.
//   3. 304 from the ETag: functions/node.ts vs a minimal node:http 304 responder.
//   4. Cold rebuild latency with 1,000 vs 100,000 articles stored (SQLite).
//   5. Publish throughput: signed webhooks over HTTP into SQLite.
//   6. Memory: the server's RSS with 100,000 articles and 1,000 hot feeds; cache bounds held.

import { closeSync, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { encodeCursor } from "../src/core/feed.ts";
import { createApp } from "../src/http/app.ts";
import { createMemoryFeedCache } from "../src/store/cache/memory.ts";
import { createMemoryFragmentCache } from "../src/store/cache/fragments.ts";
import type { FeedCacheStats } from "../src/store/cache/port.ts";
import { createSqliteStore } from "../src/store/sqlite.ts";
import { nodeCompress } from "../src/platform/node.ts";
import { articleId, benchArticle, benchSite, publishedAt, ROOT, seedArticleInput, seedSiteInput } from "./fixtures.ts";
import { ADMIN_TOKEN, BASE_URL, cannon, cpuMs, loadGenerator, memoryOf, percentile, rawRequest, startNashir, startPlain, type BaselineMode, type CannonResult, type Child } from "./http.ts";
import { checkSigner, webhookPublisher } from "./publish-client.ts";
import { renderSection, type RenderRow } from "./render.ts";

const started = Date.now();
const quick = process.env.BENCH_QUICK === "1";
/** BENCH_ONLY=render,http,scale,publish,memory runs those sections only and prints them (bench/results.md is left alone). */
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim())) : undefined;
const runs = (section: string): boolean => only === undefined || only.has(section);
const SECONDS = quick ? 2 : 5;
// Four ABBA rounds: on this shared machine one 5 s run of the same server varies by up to ±10%.
const ROUNDS = 4;
const CONNECTIONS = 32;
const BIG = quick ? 20_000 : 100_000;
const SMALL = 1_000;

// The bounds functions/node.ts gives its caches (kept equal by hand: the entry point has no exports).
const FEED_CACHE = { maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 };
const FRAGMENT_CACHE = { maxBytes: 64 * 1024 * 1024, maxEntries: 50_000 };

const log = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
const children: Child[] = [];
const work = mkdtempSync(join(tmpdir(), "nashir-bench-"));
// Large databases are built on tmpfs when there is one: fsync per write would take minutes on disk.
const fastBase = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/nashir-bench-") : work;

async function cleanup(): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
  rmSync(work, { recursive: true, force: true });
  if (fastBase !== work) rmSync(fastBase, { recursive: true, force: true });
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

async function nashir(dbPath: string): Promise<Child> {
  const child = await startNashir(dbPath);
  children.push(child);
  return child;
}

async function stopChild(child: Child): Promise<void> {
  await child.stop();
  children.splice(children.indexOf(child), 1);
}

async function json(res: Promise<{ status: number; body: Buffer }>, expected: number[]): Promise<Record<string, unknown>> {
  const r = await res;
  if (!expected.includes(r.status)) throw new Error(`answered ${r.status}: ${r.body.toString("utf8").slice(0, 300)}`);
  return JSON.parse(r.body.toString("utf8")) as Record<string, unknown>;
}

async function createSiteOver(origin: string, slug: string): Promise<{ apiKey: string; secret: string }> {
  const body = await json(
    rawRequest(origin, `/v1/sites/${slug}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ ...seedSiteInput(), slug }),
    }),
    [201],
  );
  return { apiKey: String(body.api_key), secret: String(body.webhook_secret) };
}

/** The seed article as a publisher sends it, made article i. */
function articleInput(i: number, prefix = "bench"): Record<string, unknown> {
  const seed = seedArticleInput();
  return { ...seed, id: `${prefix}-${String(i).padStart(6, "0")}`, url: `${String(seed.url)}-${prefix}-${i}`, published_at: publishedAt(i) };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a");
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "n/a");
const verdict = (ok: boolean) => (ok ? "met" : "**missed**");

// ------------------------------------------------------------------ 1. rendering

/**
 * Why the JSON Feed full render misses, from this run's figures: the native string work alone (and the
 * one copy into a fresh body) against feed's time.
 */
function jsonFullMiss(r: RenderRow): string {
  const strings = r.strings?.us ?? Number.NaN;
  const floor = strings + r.alloc.us;
  return (
    "every JSON Feed renderer must put each string value through the same native work: `JSON.stringify` (the escaping) and " +
    `UTF-8 encoding. For these ${fmt(r.items)} items that work alone, with nothing around it, takes ${fmt(strings)} µs, and ` +
    `producing the body as new bytes (the "one copy" column) ${fmt(r.alloc.us)} µs more: ${fmt(floor)} µs, against the ` +
    `${fmt(r.feed.us / 2.5)} µs that 2.5× of \`feed\` allows, so no renderer built on these calls can reach it here ` +
    `(\`feed\` ÷ that floor: ${ratio(r.feed.us / floor)}). Ours takes ${fmt(r.full.us)} µs: it writes member by member into one ` +
    "buffer (short strings escaped and encoded in one JavaScript loop). A JavaScript loop for the long content was measured " +
    "about 3× slower than the native calls on strings that are not compile-time constants."
  );
}

function renderReport(rows: RenderRow[]): string[] {
  const out = [
    "## 1. Rendering",
    "",
    "Time to the UTF-8 bytes of one feed (the libraries return a string, or an object for feedsmith's JSON Feed, so encoding is in every",
    "contender's time), minimum of 5 interleaved rounds. Same Arabic articles (the seed, ~4.4 KB of HTML each, as a store returns them)",
    "for every contender.",
    "",
    "- **Full render**: every item rendered, escaped and encoded (no cached fragments: what a cold rebuild costs).",
    "- **Assembly**: every item's bytes from a warm fragment cache (each hit checked field by field against an equal copy of the",
    "  article, as when the store parses rows), copied into a new body. Never the same thing as a full render; both are shown.",
    "- **One copy**: allocating a body with the server's allocator (`allocateBody`: `Buffer.allocUnsafeSlow`, no zero fill) and",
    "  copying the finished bytes into it once, measured alongside: the floor under any assembly that produces the body as new bytes",
    "  (the cached body must be its own buffer). `feed ÷ one copy` is the most any such assembly could reach in this run.",
    "",
    "`feed` writes item content as CDATA without escaping it; ours escapes it (and wraps RTL HTML) as the contract requires. For JSON",
    "Feed every contender ends in the same native JSON.stringify and UTF-8 encoding of the same strings, so there is little to win",
    "by rendering; the fragments are what make it cheap. The JSON rows' \"native strings\" figure (below the table) is that work alone.",
    "",
    "| format | items | feed µs | feedsmith µs | ours, full µs | ours, assembly µs | one copy µs | feed ÷ full | feed ÷ assembly | feed ÷ one copy | feedsmith ÷ full | bytes: feed / feedsmith / ours |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  const stringRows = rows.filter((r) => r.strings !== undefined);
  const notes = stringRows.map(
    (r) =>
      `- json, ${fmt(r.items)} items: native strings (JSON.stringify and encodeInto of every string value, nothing else) ` +
      `${fmt(r.strings?.us ?? Number.NaN)} µs; with one copy ${fmt((r.strings?.us ?? Number.NaN) + r.alloc.us)} µs; ` +
      `feed ÷ that: ${ratio(r.feed.us / ((r.strings?.us ?? Number.NaN) + r.alloc.us))}.`,
  );
  for (const r of rows) {
    out.push(
      `| ${r.format} | ${fmt(r.items)} | ${fmt(r.feed.us)} | ${fmt(r.feedsmith.us)} | ${fmt(r.full.us)} | ${fmt(r.assembled.us)} | ${fmt(r.alloc.us)} | ` +
        `${ratio(r.feed.us / r.full.us)} | ${ratio(r.feed.us / r.assembled.us)} | ${ratio(r.feed.us / r.alloc.us)} | ${ratio(r.feedsmith.us / r.full.us)} | ` +
        `${fmt(r.feed.bytes)} / ${fmt(r.feedsmith.bytes)} / ${fmt(r.full.bytes)} |`,
    );
  }
  if (notes.length > 0) out.push("", ...notes);
  return out;
}

// ------------------------------------------------------------------ 2, 3. warm GET and 304

/** A load-generator run (wrk or autocannon) and the server process's CPU time per request during it. */
type Run = CannonResult & { cpuUs: number };

interface Pair {
  ours: Run[];
  plain: Run[];
}

async function measure(child: Child, url: string, headers: Record<string, string>, seconds = SECONDS): Promise<Run> {
  const before = cpuMs(child.pid);
  const result = await cannon(url, { connections: CONNECTIONS, seconds, headers });
  const after = cpuMs(child.pid);
  const cpuUs = before === undefined || after === undefined ? Number.NaN : ((after - before) * 1000) / result.requests;
  return { ...result, cpuUs };
}

function pooled(results: Run[]): { rps: number; p50: number; p99: number; requests: number; bad: number; cpuUs: number } {
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const seconds = results.reduce((a, r) => a + r.seconds, 0);
  const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
  return {
    rps: requests / seconds,
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    requests,
    bad: results.reduce((a, r) => a + r.errors + r.timeouts, 0),
    cpuUs: results.reduce((a, r) => a + r.cpuUs * r.requests, 0) / requests,
  };
}

interface Bisect {
  mode: BaselineMode;
  run: Run;
}

async function httpSection(): Promise<{ get: Pair; notModified: Pair; bisect: Bisect[]; bytes: number; path: string }> {
  const dbPath = join(work, "http.db");
  const server = await nashir(dbPath);
  const site = await createSiteOver(server.origin, "nisan");
  for (let i = 0; i < 50; i++) {
    await json(
      rawRequest(server.origin, "/v1/sites/nisan/articles", {
        method: "POST",
        headers: { authorization: `Bearer ${site.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(articleInput(i)),
      }),
      [201],
    );
  }
  const path = "/nisan/rss.xml?limit=50";
  await rawRequest(server.origin, path);
  const warm = await rawRequest(server.origin, path);
  if (warm.status !== 200) throw new Error(`warm GET answered ${warm.status}`);
  const headers = { ...warm.headers };
  for (const hop of ["date", "connection", "keep-alive"]) delete headers[hop];
  const bodyFile = join(work, "body.bin");
  const headersFile = join(work, "headers.json");
  writeFileSync(bodyFile, warm.body);
  writeFileSync(headersFile, JSON.stringify(headers));
  const plain = await startPlain(bodyFile, headersFile);
  children.push(plain);
  const check = await rawRequest(plain.origin, path);
  if (!check.body.equals(warm.body)) throw new Error("the plain server does not answer the same bytes");
  const etag = headers["etag"] ?? "";
  const conditional = { "if-none-match": etag };
  const check304 = await rawRequest(server.origin, path, { headers: conditional });
  if (check304.status !== 304) throw new Error(`conditional GET answered ${check304.status}`);
  log(`warm feed: ${fmt(warm.body.byteLength)} bytes, ETag ${etag}`);

  const get: Pair = { ours: [], plain: [] };
  const notModified: Pair = { ours: [], plain: [] };
  // Warm-up (JIT, connections), not reported.
  await cannon(`${server.origin}${path}`, { connections: CONNECTIONS, seconds: 1 });
  await cannon(`${plain.origin}${path}`, { connections: CONNECTIONS, seconds: 1 });
  for (const [name, pair, headers] of [["GET", get, {}], ["304", notModified, conditional]] as const) {
    for (let round = 0; round < ROUNDS; round++) {
      // ABBA: the order flips every round, so drift in the machine's load hits both alike.
      const order = round % 2 === 0 ? (["ours", "plain"] as const) : (["plain", "ours"] as const);
      for (const who of order) {
        const child = who === "ours" ? server : plain;
        const result = await measure(child, `${child.origin}${path}`, headers);
        // autocannon counts a 304 as non-2xx, wrk does not (it counts neither 2xx nor 3xx): the bytes per response tell 200 from 304.
        const expectedNon2xx = name === "304" && result.client === "autocannon" ? result.requests : 0;
        if (Math.abs(result.non2xx - expectedNon2xx) > CONNECTIONS) throw new Error(`${who} ${name}: ${result.non2xx} unexpected statuses of ${result.requests}`);
        const perResponse = result.bytes / result.requests;
        if (name === "GET" ? perResponse < 0.99 * warm.body.byteLength : perResponse > 4_096) throw new Error(`${who} ${name}: ${fmt(perResponse)} bytes per response`);
        pair[who].push(result);
        log(`${name} ${who} round ${round + 1}: ${fmt(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${fmt(result.cpuUs, 1)} µs CPU/request`);
      }
    }
  }
  await stopChild(plain);
  // Where a 304's time goes: the baseline plus, one at a time, the point read and the framework.
  const bisect: Bisect[] = [];
  for (const mode of ["plain+sqlite", "hono", "hono+sqlite"] as const) {
    const variant = await startPlain(bodyFile, headersFile, mode, dbPath);
    children.push(variant);
    const check = await rawRequest(variant.origin, path, { headers: conditional });
    if (check.status !== 304) throw new Error(`${mode} answered ${check.status}`);
    await cannon(`${variant.origin}${path}`, { connections: CONNECTIONS, seconds: 1, headers: conditional });
    const run = await measure(variant, `${variant.origin}${path}`, conditional);
    bisect.push({ mode, run });
    log(`304 ${mode}: ${fmt(run.rps)} req/s, ${fmt(run.cpuUs, 1)} µs CPU/request`);
    await stopChild(variant);
  }
  await stopChild(server);
  return { get, notModified, bisect, bytes: warm.body.byteLength, path };
}

function pairReport(title: string, intro: string[], pair: Pair, target: number, baseline: string): { lines: string[]; value: number } {
  const ours = pooled(pair.ours);
  const plain = pooled(pair.plain);
  const value = ours.rps / plain.rps;
  const lines = [
    title,
    "",
    ...intro,
    "",
    "| server | req/s | p50 ms | p99 ms | server CPU µs per request | requests | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
    `| functions/node.ts (SQLite) | ${fmt(ours.rps)} | ${ours.p50} | ${ours.p99} | ${fmt(ours.cpuUs, 1)} | ${fmt(ours.requests)} | ${ours.bad} |`,
    `| ${baseline} | ${fmt(plain.rps)} | ${plain.p50} | ${plain.p99} | ${fmt(plain.cpuUs, 1)} | ${fmt(plain.requests)} | ${plain.bad} |`,
    "",
    `Per round (ours / plain req/s): ${pair.ours.map((r, i) => `${fmt(r.rps)} / ${fmt(pair.plain[i]?.rps ?? Number.NaN)}`).join("; ")}.`,
    `Server CPU time per request (from /proc, user + system), ours ÷ plain: ${ratio(ours.cpuUs / plain.cpuUs)}.`,
    "",
    `**Ratio ours ÷ plain: ${ratio(value)}** (target ≥ ${target}: ${verdict(value >= target)}).`,
  ];
  return { lines, value };
}

function bisectReport(http: { notModified: Pair; bisect: Bisect[] }): string[] {
  const plain = pooled(http.notModified.plain);
  const ours = pooled(http.notModified.ours);
  const rows: [string, number, number][] = [["node:http, minimal (the baseline above)", plain.cpuUs, plain.rps]];
  const names: Record<string, string> = {
    "plain+sqlite": "node:http + the site-version point read (node:sqlite, same file)",
    hono: "Hono on @hono/node-server, one route, no store",
    "hono+sqlite": "Hono on @hono/node-server + the point read",
  };
  for (const b of http.bisect) rows.push([names[b.mode] ?? b.mode, b.run.cpuUs, b.run.rps]);
  const cpuOf = (mode: BaselineMode) => http.bisect.find((b) => b.mode === mode)?.run.cpuUs;
  rows.push(["functions/node.ts (hot documents answered before Hono; version reads shared per event-loop turn)", ours.cpuUs, ours.rps]);
  const honoRead = cpuOf("hono+sqlite") ?? Number.NaN;
  return [
    "### Where a 304's time goes",
    "",
    "Server CPU time per 304 (user + system, from /proc) for the baseline, then with the parts of a framework path added one at a time,",
    `each run once for ${SECONDS} s at -c ${CONNECTIONS} after the rounds above (req/s are from a single run: context only).`,
    "",
    "| server | CPU µs per 304 | ÷ baseline | req/s |",
    "|---|---:|---:|---:|",
    ...rows.map(([name, cpu, rps]) => `| ${name} | ${fmt(cpu, 1)} | ${ratio(cpu / plain.cpuUs)} | ${fmt(rps)} |`),
    "",
    `The point read alone takes node:http to ${ratio((cpuOf("plain+sqlite") ?? Number.NaN) / plain.cpuUs)} of the baseline's CPU, the framework alone to ` +
      `${ratio((cpuOf("hono") ?? Number.NaN) / plain.cpuUs)}, both to ${ratio(honoRead / plain.cpuUs)}. So the Node server does neither per request:`,
    "a GET whose target is a hot document (served a moment ago, its bytes cached) is answered by the node:http listener before any",
    "Request or Response object is built (src/platform/node.ts; the answers are the feed routes' own, tested header for header), and",
    "the requests handled in one event-loop turn share one read of the site's version (src/store/turn-reads.ts: all of them had",
    "arrived before the read, so it is a valid read for each; a write in this process forgets it at once, and the next turn reads",
    `again). Ours: ${fmt(ours.cpuUs, 1)} µs per 304, ${ratio(ours.cpuUs / plain.cpuUs)} of the baseline.`,
  ];
}

// ------------------------------------------------------------------ 4. scale

async function buildDatabase(dir: string, n: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "nashir.db");
  const store = createSqliteStore({ path });
  const site = benchSite();
  if (!(await store.createSite({ site, version: 1, modified_at: "2026-01-06T08:30:00Z", credentials: [] }))) throw new Error("site exists");
  const t = performance.now();
  for (let i = n - 1; i >= 0; i--) await store.putArticle("nisan", benchArticle(i), "2026-01-06T08:30:00Z");
  log(`built ${fmt(n)} articles in ${((performance.now() - t) / 1000).toFixed(1)} s (${fmt(n / ((performance.now() - t) / 1000))}/s, direct store calls)`);
  await store.close();
  return path;
}

interface ScaleResult {
  n: number;
  ms: number[];
}

async function scaleSection(bigDb: string, smallDb: string): Promise<ScaleResult[]> {
  const big = await nashir(bigDb);
  const small = await nashir(smallDb);
  const PAGE = 20;
  const pages = SMALL / PAGE - 1; // non-overlapping pages of the small site, so every fragment is cold too
  const warmups = 5;
  const results: ScaleResult[] = [
    { n: BIG, ms: [] },
    { n: SMALL, ms: [] },
  ];
  const pathAt = (n: number, page: number, of: number) => {
    // Pages spread over the whole timeline, newest to oldest: O(limit) must hold at any depth.
    const position = Math.floor(((page + 0.5) / of) * (n - PAGE - 1));
    const cursor = encodeCursor({ published_at: publishedAt(position), id: articleId(position) });
    return `/nisan/rss.xml?before=${cursor}`;
  };
  for (let page = 0; page < pages; page++) {
    // Alternate the two servers request by request.
    for (const [index, server] of [big, small].entries()) {
      const r = results[index];
      if (!r) continue;
      const res = await rawRequest(server.origin, pathAt(r.n, page, pages));
      if (res.status !== 200) throw new Error(`cold GET answered ${res.status}`);
      const items = (res.body.toString("utf8").match(/<item>/g) ?? []).length;
      if (items !== PAGE) throw new Error(`cold GET had ${items} items`);
      if (page >= warmups) r.ms.push(res.ms);
    }
  }
  await stopChild(big);
  await stopChild(small);
  return results;
}

function scaleReport(results: ScaleResult[]): { lines: string[]; value: number } {
  const stats = results.map((r) => {
    const sorted = [...r.ms].sort((a, b) => a - b);
    return { n: r.n, count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
  });
  const big = stats[0];
  const small = stats[1];
  const value = big && small ? big.p50 / small.p50 : Number.NaN;
  const meanRatio = big && small ? big.mean / small.mean : Number.NaN;
  return {
    value,
    lines: [
      "## 4. Scale: cold rebuild, 1,000 vs 100,000 articles stored",
      "",
      "Two servers (functions/node.ts) on two SQLite files, one site each, requests alternated between them, one at a time over",
      "keep-alive. Every request is a different page (`?before=` cursors spread from the newest to the oldest article, default",
      "limit 20, pages never overlap), so each is a feed-cache miss and every item's fragment is rendered: a full cold rebuild",
      "(one keyset query of 21 rows, render, encode, cache). The first 5 pages of each are warm-up. Latency is to the last byte.",
      "The databases were built with direct store calls on tmpfs (building 100,000 with an fsync per write takes minutes on disk).",
      "",
      "| articles stored | requests | p50 ms | p99 ms | mean ms |",
      "|---:|---:|---:|---:|---:|",
      ...stats.map((s) => `| ${fmt(s.n)} | ${s.count} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.mean, 2)} |`),
      "",
      `**Ratio ${fmt(BIG)} ÷ ${fmt(SMALL)}: p50 ${ratio(value)}, mean ${ratio(meanRatio)}** (target ≤ 1.3: ${verdict(value <= 1.3)}).`,
    ],
  };
}

// ------------------------------------------------------------------ 5. publish

interface PublishRun {
  where: string;
  published: number;
  failures: number;
  rate: number;
  p50: number;
  p99: number;
  /** CPU time (user + system, all threads) per published article, in ms: the server's, and the load generator's. */
  serverCpu: number;
  clientCpu: number;
}

async function publishRun(dir: string, where: string): Promise<PublishRun> {
  const server = await nashir(join(dir, "publish.db"));
  const site = await createSiteOver(server.origin, "nisan");
  await checkSigner(site.secret);
  const publish = webhookPublisher(server.origin, "/v1/sites/nisan/articles", site.secret);
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  // articleInput(i, "pub") without reading the seed file again for every request.
  const seed = seedArticleInput();
  const bodyOf = (i: number) => JSON.stringify({ ...seed, id: `pub-${String(i).padStart(6, "0")}`, url: `${String(seed.url)}-pub-${i}`, published_at: publishedAt(i) });
  if (bodyOf(7) !== JSON.stringify(articleInput(7, "pub"))) throw new Error("publish bodies differ from articleInput");
  const publishOne = async (i: number) => {
    const res = await publish(bodyOf(i));
    if (res.status === 201) latencies.push(res.ms);
    else failures++;
  };
  for (let i = 0; i < 50; i++) await publishOne(next++); // warm-up
  latencies.length = 0;
  failures = 0;
  const serverCpuBefore = cpuMs(server.pid) ?? Number.NaN;
  const clientCpuBefore = process.cpuUsage();
  const t = performance.now();
  const deadline = t + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (performance.now() < deadline) await publishOne(next++);
    }),
  );
  const elapsed = (performance.now() - t) / 1000;
  const serverCpu = (cpuMs(server.pid) ?? Number.NaN) - serverCpuBefore;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  await stopChild(server);
  const sorted = [...latencies].sort((a, b) => a - b);
  const published = latencies.length;
  const run = {
    where,
    published,
    failures,
    rate: published / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    serverCpu: serverCpu / published,
    clientCpu: (clientCpu.user + clientCpu.system) / 1000 / published,
  };
  log(`publish on ${where}: ${fmt(run.rate)} articles/s, p50 ${fmt(run.p50, 1)} ms, p99 ${fmt(run.p99, 1)} ms, ${failures} failures, CPU per article: server ${fmt(run.serverCpu, 3)} ms, client ${fmt(run.clientCpu, 3)} ms`);
  return run;
}

/** Mean time of a 4 KiB write + fdatasync in `dir`: what one durable commit waits for at least. */
function syncLatencyMs(dir: string): number {
  const file = join(dir, "sync-probe.bin");
  const fd = openSync(file, "w");
  const block = new Uint8Array(4096).fill(1);
  const t = performance.now();
  const n = 100;
  try {
    for (let i = 0; i < n; i++) {
      writeSync(fd, block);
      fdatasyncSync(fd);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return (performance.now() - t) / n;
}

const PUBLISHERS = 16;

async function publishSection(): Promise<{ lines: string[]; value: number }> {
  const diskSync = syncLatencyMs(work);
  const runs = [await publishRun(work, `disk (${tmpdir()})`)];
  if (fastBase !== work) runs.push(await publishRun(fastBase, "tmpfs (/dev/shm), fsync free"));
  const disk = runs[0];
  const value = disk?.rate ?? Number.NaN;
  const bodyBytes = Buffer.byteLength(String(seedArticleInput().content_html));
  return {
    value,
    lines: [
      "## 5. Publish throughput",
      "",
      `Signed Standard Webhooks POSTs over HTTP to functions/node.ts, ${PUBLISHERS} at a time for ${SECONDS} s, each a new article with the`,
      `seed's ${fmt(bodyBytes)}-byte Arabic HTML body. Every request is a unique webhook (random webhook-id) with a fresh timestamp, signed`,
      "at send time (HMAC-SHA256 with node:crypto, bench/publish-client.ts, so the load generator stays cheap) and verified by the server.",
      "A publish is three SQLite writes (claim the webhook id, write the article, store the answer). The store group-commits: the",
      "writes queued by any of the requests while the group grows (a few event-loop turns, at most 4) are applied in one transaction,",
      "each in its own savepoint, and committed once: `synchronous=FULL` (one fsync) when the group carries an article, `NORMAL` for",
      "replay bookkeeping alone. No write is answered before its COMMIT has returned. node:sqlite is synchronous, so each group's",
      "fsync still blocks the event loop.",
      "",
      "| database on | articles published | failures | articles/s | p50 ms | p99 ms | server CPU ms/article | load generator CPU ms/article |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...runs.map(
        (r) =>
          `| ${r.where} | ${fmt(r.published)} | ${r.failures} | ${fmt(r.rate)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.serverCpu, 3)} | ${fmt(r.clientCpu, 3)} |`,
      ),
      "",
      `A 4 KiB write + fdatasync on that disk took ${fmt(diskSync, 2)} ms (measured in this run): one fsync per article would bound a`,
      `durable publisher near ${fmt(1000 / diskSync)} articles/s before any CPU is spent; group commit shares each fsync among the articles`,
      "of a group. The tmpfs row is the same server with fsync free, i.e. what the CPU allows (context, not the target). CPU is",
      "user + system time of all of a process's threads (the server's includes its thread pool and garbage collector), per article.",
      "",
      `**${fmt(value)} articles/s on disk** (target ≥ 1,000/s: ${verdict(value >= 1000)}).`,
    ],
  };
}

// ------------------------------------------------------------------ 6. memory and bounds

function hotFeedPaths(): string[] {
  const files = ["rss.xml", "atom.xml", "feed.json"];
  const paths = files.map((f) => `/nisan/${f}`);
  for (let c = 0; paths.length < 1_000; c++) for (const f of files) if (paths.length < 1_000) paths.push(`/nisan/categories/cat-${c}/${f}`);
  return paths;
}

async function memorySection(bigDb: string): Promise<{ lines: string[]; ok: boolean }> {
  const paths = hotFeedPaths();
  const server = await nashir(bigDb);
  const idle = memoryOf(server.pid);
  let bytes = 0;
  for (const path of paths) {
    const res = await rawRequest(server.origin, path);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    bytes += res.body.byteLength;
  }
  for (const path of paths) await rawRequest(server.origin, path);
  const hot = memoryOf(server.pid);
  await stopChild(server);
  log(`server RSS idle ${fmt(idle?.rssMiB ?? Number.NaN)} MiB, with ${paths.length} hot feeds ${fmt(hot?.rssMiB ?? Number.NaN)} MiB (peak ${fmt(hot?.peakMiB ?? Number.NaN)})`);

  // The same composition in process, where the caches can be asked their size after every request.
  const bounds = async (feedBound: typeof FEED_CACHE, fragmentBound: typeof FRAGMENT_CACHE) => {
    const store = createSqliteStore({ path: bigDb });
    const feedCache = createMemoryFeedCache(feedBound);
    const fragmentCache = createMemoryFragmentCache(fragmentBound);
    const app = createApp({
      store,
      clock: Date.now,
      config: { baseUrl: BASE_URL, adminToken: ADMIN_TOKEN, secretGraceSeconds: 86_400 },
      random: (n) => new Uint8Array(randomBytes(n)),
      feedCache,
      fragmentCache,
      codings: ["br", "gzip"],
      compress: nodeCompress,
      clientId: () => "bench",
      log: () => undefined,
    });
    const max = { feed: { bytes: 0, entries: 0 }, fragments: { bytes: 0, entries: 0 } };
    const track = (into: FeedCacheStats, now: FeedCacheStats) => {
      into.bytes = Math.max(into.bytes, now.bytes);
      into.entries = Math.max(into.entries, now.entries);
    };
    let over = 0;
    for (const coding of ["identity", "gzip"]) {
      for (const path of paths) {
        const res = await app.request(path, { headers: coding === "identity" ? {} : { "accept-encoding": coding } });
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
        await res.arrayBuffer();
        const f = feedCache.stats();
        const g = fragmentCache.stats();
        track(max.feed, f);
        track(max.fragments, g);
        if (f.bytes > feedBound.maxBytes || f.entries > feedBound.maxEntries || g.bytes > fragmentBound.maxBytes || g.entries > fragmentBound.maxEntries) over++;
      }
    }
    await store.close();
    const usage = process.memoryUsage();
    return { max, final: { feed: feedCache.stats(), fragments: fragmentCache.stats() }, over, heapUsed: usage.heapUsed, arrayBuffers: usage.arrayBuffers };
  };
  const configured = await bounds(FEED_CACHE, FRAGMENT_CACHE);
  const tight = await bounds({ maxBytes: 8 * 1024 * 1024, maxEntries: 200 }, { maxBytes: 4 * 1024 * 1024, maxEntries: 2_000 });
  const mib = (n: number) => fmt(n / 1024 / 1024, 1);
  const row = (name: string, bound: { maxBytes: number; maxEntries: number }, max: FeedCacheStats, final: FeedCacheStats) =>
    `| ${name} | ${mib(bound.maxBytes)} MiB / ${fmt(bound.maxEntries)} | ${mib(max.bytes)} MiB / ${fmt(max.entries)} | ${mib(final.bytes)} MiB / ${fmt(final.entries)} |`;
  const ok = configured.over === 0 && tight.over === 0;
  return {
    ok,
    lines: [
      "## 6. Memory",
      "",
      `functions/node.ts on the ${fmt(BIG)}-article database, after ${fmt(paths.length)} distinct feeds (the site's three, then three per`,
      `category) were each requested twice (built, then served from cache): ${mib(bytes)} MiB of identity bodies in all, more than the`,
      "feed cache's 64 MiB bound, so the cache is full and evicting.",
      "",
      "| server process | RSS MiB | peak RSS MiB |",
      "|---|---:|---:|",
      `| idle after start | ${fmt(idle?.rssMiB ?? Number.NaN, 1)} | ${fmt(idle?.peakMiB ?? Number.NaN, 1)} |`,
      `| ${fmt(paths.length)} hot feeds cached | ${fmt(hot?.rssMiB ?? Number.NaN, 1)} | ${fmt(hot?.peakMiB ?? Number.NaN, 1)} |`,
      "",
      `The same composition in process (same store file, same cache classes), each cache's size read after every one of`,
      `${fmt(paths.length * 2)} requests (identity, then gzip), with the bounds functions/node.ts uses and with tight ones:`,
      "",
      "| cache | bound (bytes / entries) | largest seen | at the end |",
      "|---|---:|---:|---:|",
      row("feed bodies, configured", FEED_CACHE, configured.max.feed, configured.final.feed),
      row("item fragments, configured", FRAGMENT_CACHE, configured.max.fragments, configured.final.fragments),
      row("feed bodies, tight", { maxBytes: 8 * 1024 * 1024, maxEntries: 200 }, tight.max.feed, tight.final.feed),
      row("item fragments, tight", { maxBytes: 4 * 1024 * 1024, maxEntries: 2_000 }, tight.max.fragments, tight.final.fragments),
      "",
      `Requests after which a cache was over its bound: ${configured.over + tight.over} (${verdict(ok)}: never).`,
      "",
      "Each cache counts what it holds: feed bodies by their bytes; fragments by their bytes plus the article each was rendered from",
      "(2 bytes per character, to check hits), which overstates the real cost a little. The RSS above is more than the two bounds:",
      "it also holds V8's heap, grown by the garbage of 1,000 cold rebuilds and kept after it (the bench process, after the",
      `configured in-process run: ${mib(configured.heapUsed)} MiB of live heap, ${mib(configured.arrayBuffers)} MiB of ArrayBuffers), and`,
      "memory the allocator keeps after bodies and fragments are evicted. The bounds cap what the caches keep; they are not an RSS cap.",
    ],
  };
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const load = loadavg();
  const sections: string[][] = [];
  const summary: string[] = [];
  /** Why a target was missed, printed under the summary only when it was. */
  const misses: string[] = [];

  if (runs("render")) {
    log("1. rendering");
    const rows = renderSection(quick ? [20, 100] : [20, 100, 1_000], ["rss", "atom", "json"], log);
    sections.push(renderReport(rows));
    for (const r of rows.filter((x) => x.items === 100)) {
      summary.push(`| full render vs feed, ${r.format}, 100 items | ≥ 2.5× | ${ratio(r.feed.us / r.full.us)} | ${verdict(r.feed.us / r.full.us >= 2.5)} |`);
    }
    for (const r of rows.filter((x) => x.items === 100)) {
      summary.push(`| assembly from fragments vs feed, ${r.format}, 100 items | ≥ 50× | ${ratio(r.feed.us / r.assembled.us)} | ${verdict(r.feed.us / r.assembled.us >= 50)} |`);
    }
    const at100 = rows.filter((x) => x.items === 100);
    const missedFull = at100.filter((r) => r.feed.us / r.full.us < 2.5);
    if (missedFull.length > 0) {
      misses.push(
        `- **Full render, ${missedFull.map((r) => r.format).join(", ")}**: ` +
          (missedFull.every((r) => r.format === "json")
            ? jsonFullMiss(missedFull[0] as RenderRow)
            : "see the table: the margin is within this machine's noise."),
      );
    }
    if (at100.some((r) => r.feed.us / r.assembled.us < 50)) {
      const bodyKb = Math.max(...at100.map((r) => r.full.bytes)) / 1024;
      misses.push(
        `- **Assembly ≥ 50×**: assembly produces a new body of up to ~${fmt(bodyKb)} KB. Only allocating it and copying the finished ` +
          `bytes into it once (the "one copy" column) caps what any assembly into a fresh body can reach: ` +
          at100.map((r) => `${r.format} ${ratio(r.feed.us / r.alloc.us)}`).join(", ") +
          " of `feed`'s time in this run. Fresh memory is most of that cost (its pages are touched for the first time). Ours adds " +
          at100.map((r) => `${fmt(r.assembled.us - r.alloc.us)} µs (${r.format})`).join(", ") +
          " for the fragment lookups, each checked field by field against the article, and the frame. Joining strings instead " +
          "would look faster and then pay the UTF-8 encoding per request.",
      );
    }
  }

  if (runs("http")) {
    log("2, 3. warm GET and 304");
    const http = await httpSection();
    const client = loadGenerator();
    const get = pairReport(
      "## 2. Warm GET",
      [
        `\`GET ${http.path}\` (${fmt(http.bytes)} bytes of Arabic RSS, identity) against functions/node.ts, and against bench/plain-server.ts`,
        `(node:http answering the same bytes and headers from memory), load generator: ${client}, ${CONNECTIONS} connections, ` +
          `${SECONDS} s per run, ${ROUNDS} rounds in ABBA order.`,
        ...(client === "autocannon"
          ? [
              "Both servers and autocannon share the machine's 2 cores. At this body size autocannon (a Node client) is the limit: both servers",
              "wait for it part of the time (wrk, a C client, was not installed), so the req/s ratio says the server keeps up with the client,",
              "and the CPU column (each server process's user + system time per request) shows what a response costs each of them.",
            ]
          : [
              `Both servers and ${client} (a C client, 2 threads) share the machine's 2 cores, so the req/s are what each server reaches`,
              "with the client taking its share of the CPU; the CPU column (each server process's user + system time per request) shows what",
              "a response costs each of them.",
            ]),
      ],
      http.get,
      0.9,
      "plain node:http, same bytes and headers",
    );
    sections.push(get.lines);
    summary.push(`| warm GET, ours ÷ plain node:http | ≥ 0.9 | ${ratio(get.value)} | ${verdict(get.value >= 0.9)} |`);
    const nm = pairReport(
      "## 3. 304 Not Modified",
      [
        `The same URL with \`If-None-Match\` set to its ETag: functions/node.ts (a read of the site's version, shared by the requests of`,
        "one event-loop turn, then the hot-document memo) against a node:http server that compares the header and answers 304 with the",
        "same headers.",
        `Load generator: ${client}, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds in ABBA order.`,
      ],
      http.notModified,
      0.8,
      "minimal node:http 304 responder",
    );
    sections.push(nm.lines, bisectReport(http));
    summary.push(`| 304, ours ÷ minimal node:http | ≥ 0.8 | ${ratio(nm.value)} | ${verdict(nm.value >= 0.8)} |`);
    if (get.value < 0.9) {
      misses.push(
        `- **Warm GET**: ours spent ${fmt(pooled(http.get.ours).cpuUs, 1)} µs of CPU per response against the plain server's ` +
          `${fmt(pooled(http.get.plain).cpuUs, 1)} µs (same bytes, same headers, both written by node:http): the rest is the shared ` +
          "version read, the feed-cache lookup, the promise hops between them, and a larger heap to collect.",
      );
    }
    if (nm.value < 0.8) {
      misses.push(
        "- **304**: each 304 still reads the site's version (shared only within an event-loop turn: no 304 outlives a write); " +
          "section 3 breaks down what the read and a framework cost.",
      );
    }
  }

  let bigDb: string | undefined;
  if (runs("scale")) {
    log(`4. scale: building ${fmt(SMALL)} and ${fmt(BIG)} article databases`);
    const smallDb = await buildDatabase(join(fastBase, "small"), SMALL);
    bigDb = await buildDatabase(join(fastBase, "big"), BIG);
    const scale = scaleReport(await scaleSection(bigDb, smallDb));
    sections.push(scale.lines);
    summary.push(`| cold rebuild p50, ${fmt(BIG)} ÷ ${fmt(SMALL)} articles | ≤ 1.3 | ${ratio(scale.value)} | ${verdict(scale.value <= 1.3)} |`);
  }

  if (runs("publish")) {
    log("5. publish");
    const publish = await publishSection();
    sections.push(publish.lines);
    summary.push(`| publish, signed webhooks into SQLite on disk | ≥ 1,000/s | ${fmt(publish.value)}/s | ${verdict(publish.value >= 1000)} |`);
    if (publish.value < 1000) {
      misses.push(
        "- **Publish**: the writes are group-committed (one transaction and one fsync for the writes of a few event-loop turns), so " +
          "what bounds it is the server's one event loop: CPU per publish (Hono and node:http, signature and replay digests, " +
          "validating and sanitising 4 KB of HTML, the SQLite statements) plus each group's fsync, which node:sqlite makes on the " +
          "loop; the load generator shares the machine's two cores (section 5).",
      );
    }
  }

  if (runs("memory")) {
    log("6. memory");
    const memory = await memorySection(bigDb ?? (await buildDatabase(join(fastBase, "big"), BIG)));
    sections.push(memory.lines);
    summary.push(`| caches within their bounds | always | ${memory.ok ? "always" : "exceeded"} | ${verdict(memory.ok)} |`);
  }

  const cpu = cpus();
  const header = [
    "# Benchmark results",
    "",
    `Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, in ${fmt((Date.now() - started) / 1000)} s.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, Node ${process.version}, ${process.platform}. Load average at the start`,
    `${load.map((l) => l.toFixed(2)).join(" / ")}, at the end ${loadavg().map((l) => l.toFixed(2)).join(" / ")} (a shared machine: other work was running).`,
    quick ? "\n**BENCH_QUICK=1: shortened run, not the reference figures.**\n" : "",
    "Every target is a ratio of two measurements taken side by side in this run; absolute times are context only.",
    `Load generator for the warm GET and the 304 (sections 2 and 3): ${loadGenerator()}.`,
    "",
    "## Summary",
    "",
    "| figure | target | measured | |",
    "|---|---|---:|---|",
    ...summary,
    "",
    ...(misses.length > 0 ? ["Why the misses:", "", ...misses, ""] : []),
  ];
  const text = [...header, ...sections.flatMap((s) => [...s, ""])].join("\n");
  if (only !== undefined) {
    process.stdout.write(`${text}\n`);
    log("BENCH_ONLY set: bench/results.md left alone");
    return;
  }
  writeFileSync(join(ROOT, "bench", "results.md"), text);
  log("wrote bench/results.md");
}

try {
  await main();
} finally {
  await cleanup();
}
