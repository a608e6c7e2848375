// Atom 1.0 (RFC 4287). Pure string building.

import type { Article, FeedDocument } from "../model.ts";
import { feedId, itemId } from "../ids.ts";
import { escapeXml } from "../text.ts";
import {
  FH_NS,
  GENERATOR,
  assemble,
  historyLinks,
  itemTagId,
  itemTerms,
  itemText,
  rfc3339,
  sameLanguage,
  type FeedFrame,
  type ItemSink,
  type ItemSite,
} from "./common.ts";

import { writeEscapedDirectedHtml } from "./direction.ts";

const TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0";

/** `<name>text</name>` with the text escaped. */
function el(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** `<link …/>` from attribute pairs; undefined values are left out. */
function link(attrs: ReadonlyArray<readonly [string, string | undefined]>): string {
  let s = "<link";
  for (const [name, value] of attrs) if (value !== undefined) s += ` ${name}="${escapeXml(value)}"`;
  return `${s}/>`;
}

export function renderAtom(doc: FeedDocument): string {
  return assemble(atomFrame(doc), doc.items.map((a) => atomEntry(doc.site, a)));
}

/** The feed around its entries: everything but the `<entry>`s, tombstones included (see FeedFrame). */
export function atomFrame(doc: FeedDocument): FeedFrame {
  const { site } = doc;
  const out: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom"${doc.archive ? ` xmlns:fh="${FH_NS}"` : ""}${
      doc.tombstones.length ? ` xmlns:at="${TOMBSTONE_NS}"` : ""
    } xml:lang="${escapeXml(site.language)}">`,
    el("id", feedId(site, doc.filter)),
    '<title type="text">' + escapeXml(site.title) + "</title>",
  ];
  if (site.description !== undefined) out.push(`<subtitle type="text">${escapeXml(site.description)}</subtitle>`);
  out.push(
    el("updated", rfc3339(doc.updated)),
    `<author>${el("name", site.title)}${el("uri", site.home_page_url)}</author>`,
    link([["rel", "self"], ["type", "application/atom+xml"], ["href", doc.selfUrl]]),
    link([["rel", "alternate"], ["type", "text/html"], ["href", site.home_page_url]]),
  );
  if (doc.archive) out.push("<fh:archive/>");
  if (doc.nextUrl !== undefined) out.push(link([["rel", "next"], ["type", "application/atom+xml"], ["href", doc.nextUrl]]));
  for (const [rel, href] of historyLinks(doc)) out.push(link([["rel", rel], ["type", "application/atom+xml"], ["href", href]]));
  for (const hub of site.websub_hubs) out.push(link([["rel", "hub"], ["href", hub]]));
  if (site.icon !== undefined) out.push(el("icon", site.icon));
  if (site.copyright !== undefined) out.push(`<rights type="text">${escapeXml(site.copyright)}</rights>`);
  out.push(el("generator", GENERATOR));
  const tail: string[] = [];
  for (const gone of doc.tombstones) {
    tail.push(`<at:deleted-entry ref="${escapeXml(itemId(site, gone.id))}" when="${escapeXml(rfc3339(gone.deleted_at))}"/>`);
  }
  tail.push("</feed>", "");
  return { head: `${out.join("\n")}\n`, separator: "", tail: tail.join("\n") };
}

/** One `<entry>` and its line break: the fragment an Atom document is assembled from. */
export function atomEntry(site: ItemSite, a: Article): string {
  return itemText((sink) => writeAtomEntry(site, a, sink));
}

/** atomEntry written to `sink`. */
export function writeAtomEntry(site: ItemSite, a: Article, sink: ItemSink): void {
  const lang = sameLanguage(a.language, site.language) ? "" : ` xml:lang="${escapeXml(a.language)}"`;
  const out: string[] = [
    `<entry${lang}>`,
    el("id", itemTagId(site, a.id)),
    `<title type="text">${escapeXml(a.title)}</title>`,
    link([["rel", "alternate"], ["type", "text/html"], ["href", a.url]]),
    el("published", rfc3339(a.published_at)),
    el("updated", rfc3339(a.updated_at)),
  ];
  for (const p of a.authors) {
    let author = `<author>${el("name", p.name)}`;
    if (p.url !== undefined) author += el("uri", p.url);
    if (p.email !== undefined) author += el("email", p.email);
    out.push(`${author}</author>`);
  }
  for (const term of itemTerms(a)) out.push(`<category term="${escapeXml(term)}"/>`);
  if (a.summary !== undefined) out.push(`<summary type="text">${escapeXml(a.summary)}</summary>`);
  if (a.content_html !== undefined) {
    // The lines so far and the opening tag, the content escaped on the way, then the rest.
    out.push('<content type="html">');
    sink.text(out.join("\n"));
    writeEscapedDirectedHtml(sink, a.content_html, a.language);
    out.length = 0;
    out.push("</content>");
  } else if (a.content_text !== undefined) {
    out.push(`<content type="text">${escapeXml(a.content_text)}</content>`);
  }
  for (const att of a.attachments) {
    out.push(
      link([
        ["rel", "enclosure"],
        ["type", att.mime_type],
        ["href", att.url],
        ["length", att.size_in_bytes !== undefined ? String(att.size_in_bytes) : undefined],
        ["title", att.title],
      ]),
    );
  }
  // An image is an enclosure only when its type is known: a MIME type is never guessed.
  const image = a.image;
  if (image?.mime_type !== undefined && !a.attachments.some((att) => att.url === image.url)) {
    out.push(link([["rel", "enclosure"], ["type", image.mime_type], ["href", image.url], ["title", image.alt]]));
  }
  // The trailing "" ends the fragment with its line break inside one flat join.
  out.push("</entry>", "");
  sink.text(out.join("\n"));
}
