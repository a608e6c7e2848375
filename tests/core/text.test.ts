import { describe, expect, it } from "vitest";
import { cleanText, escapeXml } from "../../src/core/text.ts";

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

describe("escapeXml", () => {
  it("escapes markup and drops forbidden characters even in uncleaned input", () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>]]>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;]]&gt;");
    expect(escapeXml("a\u0001b\u0085c")).toBe("abc");
  });
});
