// HTML cleaning for article bodies (allowlist sanitiser) and for titles and summaries (plain text).
//
// Why this approach: htmlparser2 is small, pure JavaScript and runs unchanged in Cloudflare
// Workers; sanitize-html pulls in postcss and Node-only modules, and DOMPurify needs a DOM
// (jsdom on a server). We use htmlparser2's *Tokenizer* (entities decoded) and build the tree
// ourselves instead of using its `Parser`: the Parser keeps its open-element stack with
// `Array.prototype.unshift`/`indexOf`, which is quadratic in nesting depth (1 MiB of `<b>` takes
// ~25 s). Our builder keeps an explicit stack (push/pop, per-name open counts), so hostile input
// is linear and deep nesting never recurses. The serializer is ours too: the output is rebuilt
// from allowlisted names only, every attribute quoted and escaped, text escaped, void elements
// written `<br/>`, so it is both balanced HTML and well-formed XML.

import { Tokenizer, type TokenizerCallbacks } from "htmlparser2";
import { cleanText, collapseWhitespace, escapeXml } from "./text.ts";

/** Elements removed together with everything inside them. */
const REMOVED = new Set([
  "script", "style", "iframe", "object", "embed", "form", "noscript", "template", "title",
  "textarea", "select", "svg", "math", "frame", "frameset", "head", "link", "meta", "base",
  // Fallback content of removed elements (raw text in browsers): goes with them.
  "noembed", "noframes",
]);

/** Elements kept (with allowlisted attributes); any other element is unwrapped. */
const ALLOWED = new Set([
  "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "q", "cite", "pre", "code",
  "kbd", "samp", "var", "em", "strong", "b", "i", "u", "s", "small", "sub", "sup", "mark", "abbr",
  "dfn", "time", "span", "div", "section", "article", "aside", "header", "footer", "figure",
  "figcaption", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th",
  "td", "caption", "colgroup", "col", "a", "img", "picture", "source", "audio", "video", "track",
  "bdi", "bdo", "ruby", "rt", "rp", "del", "ins", "wbr", "details", "summary", "address",
]);

/** HTML void elements: never have content or an end tag. */
const VOID = new Set([
  "area", "base", "basefont", "bgsound", "br", "col", "command", "embed", "frame", "hr", "img",
  "input", "isindex", "keygen", "link", "meta", "param", "source", "track", "wbr",
]);

/** Elements that are dropped altogether when they have no usable `src`. */
const NEEDS_SRC = new Set(["img", "source", "track"]);

/** Elements whose start or end is a block boundary in plain text. */
const BLOCK = new Set([
  "p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "ul",
  "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "caption", "section", "article", "aside",
  "header", "footer", "figure", "figcaption", "address", "details", "summary", "main", "nav",
]);

/** Elements with content worth publishing even without text. */
const MEDIA = new Set(["img", "audio", "video"]);

/** SVG/MathML elements whose children are HTML again. */
const INTEGRATION_POINTS = new Set([
  "foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml",
]);

/** Opening the key element implicitly closes an open element on top of the stack in the set. */
const P_ONLY = new Set(["p"]);
const HEADINGS = new Set(["h1", "h2", "h3", "h4", "h5", "h6", "p"]);
const IMPLIED_CLOSE = new Map<string, Set<string>>([
  ["tr", new Set(["tr", "th", "td"])],
  ["th", new Set(["th", "td"])],
  ["td", new Set(["th", "td"])],
  ["thead", new Set(["thead", "tbody", "tfoot"])],
  ["tbody", new Set(["thead", "tbody", "tfoot"])],
  ["tfoot", new Set(["thead", "tbody", "tfoot"])],
  ["li", new Set(["li"])],
  ["dt", new Set(["dt", "dd"])],
  ["dd", new Set(["dt", "dd"])],
  ["rt", new Set(["rt", "rp"])],
  ["rp", new Set(["rt", "rp"])],
  ["a", new Set(["a"])],
  ["option", new Set(["option"])],
  ["h1", HEADINGS],
  ["h2", HEADINGS],
  ["h3", HEADINGS],
  ["h4", HEADINGS],
  ["h5", HEADINGS],
  ["h6", HEADINGS],
  ...[
    "p", "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "form", "header", "hr", "main", "menu", "nav", "ol", "pre",
    "section", "summary", "table", "ul",
  ].map((name): [string, Set<string>] => [name, P_ONLY]),
]);

const GLOBAL_ATTRS = new Set(["dir", "lang", "title"]);
const ELEMENT_ATTRS = new Map<string, Set<string>>([
  ["a", new Set(["href", "hreflang"])],
  ["img", new Set(["src", "alt", "width", "height"])],
  ["source", new Set(["src", "type", "media"])],
  ["audio", new Set(["src", "controls", "poster", "width", "height"])],
  ["video", new Set(["src", "controls", "poster", "width", "height"])],
  ["track", new Set(["src", "kind", "srclang", "label"])],
  ["td", new Set(["colspan", "rowspan", "headers", "scope"])],
  ["th", new Set(["colspan", "rowspan", "headers", "scope"])],
  ["ol", new Set(["start", "reversed", "type"])],
  ["li", new Set(["value"])],
  ["time", new Set(["datetime"])],
  ["q", new Set(["cite", "datetime"])],
  ["blockquote", new Set(["cite", "datetime"])],
  ["del", new Set(["cite", "datetime"])],
  ["ins", new Set(["cite", "datetime"])],
  ["col", new Set(["span"])],
  ["colgroup", new Set(["span"])],
]);

const URL_ATTRS = new Set(["href", "src", "poster", "cite"]);
const BOOLEAN_ATTRS = new Set(["controls", "reversed"]);
const UNSIGNED_ATTRS = new Set(["width", "height", "colspan", "rowspan", "span"]);
const SIGNED_ATTRS = new Set(["start", "value"]);
const DIR_VALUES = new Set(["ltr", "rtl", "auto"]);
const OL_TYPES = new Set(["1", "a", "A", "i", "I"]);

const WEB_SCHEMES = new Set(["http:", "https:"]);
const HREF_SCHEMES = new Set(["http:", "https:", "mailto:", "tel:"]);

/** Deeper elements are unwrapped: the output never nests more than this. */
const MAX_DEPTH = 256;

const EMIT = 0;
const UNWRAP = 1;
const DROP = 2;
type Mode = typeof EMIT | typeof UNWRAP | typeof DROP;

interface Frame {
  readonly name: string;
  readonly mode: Mode;
  /** True when this element's children are SVG/MathML (foreign) content. */
  readonly foreign: boolean;
}

const SCHEME_CHARS = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007F]+/g;
const TAB_OR_NEWLINE = /[\t\n\r]+/g;
const NON_WHITESPACE = /[^\t\n\f\r ]/;

/**
 * Removes leading and trailing C0 controls and spaces, as the URL parser does. A loop, not
 * `/[\x00-\x20]+$/`: that regex is quadratic on long inner runs of spaces.
 */
function trimControlsAndSpaces(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return s.slice(start, end);
}

/**
 * Makes a URL attribute value absolute and safe, or returns null to drop it. Browsers ignore
 * control characters and white space around and (tab, newline) inside a URL, so the scheme is
 * checked with all of them removed, and then once more on the parsed URL.
 */
function cleanUrl(raw: string, base: URL | undefined, schemes: ReadonlySet<string>): string | null {
  const value = trimControlsAndSpaces(raw).replace(TAB_OR_NEWLINE, "");
  if (value === "") return null; // An empty URL would point at the page itself.
  const colon = value.indexOf(":");
  if (colon > 0) {
    const candidate = value.slice(0, colon).replace(CONTROL_OR_SPACE, "");
    if (SCHEME_CHARS.test(candidate) && !schemes.has(`${candidate.toLowerCase()}:`)) return null;
  }
  let url: URL;
  try {
    // Without a usable base only absolute URLs survive (`new URL(x, badBase)` always throws).
    url = base === undefined ? new URL(value) : new URL(value, base);
  } catch {
    return null;
  }
  return schemes.has(url.protocol) ? url.href : null;
}

/** The allowlisted, validated attribute value, or null to drop the attribute. */
function cleanAttribute(element: string, name: string, value: string, base: URL | undefined): string | null {
  if (!GLOBAL_ATTRS.has(name) && !ELEMENT_ATTRS.get(element)?.has(name)) return null;
  if (URL_ATTRS.has(name)) return cleanUrl(value, base, name === "href" ? HREF_SCHEMES : WEB_SCHEMES);
  if (BOOLEAN_ATTRS.has(name)) return "";
  const trimmed = value.trim();
  if (name === "dir") {
    const dir = trimmed.toLowerCase();
    return DIR_VALUES.has(dir) ? dir : null;
  }
  if (UNSIGNED_ATTRS.has(name)) return /^\d{1,9}$/.test(trimmed) ? trimmed : null;
  if (SIGNED_ATTRS.has(name)) return /^-?\d{1,9}$/.test(trimmed) ? trimmed : null;
  if (element === "ol" && name === "type") return OL_TYPES.has(trimmed) ? trimmed : null;
  return cleanText(value);
}

/**
 * Builds the element tree from htmlparser2's tokenizer events and writes it out, either as
 * sanitised HTML or as plain text. Every operation is O(1) amortised per token.
 */
class Builder implements TokenizerCallbacks {
  private readonly src: string;
  private readonly base: URL | undefined;
  private readonly plain: boolean;

  private readonly stack: Frame[] = [];
  private readonly openCount = new Map<string, number>();
  private dropping = 0;
  private emitted = 0;

  private readonly out: string[] = [];
  private text: string[] = [];
  private meaningful = false;

  private tagName = "";
  private attrs = new Map<string, string>();
  private attrName = "";
  private attrValue = "";

  constructor(src: string, baseUrl: string, plain: boolean) {
    this.src = src;
    this.base = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined;
    this.plain = plain;
  }

  run(): string {
    const tokenizer = new Tokenizer({ decodeEntities: true }, this);
    tokenizer.write(this.src);
    tokenizer.end();
    if (this.plain) return collapseWhitespace(cleanText(this.text.join("")));
    return this.meaningful ? this.out.join("") : "";
  }

  // Tokenizer callbacks. A single chunk is written, so indices are offsets into `src`.

  ontext(start: number, endIndex: number): void {
    if (this.dropping === 0) this.text.push(this.src.slice(start, endIndex));
  }

  ontextentity(codepoint: number): void {
    if (this.dropping === 0) this.text.push(String.fromCodePoint(codepoint));
  }

  onopentagname(start: number, endIndex: number): void {
    let name = this.src.slice(start, endIndex).toLowerCase();
    if (name === "image" && !this.isInForeignContext()) name = "img";
    this.tagName = name;
    this.attrs = new Map();
  }

  onattribname(start: number, endIndex: number): void {
    this.attrName = this.src.slice(start, endIndex).toLowerCase();
    this.attrValue = "";
  }

  onattribdata(start: number, endIndex: number): void {
    this.attrValue += this.src.slice(start, endIndex);
  }

  onattribentity(codepoint: number): void {
    this.attrValue += String.fromCodePoint(codepoint);
  }

  onattribend(): void {
    // The first of duplicate attributes wins, as in browsers.
    if (!this.attrs.has(this.attrName)) this.attrs.set(this.attrName, this.attrValue);
    this.attrValue = "";
  }

  onopentagend(): void {
    this.openElement(false);
  }

  onselfclosingtag(): void {
    this.openElement(true);
  }

  onclosetag(start: number, endIndex: number): void {
    let name = this.src.slice(start, endIndex).toLowerCase();
    if (name === "image" && !this.isInForeignContext()) name = "img";
    if (name === "br") {
      // `</br>` is a line break in browsers.
      this.tagName = "br";
      this.attrs = new Map();
      this.openElement(false);
      return;
    }
    // Stray end tags (nothing of that name open, void elements, `</p>` without `<p>`) are ignored.
    if ((this.openCount.get(name) ?? 0) === 0) return;
    for (;;) {
      const frame = this.stack[this.stack.length - 1];
      if (frame === undefined) return;
      this.pop();
      if (frame.name === name) return;
    }
  }

  oncomment(): void {}
  oncdata(): void {}
  ondeclaration(): void {}
  onprocessinginstruction(): void {}

  onend(): void {
    while (this.stack.length > 0) this.pop();
    this.flushText();
  }

  isInForeignContext(): boolean {
    return this.stack[this.stack.length - 1]?.foreign ?? false;
  }

  // Tree building.

  private openElement(selfClosing: boolean): void {
    const name = this.tagName;
    const attrs = this.attrs;
    this.tagName = "";

    const closes = IMPLIED_CLOSE.get(name);
    if (closes !== undefined) {
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined || !closes.has(top.name)) break;
        this.pop();
      }
    }

    const parentForeign = this.isInForeignContext();
    const mode: Mode =
      this.dropping > 0 || REMOVED.has(name)
        ? DROP
        : !this.plain && ALLOWED.has(name) && this.emitted < MAX_DEPTH
          ? EMIT
          : UNWRAP;

    if (this.plain && mode !== DROP && BLOCK.has(name)) this.text.push(" ");

    if (VOID.has(name)) {
      if (mode === EMIT) this.emitStartTag(name, attrs, true);
      return;
    }

    const foreign = name === "svg" || name === "math" || (parentForeign && !INTEGRATION_POINTS.has(name));
    const frame: Frame = { name, mode, foreign };
    if (mode === EMIT && !this.emitStartTag(name, attrs, false)) return;
    this.stack.push(frame);
    this.openCount.set(name, (this.openCount.get(name) ?? 0) + 1);
    if (mode === DROP) this.dropping++;
    if (mode === EMIT) this.emitted++;

    // In SVG/MathML a trailing slash closes the element; in HTML it is ignored.
    if (selfClosing && (parentForeign || foreign)) this.pop();
  }

  private pop(): void {
    const frame = this.stack.pop();
    if (frame === undefined) return;
    this.openCount.set(frame.name, (this.openCount.get(frame.name) ?? 1) - 1);
    if (frame.mode === DROP) {
      this.dropping--;
    } else if (frame.mode === EMIT) {
      this.emitted--;
      this.flushText();
      this.out.push(`</${frame.name}>`);
    } else if (this.plain && BLOCK.has(frame.name)) {
      this.text.push(" ");
    }
  }

  /** Writes a start tag; false when the element must be dropped (no usable src). */
  private emitStartTag(name: string, attrs: ReadonlyMap<string, string>, isVoid: boolean): boolean {
    let written = "";
    let hasSrc = false;
    for (const [attr, raw] of attrs) {
      const value = cleanAttribute(name, attr, raw, this.base);
      if (value === null) continue;
      if (attr === "src") hasSrc = true;
      written += ` ${attr}="${escapeXml(value)}"`;
    }
    if (NEEDS_SRC.has(name) && !hasSrc) return false;
    this.flushText();
    this.out.push(`<${name}${written}${isVoid ? "/>" : ">"}`);
    if (MEDIA.has(name)) this.meaningful = true;
    return true;
  }

  private flushText(): void {
    if (this.plain || this.text.length === 0) return;
    const text = cleanText(this.text.join(""));
    this.text = [];
    if (text === "") return;
    if (NON_WHITESPACE.test(text)) this.meaningful = true;
    this.out.push(escapeXml(text));
  }
}

/**
 * Sanitises an article body with an allowlist: removes dangerous elements with their content,
 * unwraps unknown ones, keeps only allowlisted attributes, makes URLs absolute against `baseUrl`
 * and keeps only http(s) (and mailto/tel links). The result is balanced HTML that is also
 * well-formed XML, or "" when nothing worth publishing is left.
 */
export function sanitizeHtml(html: string, baseUrl: string): string {
  return new Builder(html, baseUrl, false).run();
}

/**
 * Converts HTML to one line of plain text (titles, summaries): tags removed, the content of
 * script/style and the like dropped, entities decoded, block boundaries turned into spaces,
 * white space collapsed, then cleaned.
 */
export function htmlToPlainText(html: string): string {
  // Without a tag or a character reference the tokenizer only passes the text through: most
  // titles, summaries and names, each of which a publish would otherwise parse.
  if (!MARKUP.test(html)) return collapseWhitespace(cleanText(html));
  return new Builder(html, "", true).run();
}

/** What can start a tag, a comment or a character reference. */
const MARKUP = /[<&]/;
