// Article validation and normalisation: a publisher's JSON in, a clean Article or named field errors out.

import type { Article, Attachment, Image, Person, Site } from "./model.ts";
import { formatRfc3339, parseDateInput } from "./dates.ts";
import {
  Problems,
  arrayOf,
  checkKeys,
  field,
  httpUrl,
  integer,
  isObject,
  languageTag,
  mimeType,
  objectAt,
  plainText,
  pointer,
  rawText,
  type Validated,
} from "./fields.ts";
import { sanitizeHtml } from "./html.ts";

export const ARTICLE_LIMITS = {
  idLength: 200,
  title: 1_000,
  summary: 10_000,
  authors: 20,
  terms: 50,
  termLength: 200,
  attachments: 20,
  /** The normalised article, as UTF-8 JSON. */
  bytes: 100 * 1024,
  /** How far in the future published_at may be (scheduling is not supported). */
  futureMs: 5 * 60_000,
} as const;

const ARTICLE_KEYS = new Set([
  "id",
  "title",
  "url",
  "published_at",
  "updated_at",
  "summary",
  "content_html",
  "content_text",
  "authors",
  "categories",
  "tags",
  "image",
  "attachments",
  "language",
]);
const PERSON_KEYS = new Set(["name", "url", "email"]);
const IMAGE_KEYS = new Set(["url", "mime_type", "alt"]);
const ATTACHMENT_KEYS = new Set(["url", "mime_type", "size_in_bytes", "title"]);

/** Printable ASCII but `/ ? # %`; not `.` or `..`. */
const ARTICLE_ID = /^[!"$&'()*+,\-.0-9:;<=>@A-Z[\\\]^_`a-z{|}~]+$/;

export function articleIdProblem(id: string): string | undefined {
  if (id.length < 1 || id.length > ARTICLE_LIMITS.idLength) return `must be 1 to ${ARTICLE_LIMITS.idLength} characters`;
  if (!ARTICLE_ID.test(id)) return "must be printable ASCII without spaces, /, ?, # or %";
  if (id === "." || id === "..") return "must not be . or ..";
  return undefined;
}

export interface ArticleContext {
  site: Pick<Site, "language" | "timezone">;
  /** The clock, in epoch milliseconds. */
  now: number;
  /** The id from the URL path, when the route has one. */
  pathId?: string;
}

export function validateArticle(input: unknown, ctx: ArticleContext, at = ""): Validated<Article> {
  const p = new Problems();
  if (!isObject(input)) {
    p.add(at, "must be a JSON object");
    return { ok: false, errors: p.errors };
  }
  checkKeys(input, ARTICLE_KEYS, at, p);

  const id = articleId(field(input, "id"), pointer(at, "id"), ctx.pathId, p);
  const title = plainText(field(input, "title"), pointer(at, "title"), { required: true, max: ARTICLE_LIMITS.title }, p);
  const url = httpUrl(field(input, "url"), pointer(at, "url"), true, p);
  const published = date(field(input, "published_at"), pointer(at, "published_at"), true, ctx, p);
  let updated = date(field(input, "updated_at"), pointer(at, "updated_at"), false, ctx, p);
  if (published !== undefined && updated !== undefined && updated < published) {
    updated = p.add(pointer(at, "updated_at"), "must not be earlier than published_at");
  }
  const summary = plainText(field(input, "summary"), pointer(at, "summary"), { max: ARTICLE_LIMITS.summary }, p);
  const contentHtml = html(field(input, "content_html"), pointer(at, "content_html"), url, p);
  const contentText = rawText(field(input, "content_text"), pointer(at, "content_text"), { max: Number.MAX_SAFE_INTEGER }, p);
  const rawBodies = ["summary", "content_html", "content_text"].filter((k) => field(input, k) !== undefined);
  if (rawBodies.length === 0) {
    p.add(pointer(at, "summary"), "one of summary, content_html or content_text is required");
  } else if (p.ok && summary === undefined && contentHtml === undefined && contentText === undefined) {
    p.add(pointer(at, rawBodies[0]!), "is empty after cleaning, and no other body field is left");
  }
  const authors = people(field(input, "authors"), pointer(at, "authors"), p);
  const categories = terms(field(input, "categories"), pointer(at, "categories"), p);
  const tags = terms(field(input, "tags"), pointer(at, "tags"), p);
  const image = imageOf(field(input, "image"), pointer(at, "image"), p);
  const attachments = attachmentsOf(field(input, "attachments"), pointer(at, "attachments"), p);
  const language = languageTag(field(input, "language"), pointer(at, "language"), false, p) ?? ctx.site.language;

  if (!p.ok || id === undefined || title === undefined || url === undefined || published === undefined) {
    return { ok: false, errors: p.errors };
  }
  const article: Article = {
    id,
    title,
    url,
    published_at: formatRfc3339(published),
    updated_at: formatRfc3339(updated ?? published),
    authors: authors ?? [],
    categories: categories ?? [],
    tags: tags ?? [],
    attachments: attachments ?? [],
    language,
  };
  if (summary !== undefined) article.summary = summary;
  if (contentHtml !== undefined) article.content_html = contentHtml;
  if (contentText !== undefined) article.content_text = contentText;
  if (image !== undefined) article.image = image;
  return { ok: true, value: canonicalOrder(article) };
}

const encoder = new TextEncoder();
/** Scratch space for measuring: one byte more than the cap, so "over the cap" is seen without allocating. */
const scratch = new Uint8Array(ARTICLE_LIMITS.bytes + 1);

/** UTF-8 size of the stored JSON form, for the 100 KiB cap. */
export function articleBytes(article: Article): number {
  const json = JSON.stringify(article);
  // encodeInto a reused buffer costs half of encode(); only an article over the cap is counted apart.
  const { read, written } = encoder.encodeInto(json, scratch);
  return read === json.length ? written : utf8Length(json);
}

/** The length of `text` in UTF-8, as TextEncoder encodes it (a lone surrogate becomes U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2; // three bytes, lone surrogates included
  }
  return bytes;
}

/** Fixed key order, so equal articles serialise to equal JSON on every store. */
function canonicalOrder(a: Article): Article {
  const ordered: Article = {
    id: a.id,
    title: a.title,
    url: a.url,
    published_at: a.published_at,
    updated_at: a.updated_at,
    authors: a.authors,
    categories: a.categories,
    tags: a.tags,
    attachments: a.attachments,
    language: a.language,
  };
  if (a.summary !== undefined) ordered.summary = a.summary;
  if (a.content_html !== undefined) ordered.content_html = a.content_html;
  if (a.content_text !== undefined) ordered.content_text = a.content_text;
  if (a.image !== undefined) ordered.image = a.image;
  return ordered;
}

function articleId(value: unknown, at: string, pathId: string | undefined, p: Problems): string | undefined {
  if (value === undefined) {
    return pathId ?? p.add(at, "is required");
  }
  if (typeof value !== "string") return p.add(at, "must be a string");
  const problem = articleIdProblem(value);
  if (problem) return p.add(at, problem);
  if (pathId !== undefined && value !== pathId) return p.add(at, "must equal the id in the URL");
  return value;
}

function date(value: unknown, at: string, required: boolean, ctx: ArticleContext, p: Problems): number | undefined {
  if (value === undefined) return required ? p.add(at, "is required") : undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  if (value.length > 40) return p.add(at, "is not a date");
  const parsed = parseDateInput(value, ctx.site.timezone);
  if (!parsed.ok) return p.add(at, parsed.message);
  if (parsed.ms > ctx.now + ARTICLE_LIMITS.futureMs) {
    return p.add(at, "is more than 5 minutes in the future (scheduling is not supported)");
  }
  return parsed.ms;
}

function html(value: unknown, at: string, baseUrl: string | undefined, p: Problems): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  if (baseUrl === undefined) return undefined; // the url error is already reported
  const clean = sanitizeHtml(value, baseUrl).trim();
  return clean === "" ? undefined : clean;
}

function people(value: unknown, at: string, p: Problems): Person[] | undefined {
  const list = arrayOf(value, at, ARTICLE_LIMITS.authors, p);
  if (!list) return undefined;
  const out: Person[] = [];
  list.forEach((entry, i) => {
    const here = pointer(at, i);
    const obj = objectAt(entry, here, p);
    if (!obj) return;
    checkKeys(obj, PERSON_KEYS, here, p);
    const name = plainText(field(obj, "name"), pointer(here, "name"), { required: true, max: ARTICLE_LIMITS.termLength }, p);
    const url = httpUrl(field(obj, "url"), pointer(here, "url"), false, p);
    const email = emailOf(field(obj, "email"), pointer(here, "email"), p);
    if (name === undefined) return;
    const person: Person = { name };
    if (url !== undefined) person.url = url;
    if (email !== undefined) person.email = email;
    out.push(person);
  });
  return out;
}

function emailOf(value: unknown, at: string, p: Problems): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  if (value.length > 254 || !/^[^\s@<>()[\]\\,;:"\u0000-\u001F\u007F-\u009F]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(value)) {
    return p.add(at, "must be an email address");
  }
  return value;
}

function terms(value: unknown, at: string, p: Problems): string[] | undefined {
  const list = arrayOf(value, at, ARTICLE_LIMITS.terms, p);
  if (!list) return undefined;
  const out: string[] = [];
  list.forEach((entry, i) => {
    const term = plainText(entry, pointer(at, i), { required: true, max: ARTICLE_LIMITS.termLength }, p);
    if (term !== undefined && !out.includes(term)) out.push(term);
  });
  return out;
}

function imageOf(value: unknown, at: string, p: Problems): Image | undefined {
  if (value === undefined) return undefined;
  const obj = objectAt(value, at, p);
  if (!obj) return undefined;
  checkKeys(obj, IMAGE_KEYS, at, p);
  const url = httpUrl(field(obj, "url"), pointer(at, "url"), true, p);
  const mime = mimeType(field(obj, "mime_type"), pointer(at, "mime_type"), false, p);
  const alt = plainText(field(obj, "alt"), pointer(at, "alt"), { max: ARTICLE_LIMITS.title }, p);
  if (url === undefined) return undefined;
  const image: Image = { url };
  if (mime !== undefined) image.mime_type = mime;
  if (alt !== undefined) image.alt = alt;
  return image;
}

function attachmentsOf(value: unknown, at: string, p: Problems): Attachment[] | undefined {
  const list = arrayOf(value, at, ARTICLE_LIMITS.attachments, p);
  if (!list) return undefined;
  const out: Attachment[] = [];
  list.forEach((entry, i) => {
    const here = pointer(at, i);
    const obj = objectAt(entry, here, p);
    if (!obj) return;
    checkKeys(obj, ATTACHMENT_KEYS, here, p);
    const url = httpUrl(field(obj, "url"), pointer(here, "url"), true, p);
    const mime = mimeType(field(obj, "mime_type"), pointer(here, "mime_type"), true, p);
    const size = integer(field(obj, "size_in_bytes"), pointer(here, "size_in_bytes"), 0, Number.MAX_SAFE_INTEGER, p);
    const title = plainText(field(obj, "title"), pointer(here, "title"), { max: ARTICLE_LIMITS.title }, p);
    if (url === undefined || mime === undefined) return;
    const attachment: Attachment = { url, mime_type: mime };
    if (size !== undefined) attachment.size_in_bytes = size;
    if (title !== undefined) attachment.title = title;
    out.push(attachment);
  });
  return out;
}
