// escapeXml (one scan, the fast path) against its definition escapeXmlSlow (drop FORBIDDEN, then
// escape the five specials), on any UTF-16 string: lone and paired surrogates, controls, C1,
// U+FFFD–U+FFFF, markup and Arabic, long and short.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  JSON_ESCAPED_BYTES_PER_UNIT,
  XML_ESCAPED_BYTES_PER_UNIT,
  escapeXml,
  escapeXmlInto,
  escapeXmlSlow,
  jsonEscapedInto,
  jsonString,
} from "../../src/core/text.ts";
import { itemText } from "../../src/core/render/common.ts";
import { escapedDirectedHtml, directedHtml, writeJsonDirectedHtml } from "../../src/core/render/direction.ts";

const unit = fc.oneof(
  fc.constantFrom("&", "<", ">", '"', "'", "\t", "\n", "\r", "\u0000", "\u0008", "\u000b", "\u001f", "\u007f", "\u0080", "\u009f", "\u00a0"),
  fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "\ufffd", "\ufffe", "\uffff", "\ue000", "\ufffc", "ن", "ـ", "\u200f", "\u2028"),
  fc.string({ unit: "binary", maxLength: 3 }),
  fc.string({ maxLength: 5 }),
);
const text = fc.array(unit, { maxLength: 60 }).map((parts) => parts.join(""));

/**
 * `into(s, bytes, offset)` writes the UTF-8 of `text(s)` at `offset`, within s.length × `perUnit`
 * bytes, and touches no byte outside what it reports as written.
 */
function expectWritesInto(into: (s: string, bytes: Uint8Array, offset: number) => number, expected: (s: string) => string, perUnit: number): void {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(text, fc.nat({ max: 7 }), (s, offset) => {
      const room = offset + s.length * perUnit;
      const bytes = new Uint8Array(room + 4).fill(0xee);
      const end = into(s, bytes, offset);
      expect(end).toBeLessThanOrEqual(room);
      expect(bytes.subarray(offset, end)).toEqual(encoder.encode(expected(s)));
      expect(bytes.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
      expect(bytes.subarray(end).every((b) => b === 0xee)).toBe(true);
    }),
    { numRuns: 5_000 },
  );
}

describe("escapeXml", () => {
  it("is escapeXmlSlow on any string", () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(escapeXml(s)).toBe(escapeXmlSlow(s));
      }),
      { numRuns: 5_000 },
    );
  });

  it("is escapeXmlSlow on long strings and their concatenations", () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 40 }), (parts) => {
        const joined = parts.join("");
        expect(escapeXml(joined)).toBe(escapeXmlSlow(joined));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps pairs, drops lone halves, at the ends too", () => {
    expect(escapeXml("\ud800")).toBe("");
    expect(escapeXml("\udc00a")).toBe("a");
    expect(escapeXml("a\ud83d\ude00<")).toBe("a\ud83d\ude00&lt;");
    expect(escapeXml("\ude00\ud83d")).toBe("");
    expect(escapeXml("\u0001&\u0085'")).toBe("&amp;&apos;");
  });

  it("escapedDirectedHtml is escapeXml of directedHtml", () => {
    fc.assert(
      fc.property(text, fc.constantFrom("ar", "en", "he-IL", "ar-Latn", 'x"<'), (html, language) => {
        expect(escapedDirectedHtml(html, language)).toBe(escapeXml(directedHtml(html, language)));
      }),
      { numRuns: 2_000 },
    );
  });

  it("writeJsonDirectedHtml writes jsonString of directedHtml, without its quotes", () => {
    fc.assert(
      fc.property(text, fc.constantFrom("ar", "en", "he-IL", "ar-Latn", 'x"<\u2028'), (html, language) => {
        const written = itemText((sink) => writeJsonDirectedHtml(sink, html, language));
        expect(`"${written}"`).toBe(jsonString(directedHtml(html, language)));
      }),
      { numRuns: 2_000 },
    );
  });

  it("escapeXmlInto writes the UTF-8 of escapeXml, at any offset, within its stated room", () => {
    expectWritesInto(escapeXmlInto, escapeXml, XML_ESCAPED_BYTES_PER_UNIT);
    const worst = "\"'".repeat(50);
    expect(escapeXmlInto(worst, new Uint8Array(worst.length * XML_ESCAPED_BYTES_PER_UNIT), 0)).toBe(worst.length * XML_ESCAPED_BYTES_PER_UNIT);
  });
});

describe("jsonEscapedInto", () => {
  it("writes the UTF-8 of jsonString without its quotes, at any offset, within its stated room", () => {
    expectWritesInto(jsonEscapedInto, (s) => jsonString(s).slice(1, -1), JSON_ESCAPED_BYTES_PER_UNIT);
  });

  it("escapes every ASCII control, quote and backslash as JSON.stringify does, and U+2028, U+2029 and lone halves", () => {
    const decoder = new TextDecoder();
    const written = (s: string) => {
      const bytes = new Uint8Array(s.length * JSON_ESCAPED_BYTES_PER_UNIT);
      return decoder.decode(bytes.subarray(0, jsonEscapedInto(s, bytes, 0)));
    };
    for (let code = 0; code < 0x80; code++) {
      const c = String.fromCharCode(code);
      expect(written(c)).toBe(JSON.stringify(c).slice(1, -1));
    }
    expect(written("\u2028\u2029")).toBe("\\u2028\\u2029");
    expect(written("a\ud800b\udfff")).toBe("a\\ud800b\\udfff");
    expect(written("\ud83d\ude00")).toBe("\ud83d\ude00");
    const worst = "\u0001\udc00".repeat(20);
    expect(jsonEscapedInto(worst, new Uint8Array(worst.length * JSON_ESCAPED_BYTES_PER_UNIT), 0)).toBe(worst.length * JSON_ESCAPED_BYTES_PER_UNIT);
  });
});
