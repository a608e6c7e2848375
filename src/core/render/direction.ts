// Writing direction of item content: right-to-left languages get their HTML wrapped so that
// readers that ignore xml:lang / language still lay the text out correctly.

import { escapeXml } from "../text.ts";
import type { ItemSink } from "./common.ts";

/** Primary language subtags written right to left. */
const RTL_LANGUAGES: ReadonlySet<string> = new Set(["ar", "he", "fa", "ur", "ps", "sd", "ckb", "yi", "dv"]);

/** Script subtags (ISO 15924) written right to left: an explicit script wins over the language. */
const RTL_SCRIPTS: ReadonlySet<string> = new Set([
  "adlm", "arab", "aran", "hebr", "mand", "mend", "nkoo", "rohg", "samr", "syrc", "thaa", "yezi",
]);

/**
 * True when text in this BCP 47 tag runs right to left: decided by the script subtag when
 * there is one (`ar-Latn` is left to right), otherwise by the primary language subtag.
 */
export function isRtlLanguage(language: string): boolean {
  const subtags = language.toLowerCase().split("-");
  const script = subtags[1];
  if (script !== undefined && /^[a-z]{4}$/.test(script)) return RTL_SCRIPTS.has(script);
  return RTL_LANGUAGES.has(subtags[0] ?? "");
}

/**
 * The item's HTML as it goes into a feed: wrapped in `<div dir="rtl" lang="…">` for a
 * right-to-left language, unchanged otherwise. The HTML itself (LRM/RLM included) is untouched.
 */
export function directedHtml(html: string, language: string): string {
  if (!isRtlLanguage(language)) return html;
  return `<div dir="rtl" lang="${escapeXml(language)}">${html}</div>`;
}

/**
 * escapeXml(directedHtml(html, language)), with the wrapper and the HTML escaped apart: the
 * (usually long) HTML is escaped as the flat string it was stored as, never as a new concatenation
 * that every character read would have to walk. Same characters: escaping is per character, and
 * the wrapper's ends are ASCII, so nothing pairs across the joins.
 */
export function escapedDirectedHtml(html: string, language: string): string {
  if (!isRtlLanguage(language)) return escapeXml(html);
  return `${escapeXml(`<div dir="rtl" lang="${escapeXml(language)}">`)}${escapeXml(html)}&lt;/div&gt;`;
}

/** escapedDirectedHtml(html, language) written to `sink`, the HTML through sink.escapedXml. */
export function writeEscapedDirectedHtml(sink: ItemSink, html: string, language: string): void {
  const rtl = isRtlLanguage(language);
  if (rtl) sink.text(escapeXml(`<div dir="rtl" lang="${escapeXml(language)}">`));
  sink.escapedXml(html);
  if (rtl) sink.text("&lt;/div&gt;");
}

/**
 * jsonString(directedHtml(html, language)) without its quotes, written to `sink`: the wrapper's
 * ends as text, the HTML through sink.jsonEscaped (escaped and encoded in one pass by a byte
 * writer). Same text: JSON escapes are per character, and the joins are ASCII.
 */
export function writeJsonDirectedHtml(sink: ItemSink, html: string, language: string): void {
  const rtl = isRtlLanguage(language);
  if (rtl) sink.jsonEscaped(`<div dir="rtl" lang="${escapeXml(language)}">`);
  sink.jsonEscaped(html);
  if (rtl) sink.text("</div>");
}
