import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cleanText, escapeXml, hasForbiddenChars } from "../../src/core/text.ts";

/** The definition cleanText's fast path must keep: one regex with lookarounds over every position. */
const FORBIDDEN_DEFINITION =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u0080-\u009F\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Strings that often hold what is forbidden: controls, C1, specials, lone and paired surrogates, Arabic. */
const hostileText = fc
  .array(
    fc.oneof(
      fc.constantFrom("\u0000", "\u0008", "\t", "\n", "\u000B", "\u001F", "\u0085", "\u009F", "\uFFFD", "\uFFFE", "\uFFFF", "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "😀", "\u200F", "e\u0301", "ع"),
      fc.string({ unit: "binary", maxLength: 4 }),
      fc.string({ unit: "grapheme", maxLength: 4 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(""));

describe("cleanText", () => {
  it("removes what XML forbids, C1 controls and lone surrogates, keeps bidi marks", () => {
    expect(cleanText("a\u0000b\u0001c\u0008d\u000Be\u001Ff")).toBe("abcdef");
    expect(cleanText("a\u0085b\u009Fc\u0080")).toBe("abc");
    expect(cleanText("a\uD800b\uDC00c")).toBe("abc");
    expect(cleanText("😀")).toBe("😀");
    expect(cleanText("a\uFFFEb\uFFFFc\uFFFD")).toBe("abc");
    expect(cleanText("\u200Fعربي\u200E ABC")).toBe("\u200Fعربي\u200E ABC");
    expect(cleanText("tab\tnl\ncr\r")).toBe("tab\tnl\ncr\r");
  });

  it("normalises to NFC", () => {
    const decomposed = "e\u0301";
    expect(cleanText(decomposed)).toBe("\u00E9");
    expect(cleanText("\u0627\u0653")).toBe("\u0622");
  });
});

describe("cleanText against its definition", () => {
  it("gives what removing FORBIDDEN_DEFINITION then NFC gives, and hasForbiddenChars says when it removes", () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const removed = text.replace(FORBIDDEN_DEFINITION, "");
        expect(cleanText(text)).toBe(removed.normalize("NFC"));
        expect(hasForbiddenChars(text)).toBe(removed !== text);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("escapeXml", () => {
  it("escapes markup and drops forbidden characters even in uncleaned input", () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>]]>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;]]&gt;");
    expect(escapeXml("a\u0001b\u0085c")).toBe("abc");
  });
});
