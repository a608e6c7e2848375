// Checks on served feeds, as a reader sees them: the XML is well-formed and carries no character
// XML forbids, there is no CDATA section to break out of, and the HTML inside (content:encoded,
// Atom content type="html", RSS description, JSON content_html) has nothing executable.

import { Parser } from "htmlparser2";
import { XMLParser, XMLValidator } from "fast-xml-parser";

/** Characters the contract removes: XML 1.0's forbidden ones, C1 controls, U+FFFD, lone surrogates. */
const FORBIDDEN_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u0080-\u009F\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Elements that run script, load other documents or change how the page resolves URLs. */
const DANGEROUS_ELEMENTS = new Set([
  "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link",
  "form", "style", "svg", "math", "template", "noscript", "xmp", "plaintext", "noembed", "textarea",
  "title", "input", "button", "select",
]);

/** Attributes that a browser reads as a URL (or a list of them). */
const URL_ATTRIBUTES = new Set([
  "href", "src", "poster", "cite", "action", "formaction", "background", "srcset", "data",
  "xlink:href", "lowsrc", "dynsrc", "longdesc", "usemap", "manifest", "icon", "ping", "codebase",
  "classid", "profile", "itemtype", "archive",
]);

/** Attributes that are script or documents by themselves. */
const SCRIPT_ATTRIBUTES = new Set(["srcdoc", "style", "formaction", "xlink:href", "is"]);

/** Everything executable in `html` when a browser renders it; [] when it is inert. */
export function executableIn(html: string): string[] {
  const found: string[] = [];
  // Text is always escaped, so a raw `<script` can only be a tag.
  if (/<\s*script/i.test(html)) found.push("raw <script");
  if (html.includes("<!--")) found.push("a comment");
  if (/<!\[CDATA\[/i.test(html)) found.push("a CDATA section");
  if (/<[?!]/.test(html)) found.push("a declaration or processing instruction");
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (DANGEROUS_ELEMENTS.has(name)) found.push(`<${name}>`);
        for (const [attribute, value] of Object.entries(attributes)) {
          if (attribute.startsWith("on")) found.push(`<${name} ${attribute}>`);
          if (SCRIPT_ATTRIBUTES.has(attribute)) found.push(`<${name} ${attribute}>`);
          if (URL_ATTRIBUTES.has(attribute)) {
            // Browsers skip controls and white space around and (tab, newline) inside a scheme.
            const squeezed = value.replace(/[\u0000-\u0020\u007F-\u009F]+/g, "").toLowerCase();
            if (/^(javascript|vbscript|data|livescript|mocha):/.test(squeezed)) found.push(`<${name} ${attribute}="${value.slice(0, 40)}">`);
          }
        }
      },
      oncomment() {
        found.push("a comment (parsed)");
      },
      onprocessinginstruction(name) {
        found.push(`a processing instruction ${name}`);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeCDATA: false },
  );
  parser.write(html);
  parser.end();
  return found;
}

/** Problems with an XML document's text as served: [] when it is clean. */
export function xmlTextProblems(xml: string): string[] {
  const problems: string[] = [];
  const valid = XMLValidator.validate(xml);
  if (valid !== true) problems.push(`not well-formed: ${JSON.stringify(valid.err)}`);
  const bad = FORBIDDEN_CHARS.exec(xml);
  if (bad) problems.push(`forbidden character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} at ${bad.index}`);
  // The renderers never write CDATA, so `]]>` can never end one early, and must never appear raw.
  if (xml.includes("<![CDATA[")) problems.push("a CDATA section");
  if (xml.includes("]]>")) problems.push("a raw ]]>");
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) problems.push("a DOCTYPE or entity declaration");
  return problems;
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => ["item", "entry", "category", "dc:creator", "author", "link", "enclosure", "atom:link"].includes(name),
});

export type XmlValue = string | { [key: string]: XmlValue } | XmlValue[];

export function parseXml(xml: string): Record<string, XmlValue> {
  return xmlParser.parse(xml) as Record<string, XmlValue>;
}

/** The text of an element as parsed (with or without attributes); "" when absent. */
export function textOf(value: XmlValue | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(textOf).join("");
  const text = value["#text"];
  return typeof text === "string" ? text : "";
}

export function attrOf(value: XmlValue | undefined, name: string): string | undefined {
  if (value === undefined || typeof value === "string" || Array.isArray(value)) return undefined;
  const attr = value[`@_${name}`];
  return typeof attr === "string" ? attr : undefined;
}

export function childOf(value: XmlValue | undefined, name: string): XmlValue | undefined {
  if (value === undefined || typeof value === "string" || Array.isArray(value)) return undefined;
  return value[name];
}

export function listOf(value: XmlValue | undefined): XmlValue[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** What a reader takes from one item of a feed. */
export interface ReadItem {
  title: string;
  /** Every text a reader renders as HTML. */
  html: string[];
  /** The item's full HTML body (content:encoded, Atom content type="html", content_html), if any. */
  content?: string;
  /** Plain-text fields, for round-trip checks. */
  text: string[];
}

export interface ReadFeed {
  problems: string[];
  /** Feed-level HTML (RSS channel description). */
  html: string[];
  items: ReadItem[];
}

/** Parses a served feed the way a reader does, and collects what it would render. */
export function readFeed(format: "rss" | "atom" | "json", body: string): ReadFeed {
  if (format === "json") {
    let doc: { items?: Record<string, unknown>[] };
    try {
      doc = JSON.parse(body) as { items?: Record<string, unknown>[] };
    } catch (error) {
      return { problems: [`JSON does not parse: ${String(error)}`], html: [], items: [] };
    }
    const problems: string[] = [];
    const bad = FORBIDDEN_CHARS.exec(body);
    if (bad) problems.push(`forbidden character U+${bad[0].charCodeAt(0).toString(16)} in JSON text`);
    if (/[\u2028\u2029]/.test(body)) problems.push("raw U+2028/U+2029 in JSON text");
    const items = (doc.items ?? []).map((item): ReadItem => {
      const content = typeof item.content_html === "string" ? item.content_html : undefined;
      const text = ["summary", "content_text"].map((k) => item[k]).filter((v): v is string => typeof v === "string");
      return { title: typeof item.title === "string" ? item.title : "", html: content === undefined ? [] : [content], ...(content === undefined ? {} : { content }), text };
    });
    return { problems, html: [], items };
  }

  const problems = xmlTextProblems(body);
  if (problems.length) return { problems, html: [], items: [] };
  const doc = parseXml(body);
  if (format === "rss") {
    const channel = childOf(doc.rss, "channel");
    const items = listOf(childOf(channel, "item")).map((item): ReadItem => {
      const content = childOf(item, "content:encoded");
      const description = childOf(item, "description");
      const html = [textOf(description), textOf(content)].filter((s) => s !== "");
      return { title: textOf(childOf(item, "title")), html, ...(content === undefined ? {} : { content: textOf(content) }), text: [] };
    });
    return { problems, html: [textOf(childOf(channel, "description"))], items };
  }
  const feed = doc.feed;
  const items = listOf(childOf(feed, "entry")).map((entry): ReadItem => {
    const content = childOf(entry, "content");
    const isHtml = attrOf(content, "type") === "html";
    const text = [textOf(childOf(entry, "summary"))];
    if (content !== undefined && !isHtml) text.push(textOf(content));
    return {
      title: textOf(childOf(entry, "title")),
      html: isHtml ? [textOf(content)] : [],
      ...(isHtml ? { content: textOf(content) } : {}),
      text: text.filter((s) => s !== ""),
    };
  });
  return { problems, html: [], items };
}
