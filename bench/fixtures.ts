// Benchmark data: the seed site and article (tests/fixtures), normalised by the app's own
// validation, repeated with distinct ids, times and categories. Arabic content, ~4.4 KB of HTML each.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateArticle } from "../src/core/article.ts";
import type { Article, FeedDocument, Site } from "../src/core/model.ts";

export const ROOT = join(import.meta.dirname, "..");
const FIXTURES = join(ROOT, "tests", "fixtures");

export function seedSiteInput(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, "seed-site.json"), "utf8")) as Record<string, unknown>;
}

export function seedArticleInput(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, "seed-article.json"), "utf8")) as Record<string, unknown>;
}

/** The seed site as the API stores it. */
export function benchSite(slug = "nisan"): Site {
  const raw = seedSiteInput();
  return {
    slug,
    title: String(raw.title),
    description: String(raw.description),
    home_page_url: String(raw.home_page_url),
    language: String(raw.language),
    timezone: String(raw.timezone),
    ttl_minutes: 15,
    tombstone_days: 30,
    websub_hubs: [],
    created_at: "2026-01-05T10:00:00Z",
    updated_at: "2026-01-06T08:30:00Z",
  };
}

/** 2024-06-19T11:49:00Z, the seed's instant: article i is i minutes older. */
const NEWEST = Date.UTC(2024, 5, 19, 11, 49, 0);

export function publishedAt(i: number): string {
  return new Date(NEWEST - i * 60_000).toISOString().replace(".000Z", "Z");
}

export function articleId(i: number): string {
  return `bench-${String(i).padStart(6, "0")}`;
}

/** How many categories articles are spread over (each article has its own plus the seed's). */
export const BENCH_CATEGORIES = 400;

let template: Article | undefined;

/** Article i: the seed, validated once, with its own id, time and category; newest is i = 0. */
export function benchArticle(i: number): Article {
  if (template === undefined) {
    const checked = validateArticle(seedArticleInput(), { site: { language: "ar", timezone: "Asia/Amman" }, now: Date.UTC(2026, 0, 1) });
    if (!checked.ok) throw new Error(`seed article does not validate: ${JSON.stringify(checked.errors)}`);
    template = checked.value;
  }
  const at = publishedAt(i);
  return {
    ...template,
    id: articleId(i),
    url: `${template.url}-${i}`,
    published_at: at,
    updated_at: at,
    categories: [...template.categories, `cat-${i % BENCH_CATEGORIES}`],
  };
}

/** Articles as a store answers them: each parsed from its own JSON (flat strings, no sharing). */
export function benchArticles(n: number): Article[] {
  return Array.from({ length: n }, (_, i) => JSON.parse(JSON.stringify(benchArticle(i))) as Article);
}

/** A subscription document of the seed site with these items, as the app builds it. */
export function benchDocument(items: Article[], format: "rss" | "atom" | "json"): FeedDocument {
  const site = benchSite();
  const base = "https://feeds.nisan.example/nisan";
  const files = { rss: "rss.xml", atom: "atom.xml", json: "feed.json" } as const;
  return {
    site,
    filter: { kind: "all" },
    selfUrl: `${base}/${files[format]}`,
    formatUrls: { rss: `${base}/rss.xml`, atom: `${base}/atom.xml`, json: `${base}/feed.json` },
    items,
    updated: items[0]?.updated_at ?? site.updated_at,
    history: {},
    archive: false,
    tombstones: [],
  };
}
