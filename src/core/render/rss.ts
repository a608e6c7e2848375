// RSS 2.0, with the atom, content, dc and media namespaces. Pure string building.

import type { Article, FeedDocument } from "../model.ts";
import { escapeXml } from "../text.ts";
import {
  FH_NS,
  GENERATOR,
  assemble,
  historyLinks,
  itemTagId,
  itemTerms,
  itemText,
  plainExcerpt,
  rfc822,
  sameLanguage,
  type FeedFrame,
  type ItemSink,
  type ItemSite,
} from "./common.ts";
import { escapedDirectedHtml, writeEscapedDirectedHtml } from "./direction.ts";

const NAMESPACES =
  'xmlns:atom="http://www.w3.org/2005/Atom" ' +
  'xmlns:content="http://purl.org/rss/1.0/modules/content/" ' +
  'xmlns:dc="http://purl.org/dc/elements/1.1/" ' +
  'xmlns:media="http://search.yahoo.com/mrss/"';

/** `<name>text</name>` with the text escaped. */
function el(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/**
 * Plain text for an element that readers treat as HTML (`description`): encoded as HTML text
 * first, then escaped for XML, so `<b>` in plain text is shown as `<b>`, never interpreted.
 */
function plainAsHtml(name: string, text: string): string {
  return `<${name}>${escapeXml(escapeXml(text))}</${name}>`;
}

export function renderRss(doc: FeedDocument): string {
  return assemble(rssFrame(doc), doc.items.map((a) => rssItem(doc.site, a)));
}

/** The channel around the items: everything but the `<item>`s (see FeedFrame). */
export function rssFrame(doc: FeedDocument): FeedFrame {
  const { site } = doc;
  const out: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<rss version="2.0" ${NAMESPACES}${doc.archive ? ` xmlns:fh="${FH_NS}"` : ""}>`,
    "<channel>",
    el("title", site.title),
    el("link", site.home_page_url),
    plainAsHtml("description", site.description ?? site.title),
    el("language", site.language),
    `<atom:link rel="self" type="application/rss+xml" href="${escapeXml(doc.selfUrl)}"/>`,
  ];
  if (doc.nextUrl !== undefined) {
    out.push(`<atom:link rel="next" type="application/rss+xml" href="${escapeXml(doc.nextUrl)}"/>`);
  }
  for (const [rel, href] of historyLinks(doc)) {
    out.push(`<atom:link rel="${rel}" type="application/rss+xml" href="${escapeXml(href)}"/>`);
  }
  if (doc.archive) out.push("<fh:archive/>");
  for (const hub of site.websub_hubs) out.push(`<atom:link rel="hub" href="${escapeXml(hub)}"/>`);
  if (site.copyright !== undefined) out.push(el("copyright", site.copyright));
  if (site.icon !== undefined) {
    out.push(
      `<image>${el("url", site.icon)}${el("title", site.title)}${el("link", site.home_page_url)}</image>`,
    );
  }
  out.push(el("ttl", String(site.ttl_minutes)), el("lastBuildDate", rfc822(doc.updated)), el("generator", GENERATOR));
  return { head: `${out.join("\n")}\n`, separator: "", tail: "</channel>\n</rss>\n" };
}

/** One `<item>` and its line break: the fragment an RSS document is assembled from. */
export function rssItem(site: ItemSite, a: Article): string {
  return itemText((sink) => writeRssItem(site, a, sink));
}

/** rssItem written to `sink`. */
export function writeRssItem(site: ItemSite, a: Article, sink: ItemSink): void {
  const out: string[] = [
    "<item>",
    el("title", a.title),
    el("link", a.url),
    `<guid isPermaLink="false">${escapeXml(itemTagId(site, a.id))}</guid>`,
    el("pubDate", rfc822(a.published_at)),
  ];
  if (a.summary !== undefined) out.push(plainAsHtml("description", a.summary));
  else if (a.content_text !== undefined) out.push(plainAsHtml("description", plainExcerpt(a.content_text)));
  if (a.content_html !== undefined) {
    if (a.summary === undefined && a.content_text === undefined) {
      // The escaped HTML twice (description and content:encoded): escaped once, as a string.
      const html = escapedDirectedHtml(a.content_html, a.language);
      out.push(`<description>${html}</description>`, `<content:encoded>${html}</content:encoded>`);
    } else {
      // The lines so far and the opening tag, the content escaped on the way, then the rest.
      out.push("<content:encoded>");
      sink.text(out.join("\n"));
      writeEscapedDirectedHtml(sink, a.content_html, a.language);
      out.length = 0;
      out.push("</content:encoded>");
    }
  }
  for (const author of a.authors) out.push(el("dc:creator", author.name));
  for (const term of itemTerms(a)) out.push(el("category", term));
  if (!sameLanguage(a.language, site.language)) out.push(el("dc:language", a.language));
  for (const att of a.attachments) {
    out.push(
      `<enclosure url="${escapeXml(att.url)}" length="${String(att.size_in_bytes ?? 0)}" type="${escapeXml(att.mime_type)}"/>`,
    );
  }
  if (a.image !== undefined) {
    const type = a.image.mime_type !== undefined ? ` type="${escapeXml(a.image.mime_type)}"` : "";
    const url = escapeXml(a.image.url);
    out.push(`<media:content url="${url}" medium="image"${type}/>`, `<media:thumbnail url="${url}"/>`);
  }
  // The trailing "" ends the fragment with its line break inside one flat join.
  out.push("</item>", "");
  sink.text(out.join("\n"));
}
