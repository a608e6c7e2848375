// fast-check generators of hostile input: strings full of control characters, lone surrogates,
// bidi marks, entities, tags, CDATA break-outs and astral characters, HTML built to slip script
// past a sanitiser, and whole article bodies made of them.

import fc from "fast-check";

/** Runs per property: at least 1,000 in `npm test`, more with NASHIR_FUZZ_RUNS (`npm run fuzz`). */
export function fuzzRuns(base = 1_000): number {
  const raw = process.env.NASHIR_FUZZ_RUNS;
  const wanted = raw === undefined || raw === "" ? base : Number(raw);
  if (!Number.isInteger(wanted) || wanted < 1) throw new Error(`NASHIR_FUZZ_RUNS must be a positive integer, not ${JSON.stringify(raw)}`);
  return Math.max(base, wanted);
}

const fromCode = (min: number, max: number) => fc.integer({ min, max }).map((n) => String.fromCharCode(n));

/** Fragments an attacker (or a broken CMS) would try. */
export const NASTY_FRAGMENTS: readonly string[] = [
  "<script>alert(1)</script>",
  "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
  "<scr<script>ipt>alert(1)</scr</script>ipt>",
  "<img src=x onerror=alert(1)>",
  "<svg onload=alert(1)>",
  "<a href=\"javascript:alert(1)\">x</a>",
  "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
  "<a href=\"&#106;avascript:alert(1)\">x</a>",
  "<a href=\" vbscript:msgbox(1)\">x</a>",
  "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
  "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
  "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
  "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
  "<style>*{background:url(javascript:alert(1))}</style>",
  "<![CDATA[",
  "]]>",
  "]]&gt;",
  "<!--",
  "-->",
  "--!>",
  "<?xml version=\"1.0\"?>",
  "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
  "&e;",
  "&amp;",
  "&lt;script&gt;",
  "&#0;",
  "&#x1;",
  "&#xD800;",
  "&#1114112;",
  "&nbsp;",
  "&bogus;",
  "&",
  "<",
  ">",
  "\"",
  "'",
  "`",
  "\u0000",
  "\r\n",
  "\u2028\u2029",
  "\uFEFF",
  "\u202Eevil\u202C",
  "\u200E\u200F",
  "\u2066\u2067\u2068\u2069",
  "e\u0301",
  "\uFFFE\uFFFF\uFFFD",
  "𝕏😀🏳️‍🌈",
  "مرحبا",
  "שלום",
];

/** One hostile code unit or fragment. */
export const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(..."abcXYZ 019.-_") },
  { weight: 2, arbitrary: fromCode(0x00, 0x1f) },
  { weight: 1, arbitrary: fromCode(0x7f, 0x9f) },
  { weight: 2, arbitrary: fromCode(0xd800, 0xdfff) },
  { weight: 1, arbitrary: fc.constantFrom("\u200E", "\u200F", "\u202A", "\u202B", "\u202D", "\u202E", "\u061C", "\u2067") },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_FRAGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 3 }) },
);

/**
 * A hostile string of up to `maxUnits` units; with `hugeLength`, now and then a huge one of up to
 * that many UTF-16 code units (cut anywhere, so surrogate pairs are split too).
 */
export function hostileString(maxUnits = 40, hugeLength = 0): fc.Arbitrary<string> {
  const plain = fc.array(hostileUnit, { maxLength: maxUnits }).map((units) => units.join(""));
  if (hugeLength === 0) return plain;
  const huge = fc
    .tuple(fc.array(hostileUnit, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: hugeLength }))
    .map(([units, length]) => {
      const chunk = units.join("") || "x";
      return chunk.repeat(Math.ceil(length / chunk.length)).slice(0, length);
    });
  return fc.oneof({ weight: 15, arbitrary: plain }, { weight: 1, arbitrary: huge });
}

/** A hostile string that still has a letter in it, so that required fields survive cleaning. */
export function hostileText(maxUnits = 40, hugeLength = 0): fc.Arbitrary<string> {
  const half = hugeLength > 1 ? Math.floor((hugeLength - 1) / 2) : 0;
  return fc
    .tuple(hostileString(maxUnits, half), fc.constantFrom("a", "ت", "ש", "字"), hostileString(maxUnits, half))
    .map(([a, letter, b]) => `${a}${letter}${b}`);
}

const ATTRIBUTE_NAMES = [
  "href", "src", "onerror", "onclick", "ONLOAD", "onmouseover", "style", "srcdoc", "formaction",
  "xlink:href", "poster", "cite", "background", "action", "data", "dir", "lang", "title", "alt",
  "width", "srcset", "target", "rel", "is", "slot",
];
const URL_VALUES = [
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  " javascript:alert(1)",
  "java\tscript:alert(1)",
  "java\nscript:alert(1)",
  "\u0001javascript:alert(1)",
  "&#106;avascript:alert(1)",
  "&#x6A;avascript&colon;alert(1)",
  "javascript&#58;alert(1)",
  "vbscript:msgbox(1)",
  "data:text/html,<script>alert(1)</script>",
  "DATA:text/html;base64,PHNjcmlwdD4=",
  "data:image/svg+xml,<svg onload=alert(1)>",
  "//evil.example/x",
  "/relative/path?a=1&b=2",
  "https://ok.example/a?b=<c>",
  "mailto:a@b.example",
  "tel:+962",
  "#frag",
  "",
];
const TAG_NAMES = [
  "script", "img", "a", "svg", "iframe", "p", "div", "math", "style", "object", "embed", "form",
  "base", "meta", "link", "input", "button", "video", "audio", "source", "details", "noscript",
  "template", "textarea", "title", "xmp", "plaintext", "noembed", "table", "select", "option",
  "image", "frameset", "annotation-xml", "foreignObject", "mglyph", "b", "span", "SCRIPT", "ScRiPt",
];

const attributeValue = fc.oneof(fc.constantFrom(...URL_VALUES), hostileString(8));
const quoted = (value: string, quote: number) => (quote === 0 ? `"${value}"` : quote === 1 ? `'${value}'` : value);
const attribute = fc
  .tuple(fc.constantFrom(...ATTRIBUTE_NAMES), attributeValue, fc.integer({ min: 0, max: 2 }), fc.constantFrom(" ", "\t", "\n", "/", " \u0000"))
  .map(([name, value, quote, sep]) => `${sep}${name}=${quoted(value, quote)}`);

const htmlToken: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...TAG_NAMES), fc.array(attribute, { maxLength: 3 }), fc.constantFrom(">", "/>", "", " >")).map(([t, attrs, end]) => `<${t}${attrs.join("")}${end}`) },
  { weight: 2, arbitrary: fc.constantFrom(...TAG_NAMES).map((t) => `</${t}>`) },
  { weight: 3, arbitrary: hostileString(12) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_FRAGMENTS) },
);

/** HTML made to get something executable past a sanitiser. */
export const hostileHtml: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.array(htmlToken, { maxLength: 25 }).map((tokens) => tokens.join("")) },
  { weight: 1, arbitrary: fc.tuple(htmlToken, fc.integer({ min: 100, max: 3_000 })).map(([token, n]) => token.repeat(n).slice(0, 30_000)) },
);

const safeUrl = fc.oneof(
  { weight: 4, arbitrary: fc.webUrl({ validSchemes: ["http", "https"], withQueryParameters: true, withFragments: true }) },
  { weight: 1, arbitrary: fc.constantFrom("https://nisan.example/ar/news/x?a=1&b=%3Cscript%3E", "http://xn--mgbh0fb.example/مقال", "https://[::1]:8443/a'b") },
);
/** A URL field: mostly valid, sometimes hostile (the validator must refuse those). */
export const urlField: fc.Arbitrary<string> = fc.oneof(
  { weight: 60, arbitrary: safeUrl },
  { weight: 1, arbitrary: fc.constantFrom(...URL_VALUES) },
  { weight: 1, arbitrary: hostileString(10).map((s) => `https://nisan.example/${s}`) },
);

const ID_CHARS = [..."!\"$&'()*+,-.0123456789:;<=>@ABCXYZ[\\]^_`abcxyz{|}~"];
export const articleId: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 24 })
  .map((chars) => chars.join(""))
  .filter((id) => id !== "." && id !== "..");

const LANGUAGES = ["ar", "en", "he", "fa-IR", "ur", "en-US", "ar-Latn", "zh-Hant-TW", "AR-jo", "yi", "dv"];

/** An instant between 2000 and the test clock, as RFC 3339 or local time. */
const dateField = fc.oneof(
  fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2026, 10, 27) }).map((ms) => new Date(ms).toISOString()),
  fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2026, 10, 26) }).map((ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ")),
);

export interface ArticleInput {
  [key: string]: unknown;
}

/** A publisher's article body: every text field hostile, the rest mostly valid. */
export function hostileArticle(id: fc.Arbitrary<string> = articleId): fc.Arbitrary<ArticleInput> {
  return fc.record(
    {
      id,
      title: hostileText(40, 1_000),
      url: urlField,
      published_at: dateField,
      summary: hostileText(60, 10_000),
      content_html: hostileHtml,
      content_text: hostileString(60, 30_000),
      authors: fc.array(
        fc.record({ name: hostileText(10, 200), url: urlField, email: fc.oneof({ weight: 20, arbitrary: fc.constantFrom("a@b.example", "o'brien+news@nisan.example") }, { weight: 1, arbitrary: fc.constantFrom("x\"<y>@evil.example", "news@نيسان.example") }) }, { requiredKeys: ["name"] }),
        { maxLength: 3 },
      ),
      categories: fc.array(hostileText(10, 200), { maxLength: 3 }),
      tags: fc.array(hostileText(10, 200), { maxLength: 3 }),
      image: fc.record({ url: urlField, alt: hostileString(10), mime_type: fc.constantFrom("image/jpeg", "image/svg+xml", "text/html") }, { requiredKeys: ["url"] }),
      attachments: fc.array(
        fc.record({ url: urlField, mime_type: fc.constantFrom("audio/mpeg", "text/html", "application/javascript"), title: hostileString(10), size_in_bytes: fc.nat() }, { requiredKeys: ["url", "mime_type"] }),
        { maxLength: 2 },
      ),
      language: fc.constantFrom(...LANGUAGES),
      _extension: hostileString(10),
    },
    { requiredKeys: ["id", "title", "url", "published_at", "summary"] },
  );
}

/** Site settings with hostile title, description and copyright. */
export function hostileSite(): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      title: hostileText(40, 1_000),
      home_page_url: fc.constantFrom("https://nisan.example/ar/", "https://xn--mgbh0fb.example/", "http://127.0.0.1:8080/a?b=<c>"),
      language: fc.constantFrom(...LANGUAGES),
      timezone: fc.constantFrom("Asia/Amman", "UTC", "Pacific/Chatham", "America/St_Johns", "Asia/Kathmandu"),
      description: hostileString(60, 10_000),
      copyright: hostileString(20),
    },
    { requiredKeys: ["title", "home_page_url", "language", "timezone"] },
  );
}
