// OPML 2.0 subscription list of a site's feeds (http://opml.org/spec2.opml). Pure string building:
// no clock, same input, same bytes.

import type { Article, FeedFilter, FeedFormat, Site } from "../model.ts";
import { escapeXml } from "../text.ts";
import { FORMATS, FORMAT_LABELS, feedTerms, feedUrl, uiStrings } from "./page.ts";

export const OPML_CONTENT_TYPE = "text/x-opml; charset=utf-8";

export interface OpmlInput {
  baseUrl: string;
  site: Site;
  /** The latest articles: their categories and tags get an outline each. */
  articles: readonly Article[];
}

function attrs(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  let s = "";
  for (const [name, value] of pairs) if (value !== undefined) s += ` ${name}="${escapeXml(value)}"`;
  return s;
}

/**
 * The site's feeds as OPML 2.0: the main feed in each format, then one RSS subscription per
 * category and per tag seen among `articles` (one format each, so that importing the file into a
 * reader subscribes to every topic once). Every subscription is `type="rss"`, as the spec says.
 */
export function renderOpml(input: OpmlInput): string {
  const { baseUrl, site } = input;
  const { categories, tags } = feedTerms(input.articles);
  const ui = uiStrings(site.language);
  const subscription = (filter: FeedFilter, format: FeedFormat, text: string, description?: string): string =>
    `<outline${attrs([
      ["type", "rss"],
      ["text", text],
      ["title", text],
      ["xmlUrl", feedUrl(baseUrl, site.slug, filter, format)],
      ["htmlUrl", site.home_page_url],
      ["language", site.language],
      ["version", format === "rss" ? "RSS2" : undefined],
      ["description", description],
    ])}/>`;
  const group = (text: string, outlines: string[]): string[] =>
    outlines.length === 0 ? [] : [`<outline${attrs([["text", text], ["title", text]])}>`, ...outlines, "</outline>"];

  const out: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<opml version="2.0">',
    "<head>",
    `<title>${escapeXml(site.title)}</title>`,
    "<docs>http://opml.org/spec2.opml</docs>",
    "</head>",
    "<body>",
    ...group(
      site.title,
      FORMATS.map((format) => subscription({ kind: "all" }, format, `${site.title} (${FORMAT_LABELS[format]})`, site.description)),
    ),
    ...group(
      ui.byCategory,
      categories.map((name) => subscription({ kind: "category", name }, "rss", `${site.title}: ${name}`)),
    ),
    ...group(
      ui.byTag,
      tags.map((name) => subscription({ kind: "tag", name }, "rss", `${site.title}: #${name}`)),
    ),
    "</body>",
    "</opml>",
    "",
  ];
  return out.join("\n");
}
