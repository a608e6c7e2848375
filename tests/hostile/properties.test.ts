// Property tests: whatever a publisher sends, the validator either refuses it with a 4xx problem,
// or every feed that lists the article (main, category, tag, author; RSS, Atom, JSON Feed) is
// well-formed and carries nothing executable. Articles go through the real app (app.request) and
// a real SQLite file; the sanitiser and the XML escaping are also checked on their own, in-process.
//
// `npm test` runs at least 1,000 cases per property; `npm run fuzz` runs NASHIR_FUZZ_RUNS.

import fc from "fast-check";
import { XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sanitizeHtml } from "../../src/core/html.ts";
import { cleanText, escapeXml } from "../../src/core/text.ts";
import type { Article } from "../../src/core/model.ts";
import { createHarness, type Harness } from "../http/harness.ts";
import { fuzzRuns, hostileArticle, hostileHtml, hostileSite, hostileString } from "./arbitraries.ts";
import { childOf, executableIn, parseXml, readFeed, textOf, xmlTextProblems, type ReadFeed } from "./inert.ts";

const RUNS = fuzzRuns();
/** Generous per-property budget: about 60 ms a case over HTTP, never under a minute. */
const TIMEOUT = Math.max(60_000, RUNS * 60);
const FORMATS = { rss: "rss.xml", atom: "atom.xml", json: "feed.json" } as const;
type Format = keyof typeof FORMATS;

const tally = { articles: 0, accepted: 0, feeds: 0, sites: 0, sanitised: 0, escaped: 0, serverErrors: 0 };

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await createHarness();
  key = (await h.createSite()).api_key;
});
afterAll(async () => {
  await h.close();
  // The figures of this run (cases, accepted articles, feeds read), for the record.
  console.log(`hostile properties: ${JSON.stringify(tally)}`);
});

const authed = (method: string, path: string, body?: string) =>
  h.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body }),
  });

/** Every feed document that lists the article: the site's, and one per category, tag and author. */
function feedPaths(article: Article): string[] {
  const bases = ["/nisan"];
  const first = (names: string[]) => names[0];
  const named: [string, string | undefined][] = [
    ["categories", first(article.categories)],
    ["tags", first(article.tags)],
    ["authors", first(article.authors.map((a) => a.name))],
  ];
  for (const [segment, name] of named) {
    // A name that is a dot segment ("." or "..") has no reachable feed: every URL parser removes
    // the segment (also as %2E) before any server sees it. Known and harmless; nothing to check.
    if (name !== undefined && name !== "." && name !== "..") bases.push(`/nisan/${segment}/${encodeURIComponent(name)}`);
  }
  return bases;
}

const lineEnds = (s: string) => s.replace(/\r\n?/g, "\n");

function describeProblems(where: string, feed: ReadFeed, extra: string[] = []): string[] {
  const problems = [...feed.problems, ...extra];
  for (const html of feed.html) problems.push(...executableIn(html).map((p) => `feed-level HTML: ${p}`));
  for (const item of feed.items) for (const html of item.html) problems.push(...executableIn(html).map((p) => `item HTML: ${p}`));
  return problems.map((p) => `${where}: ${p}`);
}

async function fetchFeed(path: string): Promise<{ status: number; body: string }> {
  const res = await h.request(path);
  if (res.status >= 500) tally.serverErrors++;
  return { status: res.status, body: await res.text() };
}

describe("hostile articles", () => {
  it(
    `for any article the validator accepts, all feeds that list it are well-formed and inert (${RUNS} cases)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileArticle(), async (input) => {
          tally.articles++;
          const res = await authed("POST", "/v1/sites/nisan/articles", JSON.stringify(input));
          const text = await res.text();
          if (res.status >= 500) tally.serverErrors++;
          if (res.status !== 201 && res.status !== 200) {
            // Refused: a 4xx problem, never a 5xx.
            expect(res.status, text).toBeGreaterThanOrEqual(400);
            expect(res.status, text).toBeLessThan(500);
            expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
            return;
          }
          tally.accepted++;
          const article = JSON.parse(text) as Article;
          const problems: string[] = [];
          for (const base of feedPaths(article)) {
            for (const [format, file] of Object.entries(FORMATS) as [Format, string][]) {
              const path = `${base}/${file}`;
              const served = await fetchFeed(path);
              tally.feeds++;
              if (served.status !== 200) {
                problems.push(`${path}: status ${served.status}: ${served.body.slice(0, 300)}`);
                continue;
              }
              const feed = readFeed(format, served.body);
              const roundTrip: string[] = [];
              if (feed.problems.length === 0) {
                if (feed.items.length !== 1) roundTrip.push(`${feed.items.length} items, expected 1`);
                const item = feed.items[0];
                if (item !== undefined) {
                  // What the reader gets back is exactly what was stored: no break-out, no loss.
                  if (item.title !== article.title) roundTrip.push(`title ${JSON.stringify(item.title.slice(0, 80))} != stored`);
                  // (XML readers turn CR LF and CR into LF: the one change a reader may make.)
                  if (article.content_html !== undefined && !lineEnds(item.content ?? "").includes(lineEnds(article.content_html))) {
                    roundTrip.push("content does not carry the stored HTML intact");
                  }
                }
              }
              problems.push(...describeProblems(path, feed, roundTrip));
            }
          }
          const deleted = await authed("DELETE", `/v1/sites/nisan/articles/${encodeURIComponent(article.id)}`);
          expect(deleted.status).toBe(204);
          expect(problems).toEqual([]);
        }),
        { numRuns: RUNS },
      );
      expect(tally.serverErrors).toBe(0);
      // The generators are hostile, not hopeless: most articles must get through and be checked.
      expect(tally.accepted).toBeGreaterThan(tally.articles * 0.5);
    },
    TIMEOUT,
  );

  it(
    `hostile site settings (title, description, copyright) keep every feed well-formed and inert (${RUNS} cases)`,
    async () => {
      const article = {
        id: "fixed",
        title: "Fixed",
        url: "https://nisan.example/ar/news/fixed",
        published_at: "2024-06-19T11:49:00Z",
        content_html: "<p>Body</p>",
      };
      expect((await authed("POST", "/v1/sites/nisan/articles", JSON.stringify(article))).status).toBe(201);
      await fc.assert(
        fc.asyncProperty(hostileSite(), async (settings) => {
          tally.sites++;
          const res = await h.admin("PUT", "/v1/sites/nisan", settings);
          const text = await res.text();
          if (res.status >= 500) tally.serverErrors++;
          if (res.status !== 200) {
            expect(res.status, text).toBeGreaterThanOrEqual(400);
            expect(res.status, text).toBeLessThan(500);
            return;
          }
          const site = JSON.parse(text) as { title: string };
          const problems: string[] = [];
          for (const [format, file] of Object.entries(FORMATS) as [Format, string][]) {
            const served = await fetchFeed(`/nisan/${file}`);
            tally.feeds++;
            if (served.status !== 200) {
              problems.push(`${file}: status ${served.status}`);
              continue;
            }
            const feed = readFeed(format, served.body);
            const extra: string[] = [];
            if (feed.problems.length === 0 && format !== "json") {
              const doc = parseXml(served.body);
              const title = format === "rss" ? textOf(childOf(childOf(doc.rss, "channel"), "title")) : textOf(childOf(doc.feed, "title"));
              if (title !== site.title) extra.push(`feed title ${JSON.stringify(title.slice(0, 80))} != stored`);
            } else if (feed.problems.length === 0 && (JSON.parse(served.body) as { title: string }).title !== site.title) {
              extra.push("JSON Feed title != stored");
            }
            problems.push(...describeProblems(file, feed, extra));
          }
          expect(problems).toEqual([]);
        }),
        { numRuns: RUNS },
      );
      expect(tally.serverErrors).toBe(0);
    },
    TIMEOUT,
  );
});

describe("the sanitiser and the escaping, in-process", () => {
  it("the checkers themselves catch what they must (so a green run means something)", () => {
    const bad = [
      "<script>alert(1)</script>",
      "<img src=x onerror=alert(1)>",
      '<a href="java&#x09;script:alert(1)">x</a>',
      '<a href=" JAVASCRIPT:alert(1)">x</a>',
      "<a href='vbscript:msgbox(1)'>x</a>",
      '<iframe src="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
      '<p style="x">a</p>',
      "<!-- x -->",
      "<svg><g/></svg>",
    ];
    for (const html of bad) expect(executableIn(html), html).not.toEqual([]);
    expect(executableIn('<p dir="rtl" title="javascript: is only text here">&lt;script&gt; <a href="https://a.example/?q=javascript:">x</a></p>')).toEqual([]);
    for (const xml of ["<r>\u0001</r>", "<r>]]></r>", "<r><![CDATA[x]]></r>", "<r>a & b</r>", "<r><a></r>", "<r>\ud800</r>"]) {
      expect(xmlTextProblems(xml), JSON.stringify(xml)).not.toEqual([]);
    }
    expect(xmlTextProblems("<r a=\"&quot;&lt;\">&lt;script&gt; &amp; \u200f</r>")).toEqual([]);
  });

  it(`sanitised HTML is inert, and well-formed XML once escaped into a document (${RUNS * 5} cases)`, () => {
    fc.assert(
      fc.property(hostileHtml, fc.constantFrom("https://nisan.example/ar/news/a", "http://127.0.0.1/x?y=<z>"), (html, base) => {
        tally.sanitised++;
        const clean = sanitizeHtml(html, base);
        expect(executableIn(clean)).toEqual([]);
        // The sanitiser's output is itself well-formed XML (balanced, quoted, escaped).
        expect(XMLValidator.validate(`<r>${clean}</r>`)).toBe(true);
      }),
      { numRuns: RUNS * 5 },
    );
  }, TIMEOUT);

  it(`escapeXml of any cleaned text parses back to the same text, in elements and attributes (${RUNS * 5} cases)`, () => {
    fc.assert(
      fc.property(hostileString(60), (raw) => {
        tally.escaped++;
        const text = cleanText(raw);
        const xml = `<r a="${escapeXml(text)}">${escapeXml(text)}</r>`;
        expect(XMLValidator.validate(xml)).toBe(true);
        const parsed = parseXml(xml).r;
        // XML readers normalise line ends (CR LF and CR become LF); nothing else may change.
        expect(lineEnds(textOf(parsed))).toBe(lineEnds(text));
        expect(lineEnds(typeof parsed === "object" && !Array.isArray(parsed) ? textOf(parsed["@_a"]) : "")).toBe(lineEnds(text));
      }),
      { numRuns: RUNS * 5 },
    );
  }, TIMEOUT);
});
