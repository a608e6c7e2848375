// Text cleaning and XML escaping: the one place that decides which characters reach a feed.

/**
 * Characters that must never reach a feed: everything XML 1.0 forbids (C0 controls but tab,
 * LF and CR; U+FFFE, U+FFFF), lone surrogates, the C1 controls U+0080–U+009F, and U+FFFD
 * (a replacement character means the text was already damaged; validators warn on it).
 * U+200E/U+200F (LRM/RLM) are ordinary characters here and are kept.
 */
const FORBIDDEN =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u0080-\u009F\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** FORBIDDEN but lone surrogates, without lookarounds: one cheap scan (isWellFormed finds those). */
const FORBIDDEN_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u0080-\u009F\uFFFD\uFFFE\uFFFF]/;

/** True when the string holds a character that `cleanText` would remove. */
export function hasForbiddenChars(s: string): boolean {
  return !s.isWellFormed() || FORBIDDEN_CHARACTER.test(s);
}

/** NFC, then remove forbidden characters. Never throws, never refuses. */
export function cleanText(s: string): string {
  // Most text has nothing to remove: two native scans instead of FORBIDDEN's lookarounds at
  // every position. Remove first: String.prototype.normalize keeps lone surrogates but NFC
  // must see valid text.
  return (hasForbiddenChars(s) ? s.replace(FORBIDDEN, "") : s).normalize("NFC");
}

/** Collapses runs of white space into one space and trims (for one-line plain text). */
export function collapseWhitespace(s: string): string {
  return s.replace(/[\t\n\r\f ]+/g, " ").trim();
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * One scan for what escapeXml changes: the five specials, FORBIDDEN's characters and every
 * surrogate (paired ones are kept by escapeOne). Same result as escapeXmlSlow, ~4× faster on
 * long text: FORBIDDEN's surrogate lookarounds are tried at every position, this only at matches.
 */
const XML_UNSAFE = /[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F\u0080-\u009F\uD800-\uDFFF\uFFFD\uFFFE\uFFFF]/g;

/**
 * Escapes text for XML character data and attribute values alike, and drops forbidden
 * characters on the way, so even a value that skipped cleaning cannot break a document.
 */
export function escapeXml(s: string): string {
  return s.replace(XML_UNSAFE, escapeOne);
}

function escapeOne(c: string, offset: number, whole: string): string {
  const entity = XML_ESCAPES[c];
  if (entity !== undefined) return entity;
  const code = c.charCodeAt(0);
  // A surrogate stays only as half of a pair, as in FORBIDDEN (judged on the original string).
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = whole.charCodeAt(offset + 1);
    return next >= 0xdc00 && next <= 0xdfff ? c : "";
  }
  if (code >= 0xdc00 && code <= 0xdfff) {
    const previous = whole.charCodeAt(offset - 1);
    return previous >= 0xd800 && previous <= 0xdbff ? c : "";
  }
  return "";
}

/** The 4 UTF-8 bytes of the surrogate pair (high, low) at `at`; returns the offset after them. */
export function surrogatePairInto(high: number, low: number, bytes: Uint8Array, at: number): number {
  const point = ((high - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
  bytes[at] = 0xf0 | (point >> 18);
  bytes[at + 1] = 0x80 | ((point >> 12) & 0x3f);
  bytes[at + 2] = 0x80 | ((point >> 6) & 0x3f);
  bytes[at + 3] = 0x80 | (point & 0x3f);
  return at + 4;
}

/** Most UTF-8 bytes escapeXmlInto writes per UTF-16 code unit (`"` becomes `&quot;`). */
export const XML_ESCAPED_BYTES_PER_UNIT = 6;

/** What escapeXmlInto does with each ASCII code: 0 copies it, 1 drops it, 2 + n writes ENTITY_BYTES[n]. */
const ASCII_ACTION = new Uint8Array(128);
const ENTITY_BYTES: Uint8Array[] = [];
for (let code = 0; code < 0x20; code++) ASCII_ACTION[code] = code === 0x09 || code === 0x0a || code === 0x0d ? 0 : 1;
for (const [c, entity] of Object.entries(XML_ESCAPES)) {
  ASCII_ACTION[c.charCodeAt(0)] = 2 + ENTITY_BYTES.length;
  ENTITY_BYTES.push(Uint8Array.from(entity, (ch) => ch.charCodeAt(0)));
}

/**
 * The UTF-8 bytes of escapeXml(s), written into `bytes` at `offset` in one pass over `s` (no escaped
 * string, no separate encoding); returns the offset after them. `bytes` must have room for
 * s.length × XML_ESCAPED_BYTES_PER_UNIT bytes. Drops what escapeXml drops: C0 controls but tab, LF
 * and CR, C1, U+FFFD–U+FFFF and lone surrogates (a pair is kept).
 */
export function escapeXmlInto(s: string, bytes: Uint8Array, offset: number): number {
  let at = offset;
  const length = s.length;
  for (let index = 0; index < length; index++) {
    const code = s.charCodeAt(index);
    // Two-byte UTF-8 first: Arabic, Hebrew, Latin letters with marks.
    if (code >= 0xa0 && code < 0x800) {
      bytes[at] = 0xc0 | (code >> 6);
      bytes[at + 1] = 0x80 | (code & 0x3f);
      at += 2;
    } else if (code < 0x80) {
      const action = ASCII_ACTION[code] as number;
      if (action === 0) {
        bytes[at++] = code;
      } else if (action > 1) {
        const entity = ENTITY_BYTES[action - 2] as Uint8Array;
        for (let k = 0; k < entity.length; k++) bytes[at + k] = entity[k] as number;
        at += entity.length;
      }
    } else if (code < 0xa0) {
      // C1 control: dropped.
    } else if (code < 0xd800 || (code > 0xdfff && code < 0xfffd)) {
      bytes[at] = 0xe0 | (code >> 12);
      bytes[at + 1] = 0x80 | ((code >> 6) & 0x3f);
      bytes[at + 2] = 0x80 | (code & 0x3f);
      at += 3;
    } else if (code <= 0xdbff && index + 1 < length) {
      const low = s.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        at = surrogatePairInto(code, low, bytes, at);
        index++;
      }
      // A high surrogate without its low half is dropped.
    }
    // Lone low surrogates and U+FFFD–U+FFFF: dropped.
  }
  return at;
}

/** Most UTF-8 bytes jsonEscapedInto writes per UTF-16 code unit (`\u001f`, or a lone surrogate's `\udc00`). */
export const JSON_ESCAPED_BYTES_PER_UNIT = 6;

/**
 * The escape of each ASCII code inside a JSON string, as bytes, or undefined when it is written as
 * it is: taken from JSON.stringify itself (`\"`, `\\`, `\n`, `\u0001`…), so the two cannot differ.
 */
const JSON_ASCII_ESCAPES: (Uint8Array | undefined)[] = Array.from({ length: 128 }, (_, code) => {
  const escaped = JSON.stringify(String.fromCharCode(code)).slice(1, -1);
  return escaped.length === 1 ? undefined : Uint8Array.from(escaped, (ch) => ch.charCodeAt(0));
});

const HEX_DIGITS = Uint8Array.from("0123456789abcdef", (ch) => ch.charCodeAt(0));

/**
 * The UTF-8 bytes of jsonString(s) without its two quotes, written into `bytes` at `offset` in one
 * pass over `s`; returns the offset after them. `bytes` must have room for s.length ×
 * JSON_ESCAPED_BYTES_PER_UNIT bytes. JSON.stringify's escapes (its own table for ASCII; a lone
 * surrogate as `\udxxx`), and U+2028/U+2029 as jsonString escapes them. For short text: on long
 * text, JSON.stringify and TextEncoder.encodeInto together are faster than this loop.
 */
export function jsonEscapedInto(s: string, bytes: Uint8Array, offset: number): number {
  let at = offset;
  const length = s.length;
  for (let index = 0; index < length; index++) {
    const code = s.charCodeAt(index);
    if (code < 0x80) {
      const escape = JSON_ASCII_ESCAPES[code];
      if (escape === undefined) {
        bytes[at++] = code;
      } else {
        bytes.set(escape, at);
        at += escape.length;
      }
      continue;
    }
    if (code < 0x800) {
      bytes[at] = 0xc0 | (code >> 6);
      bytes[at + 1] = 0x80 | (code & 0x3f);
      at += 2;
      continue;
    }
    const low = code >= 0xd800 && code <= 0xdbff && index + 1 < length ? s.charCodeAt(index + 1) : 0;
    if (low >= 0xdc00 && low <= 0xdfff) {
      at = surrogatePairInto(code, low, bytes, at);
      index++;
    } else if ((code >= 0xd800 && code <= 0xdfff) || code === 0x2028 || code === 0x2029) {
      // `\u` and four lowercase hex digits, as JSON.stringify writes a lone surrogate.
      bytes[at] = 0x5c;
      bytes[at + 1] = 0x75;
      bytes[at + 2] = HEX_DIGITS[code >> 12] as number;
      bytes[at + 3] = HEX_DIGITS[(code >> 8) & 0xf] as number;
      bytes[at + 4] = HEX_DIGITS[(code >> 4) & 0xf] as number;
      bytes[at + 5] = HEX_DIGITS[code & 0xf] as number;
      at += 6;
    } else {
      bytes[at] = 0xe0 | (code >> 12);
      bytes[at + 1] = 0x80 | ((code >> 6) & 0x3f);
      bytes[at + 2] = 0x80 | (code & 0x3f);
      at += 3;
    }
  }
  return at;
}

/** escapeXml as two regular expressions: the definition escapeXml is tested against. */
export function escapeXmlSlow(s: string): string {
  return s.replace(FORBIDDEN, "").replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/**
 * Serialises a value as JSON text that is safe to embed anywhere: forbidden characters were
 * removed by cleaning, and U+2028/U+2029 are escaped for old JavaScript consumers.
 */
export function jsonText(value: unknown): string {
  return escapeLineSeparators(JSON.stringify(value));
}

/**
 * A string as a JSON string literal, exactly as jsonText writes a string anywhere in a value:
 * JSON.stringify's escapes, then U+2028/U+2029. JSON.stringify escapes per character (a surrogate
 * pair is kept whole), so literals joined by ASCII make the same text as jsonText of the whole.
 */
export function jsonString(s: string): string {
  return escapeLineSeparators(JSON.stringify(s));
}

/** U+2028 and U+2029 as `\u2028` and `\u2029`; a plain search first, as text rarely has them. */
export function escapeLineSeparators(json: string): string {
  if (!json.includes("\u2028") && !json.includes("\u2029")) return json;
  return json.replace(/[\u2028\u2029]/g, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029"));
}
