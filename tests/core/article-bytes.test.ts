import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ARTICLE_LIMITS, articleBytes, utf8Length } from "../../src/core/article.ts";
import type { Article } from "../../src/core/model.ts";

const encoded = (text: string) => new TextEncoder().encode(text).byteLength;

function article(content: string): Article {
  return {
    id: "a",
    title: "t",
    url: "https://nisan.example/a",
    published_at: "2024-06-19T11:49:00Z",
    updated_at: "2024-06-19T11:49:00Z",
    authors: [],
    categories: [],
    tags: [],
    attachments: [],
    language: "ar",
    content_text: content,
  };
}

describe("article size in UTF-8", () => {
  it("utf8Length counts what TextEncoder writes, lone surrogates included", () => {
    for (const text of ["", "abc", "سلام", "😀", "a😀b", "\ud800", "\udc00x", "\ud800\ud800\udc00", "x\ud83d", "\u07ff\u0800\uffff"]) {
      expect(utf8Length(text)).toBe(encoded(text));
    }
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => utf8Length(text) === encoded(text)));
  });

  it("articleBytes is the encoded size of the JSON, under, at and over the cap", () => {
    const frame = encoded(JSON.stringify(article("")));
    for (const content of ["نيسان", "x".repeat(ARTICLE_LIMITS.bytes - frame), "x".repeat(ARTICLE_LIMITS.bytes - frame + 1), "ن".repeat(ARTICLE_LIMITS.bytes), "😀".repeat(30_000)]) {
      expect(articleBytes(article(content))).toBe(encoded(JSON.stringify(article(content))));
    }
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (content) => articleBytes(article(content)) === encoded(JSON.stringify(article(content)))));
  });
});
