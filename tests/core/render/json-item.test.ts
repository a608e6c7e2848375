// jsonItem writes the JSON text member by member; its definition is the item object below, built
// with spreads in a fixed key order and serialised by jsonText (as the renderer did before).
// Compared on any article, strings of any UTF-16 (lone surrogates, controls, U+2028/U+2029).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { itemId } from "../../../src/core/ids.ts";
import type { Article, Attachment, Person } from "../../../src/core/model.ts";
import { itemTerms, rfc3339, type ItemSite } from "../../../src/core/render/common.ts";
import { directedHtml } from "../../../src/core/render/direction.ts";
import { jsonItem } from "../../../src/core/render/json.ts";
import { jsonString, jsonText } from "../../../src/core/text.ts";
import { seedArticle, seedSite } from "./helpers.ts";

function author(p: Person): object {
  return { name: p.name, ...(p.url !== undefined && { url: p.url }) };
}

function attachment(att: Attachment): object {
  return {
    url: att.url,
    mime_type: att.mime_type,
    ...(att.title !== undefined && { title: att.title }),
    ...(att.size_in_bytes !== undefined && { size_in_bytes: att.size_in_bytes }),
  };
}

/** The item object of JSON Feed 1.1, as json.ts built it. */
function itemObject(site: ItemSite, a: Article): object {
  const text = a.content_text ?? (a.content_html === undefined ? (a.summary ?? "") : undefined);
  const tags = itemTerms(a);
  return {
    id: itemId(site, a.id),
    url: a.url,
    title: a.title,
    ...(a.summary !== undefined && { summary: a.summary }),
    ...(a.content_html !== undefined && { content_html: directedHtml(a.content_html, a.language) }),
    ...(text !== undefined && { content_text: text }),
    ...(a.image !== undefined && { image: a.image.url }),
    date_published: rfc3339(a.published_at),
    date_modified: rfc3339(a.updated_at),
    ...(a.authors.length > 0 && { authors: a.authors.map(author) }),
    ...(tags.length > 0 && { tags }),
    language: a.language,
    ...(a.attachments.length > 0 && { attachments: a.attachments.map(attachment) }),
  };
}

const unit = fc.oneof(
  fc.constantFrom("&", "<", '"', "\\", "/", "\t", "\n", "\u0000", "\u001f", "\u007f", "\u0085", "\u2028", "\u2029", "\ufeff"),
  fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "\ufffd", "نيسان", "ـ", "\u200f"),
  fc.string({ unit: "binary", maxLength: 3 }),
  fc.string({ maxLength: 5 }),
);
const text = fc.array(unit, { maxLength: 20 }).map((parts) => parts.join(""));
const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms).toISOString());

const article: fc.Arbitrary<Article> = fc.record(
  {
    id: fc.stringMatching(/^[a-z0-9][a-z0-9:._-]{0,20}$/),
    title: text,
    url: text,
    published_at: instant,
    updated_at: instant,
    summary: text,
    content_html: text,
    content_text: text,
    authors: fc.array(fc.record({ name: text, url: text, email: text }, { requiredKeys: ["name"] }), { maxLength: 2 }),
    categories: fc.array(text, { maxLength: 3 }),
    tags: fc.array(text, { maxLength: 3 }),
    image: fc.record({ url: text, mime_type: text, alt: text }, { requiredKeys: ["url"] }),
    attachments: fc.array(
      fc.record({ url: text, mime_type: text, size_in_bytes: fc.oneof(fc.nat(), fc.double()), title: text }, { requiredKeys: ["url", "mime_type"] }),
      { maxLength: 2 },
    ),
    language: fc.constantFrom("ar", "en", "he", "ar-Latn", "fa-Arab"),
  },
  { requiredKeys: ["id", "title", "url", "published_at", "updated_at", "authors", "categories", "tags", "attachments", "language"] },
);

describe("jsonItem", () => {
  it("is jsonText of the item object, for any article", () => {
    const site = seedSite();
    fc.assert(
      fc.property(article, (a) => {
        expect(jsonItem(site, a)).toBe(jsonText(itemObject(site, a)));
      }),
      { numRuns: 3_000 },
    );
  });

  it("is jsonText of the item object for the seed article", () => {
    const site = seedSite();
    expect(jsonItem(site, seedArticle())).toBe(jsonText(itemObject(site, seedArticle())));
  });

  it("jsonString is jsonText of a string", () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(jsonString(s)).toBe(jsonText(s));
      }),
      { numRuns: 3_000 },
    );
    expect(jsonString("a\u2028b\u2029")).toBe('"a\\u2028b\\u2029"');
  });
});
