// Feeds assembled from per-item fragments. Every renderer is a frame (head, separator, tail) around
// one fragment per item (common.ts: FeedFrame), so the bytes of an item can be rendered once, kept,
// and joined into any later document of the same site: a feed is its frame plus a copy of each
// item's bytes, with no escaping, no date formatting and no UTF-8 encoding of the items.

import type { Article, FeedDocument, FeedFormat } from "../model.ts";
import { JSON_ESCAPED_BYTES_PER_UNIT, XML_ESCAPED_BYTES_PER_UNIT, escapeLineSeparators, escapeXmlInto, jsonEscapedInto, surrogatePairInto } from "../text.ts";
import { atomEntry, atomFrame, writeAtomEntry } from "./atom.ts";
import type { FeedFrame, ItemSink, ItemSite } from "./common.ts";
import { jsonFrame, jsonItem, writeJsonItem } from "./json.ts";
import { rssFrame, rssItem, writeRssItem } from "./rss.ts";

export type { FeedFrame, ItemSite } from "./common.ts";

const FRAMES: Readonly<Record<FeedFormat, (doc: FeedDocument) => FeedFrame>> = {
  rss: rssFrame,
  atom: atomFrame,
  json: jsonFrame,
};

const ITEMS: Readonly<Record<FeedFormat, (site: ItemSite, article: Article) => string>> = {
  rss: rssItem,
  atom: atomEntry,
  json: jsonItem,
};

/** The same items written to an ItemSink (a render's UTF-8 output). */
const ITEM_WRITERS: Readonly<Record<FeedFormat, (site: ItemSite, article: Article, sink: ItemSink) => void>> = {
  rss: writeRssItem,
  atom: writeAtomEntry,
  json: writeJsonItem,
};

/** The document around the items in one format. */
export function feedFrame(format: FeedFormat, doc: FeedDocument): FeedFrame {
  return FRAMES[format](doc);
}

/** One item's text in one format (`<item>…</item>\n`, `<entry>…</entry>\n`, or a JSON object). */
export function itemFragment(format: FeedFormat, site: ItemSite, article: Article): string {
  return ITEMS[format](site, article);
}

/**
 * The site settings that item fragments depend on, as one string: a fragment cached under it is
 * valid for any site whose scope is equal (same slug, tag: authority and language), and for no
 * other. Any change to these settings gives a new scope, so old fragments are never used again.
 */
export function fragmentScope(site: ItemSite): string {
  return JSON.stringify([site.slug, site.home_page_url, site.created_at, site.language]);
}

const encoder = new TextEncoder();

/**
 * A new buffer of exactly `byteLength` bytes for a document body, which no one else holds or
 * writes. Its initial contents do not matter (every byte is written), so a platform may skip the
 * zero fill (Node: Buffer.allocUnsafeSlow); the default is a zeroed Uint8Array.
 */
export type Allocate = (byteLength: number) => Uint8Array;

export const allocateZeroed: Allocate = (byteLength) => new Uint8Array(byteLength);

/**
 * Where the items' bytes come from: a cache (cachedFragments in src/store/cache/fragments.ts)
 * or nothing (renderedFragments). Items it does not hold are rendered for `site` in `format`.
 */
export interface ItemFragments {
  readonly format: FeedFormat;
  readonly site: ItemSite;
  /** The held UTF-8 fragment of exactly this article, or undefined (it is rendered then). */
  held(article: Article): Uint8Array | undefined;
  /** Each fragment rendered now. `bytes` is scratch memory that the next render overwrites: copy it to keep it. */
  rendered(article: Article, bytes: Uint8Array): void;
}

/** An ItemFragments that holds nothing: every item is rendered (the bytes are the same either way). */
export function renderedFragments(format: FeedFormat, site: ItemSite): ItemFragments {
  return { format, site, held: () => undefined, rendered: () => {} };
}

/** Longest text ByteWriter.text encodes in JavaScript rather than with TextEncoder.encodeInto. */
const SHORT_TEXT = 64;

/**
 * The UTF-8 of `text` as TextEncoder writes it (a lone surrogate becomes U+FFFD), at `offset`;
 * returns the offset after it. `bytes` must have room for text.length × 3 bytes.
 */
function shortUtf8Into(text: string, bytes: Uint8Array, offset: number): number {
  let at = offset;
  const length = text.length;
  for (let index = 0; index < length; index++) {
    let code = text.charCodeAt(index);
    if (code < 0x80) {
      bytes[at++] = code;
      continue;
    }
    if (code < 0x800) {
      bytes[at] = 0xc0 | (code >> 6);
      bytes[at + 1] = 0x80 | (code & 0x3f);
      at += 2;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = code <= 0xdbff && index + 1 < length ? text.charCodeAt(index + 1) : 0;
      if (low >= 0xdc00 && low <= 0xdfff) {
        at = surrogatePairInto(code, low, bytes, at);
        index++;
        continue;
      }
      code = 0xfffd;
    }
    bytes[at] = 0xe0 | (code >> 12);
    bytes[at + 1] = 0x80 | ((code >> 6) & 0x3f);
    bytes[at + 2] = 0x80 | (code & 0x3f);
    at += 3;
  }
  return at;
}

/** UTF-8 written at the end of one growing buffer. */
class ByteWriter implements ItemSink {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  text(text: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair is 4 for 2 units).
    this.reserve(text.length * 3);
    // Short pieces (keys, punctuation, dates) in a loop: a native call and a subarray cost more.
    if (text.length <= SHORT_TEXT) this.length = shortUtf8Into(text, this.bytes, this.length);
    else this.length += encoder.encodeInto(text, this.bytes.subarray(this.length)).written;
  }

  escapedXml(text: string): void {
    this.reserve(text.length * XML_ESCAPED_BYTES_PER_UNIT);
    this.length = escapeXmlInto(text, this.bytes, this.length);
  }

  jsonEscaped(text: string): void {
    this.reserve(text.length * JSON_ESCAPED_BYTES_PER_UNIT + 1);
    if (text.length <= SHORT_TEXT || this.length === 0) {
      this.length = jsonEscapedInto(text, this.bytes, this.length);
      return;
    }
    // Long text (item content) through the native JSON.stringify and encodeInto: on a string that is
    // not a compile-time constant, a JavaScript loop over charCodeAt is slower than the two.
    // The literal is encoded one byte early, over the byte before it (put back after), so that its
    // opening quote lands there and no sliced copy is needed; its closing quote is then dropped.
    const json = escapeLineSeparators(JSON.stringify(text));
    const before = this.bytes[this.length - 1] as number;
    const { read, written } = encoder.encodeInto(json, this.bytes.subarray(this.length - 1));
    if (read !== json.length) throw new Error("ByteWriter: no room for a JSON string");
    this.bytes[this.length - 1] = before;
    this.length += written - 2;
  }

  copy(part: Uint8Array): void {
    this.reserve(part.byteLength);
    this.bytes.set(part, this.length);
    this.length += part.byteLength;
  }
}

/**
 * Largest scratch buffer kept between renders (a 100-item Arabic feed is ~0.6 MB): a larger render
 * writing into fresh memory each time is slower than the old per-item encoding (measured at 1,000 items).
 */
const KEPT_SCRATCH_BYTES = 8 * 1024 * 1024;
/** Reused by renders that write items (rendering is synchronous, so one at a time). */
let scratch: ByteWriter | undefined;
/** Size of the last body written: a scratch buffer made for a larger render starts there, not doubling up to it. */
let lastBodyBytes = 0;

/**
 * The UTF-8 bytes of `doc` in `format`, byte for byte `renderFeed(format, doc)` encoded, in a new
 * buffer from `allocate`. When `fragments` holds every item, this is one copy of each held fragment
 * into a body of the exact size. Otherwise the frame, the held fragments and the items rendered now
 * (encoded straight into a scratch buffer, and handed to `fragments.rendered`) are written in order,
 * then copied once into the body.
 */
export function renderFeedFromFragments(
  format: FeedFormat,
  doc: FeedDocument,
  fragments: ItemFragments,
  allocate: Allocate = allocateZeroed,
): Uint8Array {
  if (fragments.format !== format) throw new Error(`fragments of ${fragments.format} asked for a ${format} document`);
  const frame = FRAMES[format](doc);
  const items = doc.items;
  const held: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(items.length);
  let heldBytes = 0;
  let missing = 0;
  for (let index = 0; index < items.length; index++) {
    const part = fragments.held(items[index] as Article);
    held[index] = part;
    if (part === undefined) missing++;
    else heldBytes += part.byteLength;
  }
  if (missing === 0) return assembleHeld(frame, held as Uint8Array[], heldBytes, allocate);

  const write = ITEM_WRITERS[format];
  return withScratch(lastBodyBytes, (writer) => {
    writer.text(frame.head);
    for (let index = 0; index < items.length; index++) {
      if (index > 0 && frame.separator !== "") writer.text(frame.separator);
      const part = held[index];
      if (part !== undefined) {
        writer.copy(part);
        continue;
      }
      const article = items[index] as Article;
      const start = writer.length;
      write(fragments.site, article, writer);
      fragments.rendered(article, writer.bytes.subarray(start, writer.length));
    }
    writer.text(frame.tail);
    lastBodyBytes = writer.length;
    const body = allocated(allocate, writer.length);
    body.set(writer.bytes.subarray(0, writer.length));
    return body;
  });
}

/**
 * `use` with the scratch writer, emptied; a nested call (from a callback) gets a writer of its own.
 * A writer made here starts with `expectedBytes` (at least 64 KB) rather than doubling up to them.
 */
function withScratch<T>(expectedBytes: number, use: (writer: ByteWriter) => T): T {
  const writer = scratch ?? new ByteWriter(Math.max(64 * 1024, expectedBytes));
  scratch = undefined;
  writer.length = 0;
  try {
    return use(writer);
  } finally {
    if (writer.bytes.length <= KEPT_SCRATCH_BYTES) scratch = writer;
  }
}

/** allocate(byteLength), checked: a body of another size would send wrong bytes. */
function allocated(allocate: Allocate, byteLength: number): Uint8Array {
  const body = allocate(byteLength);
  if (body.byteLength !== byteLength) throw new Error(`allocate(${byteLength}) gave ${body.byteLength} bytes`);
  return body;
}

/** Frame and held fragments copied into a body of exactly their size. */
function assembleHeld(frame: FeedFrame, parts: readonly Uint8Array[], partsBytes: number, allocate: Allocate): Uint8Array {
  // The frame's three texts encoded into scratch memory (no new arrays), then copied with the parts.
  return withScratch(0, (writer) => {
    writer.text(frame.head);
    const headEnd = writer.length;
    writer.text(frame.separator);
    const separatorEnd = writer.length;
    writer.text(frame.tail);
    const head = writer.bytes.subarray(0, headEnd);
    const separator = writer.bytes.subarray(headEnd, separatorEnd);
    const tail = writer.bytes.subarray(separatorEnd, writer.length);
    const separators = Math.max(0, parts.length - 1) * separator.byteLength;
    const body = allocated(allocate, head.byteLength + partsBytes + separators + tail.byteLength);
    body.set(head, 0);
    let offset = head.byteLength;
    for (let index = 0; index < parts.length; index++) {
      if (index > 0 && separator.byteLength > 0) {
        body.set(separator, offset);
        offset += separator.byteLength;
      }
      const part = parts[index] as Uint8Array;
      body.set(part, offset);
      offset += part.byteLength;
    }
    body.set(tail, offset);
    return body;
  });
}
