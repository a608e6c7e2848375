// The HTML page of a site, for people: its latest articles, its feeds, and how to subscribe.
// Pure string building: no clock, no script; every value goes through escapeXml.

import { toMs, zonedFields } from "../dates.ts";
import { feedPath } from "../feed.ts";
import { htmlToPlainText } from "../html.ts";
import type { Article, FeedFilter, FeedFormat, Site } from "../model.ts";
import { escapeXml } from "../text.ts";
import { GENERATOR, plainExcerpt, sameLanguage } from "./common.ts";
import { isRtlLanguage } from "./direction.ts";

export const PAGE_CONTENT_TYPE = "text/html; charset=utf-8";

/** Scripts are never needed: styles only inline, images from anywhere on the web (site icon). */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:";

export const FORMATS: readonly FeedFormat[] = ["rss", "atom", "json"];

/** What each format is called where people read it. */
export const FORMAT_LABELS: Readonly<Record<FeedFormat, string>> = { rss: "RSS", atom: "Atom", json: "JSON Feed" };

/** MIME types without parameters, as `<link rel="alternate" type>` and `<a type>` want them. */
export const FORMAT_TYPES: Readonly<Record<FeedFormat, string>> = {
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  json: "application/feed+json",
};

/** Absolute, percent-encoded URL of one feed, from the configured base URL (never a request's Host). */
export function feedUrl(baseUrl: string, slug: string, filter: FeedFilter, format: FeedFormat): string {
  return `${baseUrl}${feedPath(slug, filter, format)}`;
}

/** The categories and tags of these articles, each once, in order of first appearance (newest first). */
export function feedTerms(articles: readonly Article[]): { categories: string[]; tags: string[] } {
  const categories = new Set<string>();
  const tags = new Set<string>();
  for (const a of articles) {
    for (const c of a.categories) categories.add(c);
    for (const t of a.tags) tags.add(t);
  }
  return { categories: [...categories], tags: [...tags] };
}

/** The words of the page (and of OPML group names) in one language. */
export interface UiStrings {
  /** BCP 47 tag of these strings. */
  lang: string;
  subscribeHeading: string;
  subscribeText: string;
  subscribeHint: string;
  allArticles: string;
  latest: string;
  timesIn: string;
  noArticles: string;
  byCategory: string;
  byTag: string;
  opml: string;
  visitSite: string;
  servedBy: string;
}

const ENGLISH: UiStrings = {
  lang: "en",
  subscribeHeading: "Follow this site in a feed reader",
  subscribeText:
    "A feed reader shows you new articles as soon as they are published, without visiting the site. " +
    "Copy one of the addresses below and paste it into your reader (for example NetNewsWire, Feedly, Inoreader or Thunderbird) where it asks for a feed or subscription.",
  subscribeHint: "Not sure which one to pick? Choose RSS: every reader understands it.",
  allArticles: "All articles",
  latest: "Latest articles",
  timesIn: "Times are shown in the time zone",
  noArticles: "No articles have been published yet.",
  byCategory: "Feeds by category",
  byTag: "Feeds by tag",
  opml: "All these feeds in one OPML file, to import into a reader",
  visitSite: "Visit the site",
  servedBy: "Feeds served by",
};

const ARABIC: UiStrings = {
  lang: "ar",
  subscribeHeading: "تابِع هذا الموقع في قارئ الخلاصات",
  subscribeText:
    "يعرض لك قارئ الخلاصات المقالات الجديدة فور نشرها، دون الحاجة إلى زيارة الموقع. " +
    "انسخ أحد العناوين أدناه والصقه في قارئ الخلاصات لديك (مثل NetNewsWire أو Feedly أو Inoreader أو Thunderbird) في خانة إضافة خلاصة أو اشتراك.",
  subscribeHint: "لست متأكدًا أيّها تختار؟ اختر RSS، فكل القرّاء يفهمونها.",
  allArticles: "كل المقالات",
  latest: "أحدث المقالات",
  timesIn: "الأوقات معروضة بتوقيت المنطقة الزمنية",
  noArticles: "لم تُنشر أي مقالات بعد.",
  byCategory: "خلاصات حسب التصنيف",
  byTag: "خلاصات حسب الوسم",
  opml: "كل هذه الخلاصات في ملف OPML واحد لاستيراده في قارئ الخلاصات",
  visitSite: "زيارة الموقع",
  servedBy: "الخلاصات من خدمة",
};

/** Arabic for Arabic sites (any region or script subtag), English for every other language. */
export function uiStrings(language: string): UiStrings {
  return language.toLowerCase().split("-")[0] === "ar" ? ARABIC : ENGLISH;
}

/** `<time>` of an instant as the site's clocks showed it: `datetime` with the zone's offset. */
function localTime(timestamp: string, timeZone: string): { datetime: string; text: string } {
  const ms = toMs(timestamp);
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  const [year, month, day, hour, minute, second] = zonedFields(whole, timeZone);
  const offset = Math.round((Date.UTC(year, month, day, hour, minute, second) - whole) / 60_000);
  const two = (n: number) => String(n).padStart(2, "0");
  const date = `${String(year).padStart(4, "0")}-${two(month + 1)}-${two(day)}`;
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? "-" : "+"}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
  return { datetime: `${date}T${two(hour)}:${two(minute)}:${two(second)}${zone}`, text: `${date} ${two(hour)}:${two(minute)}` };
}

/** One line of plain text for the list: the summary, or the start of the content. */
function excerptOf(a: Article): string | undefined {
  const text = a.summary ?? a.content_text ?? (a.content_html !== undefined ? htmlToPlainText(a.content_html) : undefined);
  if (text === undefined) return undefined;
  const excerpt = plainExcerpt(text);
  return excerpt === "" ? undefined : excerpt;
}

/** ` lang="…" dir="…"` when a text's language differs from the page's, "" otherwise. */
function languageAttrs(language: string, pageLanguage: string): string {
  if (sameLanguage(language, pageLanguage)) return "";
  return ` lang="${escapeXml(language)}" dir="${isRtlLanguage(language) ? "rtl" : "ltr"}"`;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#5f6368;--bg:#fdfdfc;--card:#fff;--line:#e3e3e0;--accent:#0b57d0;--code:#f3f3f1}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e6;--muted:#a6a6a3;--bg:#161617;--card:#1f1f21;--line:#333336;--accent:#8ab4f8;--code:#2a2a2d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.65 system-ui,-apple-system,"Segoe UI","Noto Sans Arabic","Noto Naskh Arabic",Tahoma,"DejaVu Sans",sans-serif}
.wrap{max-width:46rem;margin:0 auto;padding:2rem 1.25rem 3rem}
header{border-block-end:1px solid var(--line);padding-block-end:1.25rem;margin-block-end:1.5rem}
header img{width:48px;height:48px;border-radius:8px;vertical-align:middle;margin-inline-end:.6rem}
h1{font-size:2rem;line-height:1.3;margin:0}
h1 a{color:inherit;text-decoration:none}
.description{color:var(--muted);margin:.4rem 0 0}
h2{font-size:1.25rem;margin:2.25rem 0 .75rem}
a{color:var(--accent);text-underline-offset:.18em}
.subscribe{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem 1.25rem}
.subscribe h2{margin-block-start:.25rem}
.subscribe p{margin:.5rem 0}
ul,ol{padding:0;margin:0;list-style:none}
.main-feeds li{display:flex;flex-wrap:wrap;align-items:baseline;gap:.25rem .75rem;padding:.35rem 0}
.format{display:inline-block;min-width:6.5rem;font-weight:600}
code{font:.9rem/1.5 ui-monospace,"DejaVu Sans Mono",monospace;background:var(--code);padding:.15rem .4rem;border-radius:6px;overflow-wrap:anywhere}
.articles li{padding:1rem 0;border-block-end:1px solid var(--line)}
.articles h3{font-size:1.15rem;line-height:1.45;margin:0 0 .25rem}
.articles h3 a{color:inherit;text-decoration:none}
.articles h3 a:hover{color:var(--accent);text-decoration:underline}
.articles p{margin:.35rem 0 0}
time,.note{color:var(--muted);font-size:.9rem}
.terms li{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem 1rem;padding:.3rem 0;border-block-end:1px dotted var(--line)}
.terms .links a{margin-inline-start:.75rem}
footer{margin-block-start:2.5rem;color:var(--muted);font-size:.9rem}
`.trim();

export interface SitePageInput {
  baseUrl: string;
  site: Site;
  /** The latest articles, newest first: listed, and their categories and tags get feed links. */
  articles: readonly Article[];
}

/** `/{site}/`: a complete HTML document (UTF-8), `lang` and `dir` from the site's language. */
export function renderSitePage(input: SitePageInput): string {
  const { baseUrl, site, articles } = input;
  const ui = uiStrings(site.language);
  const rtl = isRtlLanguage(site.language);
  // The page's own words carry their language when it is not the site's (a Hebrew site gets English words).
  const uiAttrs = languageAttrs(ui.lang, site.language);
  const url = (filter: FeedFilter, format: FeedFormat) => escapeXml(feedUrl(baseUrl, site.slug, filter, format));
  const title = escapeXml(site.title);

  const out: string[] = [
    "<!DOCTYPE html>",
    `<html lang="${escapeXml(site.language)}" dir="${rtl ? "rtl" : "ltr"}">`,
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
  ];
  if (site.description !== undefined) out.push(`<meta name="description" content="${escapeXml(site.description)}">`);
  out.push(`<meta name="generator" content="${GENERATOR}">`);
  if (site.icon !== undefined) out.push(`<link rel="icon" href="${escapeXml(site.icon)}">`);
  for (const format of FORMATS) {
    out.push(
      `<link rel="alternate" type="${FORMAT_TYPES[format]}" title="${title} (${FORMAT_LABELS[format]})" href="${url({ kind: "all" }, format)}">`,
    );
  }
  out.push(`<style>${STYLE}</style>`, "</head>", "<body>", '<div class="wrap">', "<header>");
  const icon = site.icon !== undefined ? `<img src="${escapeXml(site.icon)}" alt="">` : "";
  out.push(`<h1>${icon}<a href="${escapeXml(site.home_page_url)}">${title}</a></h1>`);
  if (site.description !== undefined) out.push(`<p class="description">${escapeXml(site.description)}</p>`);
  out.push("</header>", "<main>");

  // How to subscribe, with the main feed's addresses shown in full so they can be copied.
  out.push(
    `<section class="subscribe" aria-labelledby="subscribe"${uiAttrs}>`,
    `<h2 id="subscribe">${escapeXml(ui.subscribeHeading)}</h2>`,
    `<p>${escapeXml(ui.subscribeText)}</p>`,
    '<ul class="main-feeds">',
  );
  for (const format of FORMATS) {
    const href = url({ kind: "all" }, format);
    out.push(
      `<li><span class="format">${FORMAT_LABELS[format]}</span> <a href="${href}" type="${FORMAT_TYPES[format]}"><code dir="ltr">${href}</code></a></li>`,
    );
  }
  out.push("</ul>", `<p class="note">${escapeXml(ui.subscribeHint)}</p>`, "</section>");

  // The latest articles.
  out.push(`<section aria-labelledby="latest">`, `<h2 id="latest"${uiAttrs}>${escapeXml(ui.latest)}</h2>`);
  if (articles.length === 0) {
    out.push(`<p${uiAttrs}>${escapeXml(ui.noArticles)}</p>`);
  } else {
    out.push(`<p class="note"${uiAttrs}>${escapeXml(ui.timesIn)} <bdi>${escapeXml(site.timezone)}</bdi></p>`, '<ol class="articles">');
    for (const a of articles) {
      const time = localTime(a.published_at, site.timezone);
      const excerpt = excerptOf(a);
      out.push(
        `<li${languageAttrs(a.language, site.language)}>`,
        `<h3><a href="${escapeXml(a.url)}">${escapeXml(a.title)}</a></h3>`,
        `<time datetime="${time.datetime}" dir="ltr">${time.text}</time>`,
      );
      if (excerpt !== undefined) out.push(`<p>${escapeXml(excerpt)}</p>`);
      out.push("</li>");
    }
    out.push("</ol>");
  }
  out.push("</section>");

  // A feed per category and tag seen among these articles.
  const { categories, tags } = feedTerms(articles);
  const termSection = (id: string, heading: string, filters: FeedFilter[]) => {
    if (filters.length === 0) return;
    out.push(`<section aria-labelledby="${id}">`, `<h2 id="${id}"${uiAttrs}>${escapeXml(heading)}</h2>`, '<ul class="terms">');
    for (const filter of filters) {
      const name = filter.kind === "all" ? site.title : filter.name;
      const links = FORMATS.map((f) => `<a href="${url(filter, f)}" type="${FORMAT_TYPES[f]}">${FORMAT_LABELS[f]}</a>`).join("");
      out.push(`<li><span class="name">${escapeXml(name)}</span> <span class="links" dir="ltr">${links}</span></li>`);
    }
    out.push("</ul>", "</section>");
  };
  termSection("categories", ui.byCategory, categories.map((name) => ({ kind: "category", name })));
  termSection("tags", ui.byTag, tags.map((name) => ({ kind: "tag", name })));

  out.push(
    "</main>",
    `<footer${uiAttrs}>`,
    `<p><a href="${escapeXml(`${baseUrl}/${site.slug}/feeds.opml`)}" type="text/x-opml">${escapeXml(ui.opml)}</a></p>`,
    `<p><a href="${escapeXml(site.home_page_url)}">${escapeXml(ui.visitSite)}</a> · ${escapeXml(ui.servedBy)} ${GENERATOR}</p>`,
    "</footer>",
    "</div>",
    "</body>",
    "</html>",
    "",
  );
  return out.join("\n");
}
