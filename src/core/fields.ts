// Field readers shared by article and site validation: each reads one JSON value, cleans it,
// and records a problem under its JSON Pointer instead of throwing.

import { cleanText, collapseWhitespace } from "./text.ts";
import { htmlToPlainText } from "./html.ts";

export interface FieldError {
  /** JSON Pointer (RFC 6901) of the offending value, e.g. `/authors/0/name`; "" is the whole body. */
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export type JsonObject = { [key: string]: unknown };

/** Collects errors while a validator walks a body. */
export class Problems {
  readonly errors: FieldError[] = [];
  add(field: string, message: string): undefined {
    this.errors.push({ field, message });
    return undefined;
  }
  get ok(): boolean {
    return this.errors.length === 0;
  }
}

export function pointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Refuses keys outside `allowed`; keys starting with `_` are extensions and ignored. */
export function checkKeys(obj: JsonObject, allowed: ReadonlySet<string>, at: string, p: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key) && !key.startsWith("_")) p.add(pointer(at, key), "is not a known field");
  }
}

/** Own, non-null value of a key (never walks the prototype chain). */
export function field(obj: JsonObject, key: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
  const value = obj[key];
  return value === null ? undefined : value;
}

interface TextRule {
  required?: boolean;
  max: number;
  min?: number;
}

/** Plain text: tags removed, entities decoded, white space collapsed, cleaned. */
export function plainText(value: unknown, at: string, rule: TextRule, p: Problems): string | undefined {
  if (value === undefined) return rule.required ? p.add(at, "is required") : undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  // Bound the work before parsing: far beyond any limit, the value cannot pass anyway.
  if (value.length > rule.max * 8 + 10_000) return p.add(at, `must be at most ${rule.max} characters`);
  const text = collapseWhitespace(htmlToPlainText(value));
  return checkLength(text, at, rule, p);
}

/** Text kept as written (line breaks kept), only cleaned. */
export function rawText(value: unknown, at: string, rule: TextRule, p: Problems): string | undefined {
  if (value === undefined) return rule.required ? p.add(at, "is required") : undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  return checkLength(cleanText(value).trim(), at, rule, p);
}

function checkLength(text: string, at: string, rule: TextRule, p: Problems): string | undefined {
  const length = [...text].length;
  if (length > rule.max) return p.add(at, `must be at most ${rule.max} characters after cleaning`);
  if (length < (rule.min ?? 1)) {
    return rule.required || rule.min ? p.add(at, "must not be empty after cleaning") : undefined;
  }
  return text;
}

// Control characters, white space, the characters a URL never carries raw, and lone surrogates
// (the URL parser would silently turn them into an encoded U+FFFD; with the u flag, the class
// matches only unpaired surrogates).
const URL_FORBIDDEN = /[\u0000-\u0020\u007F-\u009F\s"<>\\^`{|}\uD800-\uDFFF]/u;

/** Absolute http(s) URL without credentials; returned in the WHATWG serialisation. */
export function httpUrl(value: unknown, at: string, required: boolean, p: Problems): string | undefined {
  if (value === undefined) return required ? p.add(at, "is required") : undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  if (value.length > 2048) return p.add(at, "must be at most 2048 characters");
  if (URL_FORBIDDEN.test(value)) return p.add(at, "must not contain spaces, control characters or lone surrogates");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return p.add(at, "must be an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return p.add(at, "must be an http or https URL");
  if (url.username || url.password) return p.add(at, "must not contain credentials");
  if (!url.hostname) return p.add(at, "must have a host");
  return url.href;
}

/** Canonical BCP 47 language tag (`AR-jo` → `ar-JO`). */
export function languageTag(value: unknown, at: string, required: boolean, p: Problems): string | undefined {
  if (value === undefined) return required ? p.add(at, "is required") : undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  if (value.length > 64 || !/^[A-Za-z0-9-]+$/.test(value)) return p.add(at, "must be a BCP 47 language tag");
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    return canonical ?? p.add(at, "must be a BCP 47 language tag");
  } catch {
    return p.add(at, "must be a BCP 47 language tag");
  }
}

export function arrayOf(value: unknown, at: string, max: number, p: Problems): unknown[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return p.add(at, "must be an array");
  if (value.length > max) return p.add(at, `must have at most ${max} entries`);
  return value;
}

export function objectAt(value: unknown, at: string, p: Problems): JsonObject | undefined {
  if (!isObject(value)) return p.add(at, "must be an object");
  return value;
}

export function integer(value: unknown, at: string, min: number, max: number, p: Problems): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) return p.add(at, "must be an integer");
  if (value < min || value > max) return p.add(at, `must be between ${min} and ${max}`);
  return value;
}

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export function mimeType(value: unknown, at: string, required: boolean, p: Problems): string | undefined {
  if (value === undefined) return required ? p.add(at, "is required") : undefined;
  if (typeof value !== "string") return p.add(at, "must be a string");
  const lower = value.trim().toLowerCase();
  if (!MIME.test(lower)) return p.add(at, "must be a MIME type such as image/jpeg");
  return lower;
}

/** Cleans a category, tag or author name the way feed routes match it. */
export function normaliseTerm(name: string): string {
  return collapseWhitespace(cleanText(name));
}
