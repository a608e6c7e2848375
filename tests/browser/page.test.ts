// The site page in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, over a real HTTP server on 127.0.0.1 serving a harness app (real SQLite).
// Checks what people see: Arabic laid out right to left, a screenshot that is a real picture,
// no console errors (the Content-Security-Policy blocks nothing the page needs), and
// autodiscovery links that a reader following them would find answering.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, seedArticle, type Harness } from "../http/harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SKIP_REASON = `skipped: ${CHROMIUM} is not installed (apt-get install chromium)`;
if (!HAVE_CHROMIUM) console.warn(`tests/browser/page.test.ts: ${SKIP_REASON}`);

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const FEED_TYPES: Record<string, string> = {
  "application/rss+xml": "application/rss+xml; charset=utf-8",
  "application/atom+xml": "application/atom+xml; charset=utf-8",
  "application/feed+json": "application/feed+json; charset=utf-8",
};

const ENGLISH_ARTICLE = {
  id: "markets-2024-06-20",
  title: "Markets close higher after the central bank holds rates",
  url: "https://nisan.example/en/news/markets-2024-06-20",
  published_at: "2024-06-20T08:00:00Z",
  summary: "Stocks rose for a third day as the central bank left its main rate unchanged.",
  language: "en",
  categories: ["Economy"],
  tags: ["Markets"],
};

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe("site page in headless Chromium", () => {
  let h: Harness;
  let server: ServerType;
  let origin: string;
  let context: BrowserContext;
  const dir = mkdtempSync(join(tmpdir(), "nashir-browser-"));

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    h = await createHarness();
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: h.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The configured public origin is this server, so every link on the page can be followed.
    h.deps.config.baseUrl = origin;
    const { api_key } = await h.createSite();
    for (const article of [seedArticle(), ENGLISH_ARTICLE]) {
      const res = await h.publish("nisan", api_key, article);
      expect(res.status, await res.clone().text()).toBe(201);
    }
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1024, height: 800 },
      locale: "ar",
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!HAVE_CHROMIUM)(`shows Arabic right to left, renders a real screenshot, and its autodiscovery links answer${HAVE_CHROMIUM ? "" : ` (${SKIP_REASON})`}`, async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      // The browser's own /favicon.ico probe is not the page's doing.
      if (message.location().url.endsWith("/favicon.ico")) return;
      if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));

    const response = await page.goto(`${origin}/nisan/`, { waitUntil: "load" });
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-type"]).toBe("text/html; charset=utf-8");

    // The document and its Arabic titles run right to left; the English article left to right.
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).direction)).toBe("rtl");
    const titles = await page.$$eval("ol.articles h3 a", (links) =>
      links.map((a) => ({ text: a.textContent ?? "", direction: getComputedStyle(a).direction, width: a.getBoundingClientRect().width })),
    );
    expect(titles).toHaveLength(2);
    const arabic = titles.find((t) => t.text === seedArticle().title);
    const english = titles.find((t) => t.text === ENGLISH_ARTICLE.title);
    expect(arabic).toMatchObject({ direction: "rtl" });
    expect(arabic!.width).toBeGreaterThan(100);
    expect(english).toMatchObject({ direction: "ltr" });
    // The Arabic title's text starts at the right edge of its column.
    const edges = await page.$eval("ol.articles", (list) => {
      const item = list.querySelector("li:not([lang]) h3")!;
      const range = document.createRange();
      range.selectNodeContents(item);
      const text = range.getBoundingClientRect();
      return { textRight: text.right, boxRight: item.getBoundingClientRect().right };
    });
    expect(Math.abs(edges.boxRight - edges.textRight)).toBeLessThan(2);
    // Feed addresses are shown left to right inside the right-to-left page.
    expect(await page.$$eval("code", (codes) => codes.map((c) => getComputedStyle(c).direction))).toEqual(["ltr", "ltr", "ltr"]);

    const screenshot = join(dir, "site-page.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    const { width, height } = pngSize(png);
    expect(width).toBe(1024);
    expect(height).toBeGreaterThan(800);
    expect(statSync(screenshot).size).toBeGreaterThan(20_000);
    // To look at it: NASHIR_SCREENSHOT=/tmp/page.png npx vitest run tests/browser/page.test.ts
    const keep = process.env.NASHIR_SCREENSHOT;
    if (keep) copyFileSync(screenshot, keep);

    // Autodiscovery: each link, as the browser resolved it, answers with its feed's type.
    const alternates = await page.$$eval('link[rel="alternate"]', (links) =>
      links.map((l) => ({ href: (l as HTMLLinkElement).href, type: (l as HTMLLinkElement).type })),
    );
    expect(alternates.map((l) => l.type)).toEqual(["application/rss+xml", "application/atom+xml", "application/feed+json"]);
    for (const link of alternates) {
      expect(link.href.startsWith(`${origin}/nisan/`)).toBe(true);
      const res = await fetch(link.href);
      expect(res.status, link.href).toBe(200);
      expect(res.headers.get("content-type")).toBe(FEED_TYPES[link.type]);
      expect(await res.text()).toContain(ENGLISH_ARTICLE.title);
    }

    expect(problems).toEqual([]);
    await page.close();
  });
});
