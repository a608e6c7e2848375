// Test helpers for the renderers: fixture factories (a fresh object per call, never shared)
// and typed views of parsed XML and JSON.

import { readFileSync } from "node:fs";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import AjvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import type { Article, FeedDocument, Site } from "../../../src/core/model.ts";

const fixtures = new URL("../../fixtures/", import.meta.url);

function readJson(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, fixtures), "utf8"));
}

function str(record: Record<string, unknown>, key: string): string {
  const v = record[key];
  if (typeof v !== "string") throw new Error(`fixture field ${key} is not a string`);
  return v;
}

function strings(record: Record<string, unknown>, key: string): string[] {
  const v = record[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`fixture field ${key} is not a string list`);
  return v;
}

/** The seed site, normalised by hand as the API would answer it. */
export function seedSite(overrides: Partial<Site> = {}): Site {
  const raw = readJson("seed-site.json") as Record<string, unknown>;
  return {
    slug: str(raw, "slug"),
    title: str(raw, "title"),
    description: str(raw, "description"),
    home_page_url: str(raw, "home_page_url"),
    language: str(raw, "language"),
    timezone: str(raw, "timezone"),
    ttl_minutes: 30,
    tombstone_days: 30,
    websub_hubs: [],
    created_at: "2026-01-05T10:00:00Z",
    updated_at: "2026-01-06T08:30:00Z",
    ...overrides,
  };
}

/** The seed article, normalised by hand (`2024-06-19 14:49` in Asia/Amman is 11:49 UTC). */
export function seedArticle(overrides: Partial<Article> = {}): Article {
  const raw = readJson("seed-article.json") as Record<string, unknown>;
  const authors = raw["authors"] as { name: string }[];
  return {
    id: str(raw, "id"),
    title: str(raw, "title"),
    url: str(raw, "url"),
    published_at: "2024-06-19T11:49:00Z",
    updated_at: "2024-06-19T11:49:00Z",
    summary: str(raw, "summary"),
    content_html: str(raw, "content_html"),
    authors: authors.map((a) => ({ name: a.name })),
    categories: strings(raw, "categories"),
    tags: strings(raw, "tags"),
    attachments: [],
    language: "ar",
    ...overrides,
  };
}

/** A plain article (English unless told otherwise) for tests that need several. */
export function article(n: number, overrides: Partial<Article> = {}): Article {
  const day = String(10 + n).padStart(2, "0");
  return {
    id: `story-${n}`,
    title: `Story number ${n}`,
    url: `https://nisan.example/ar/news/story-${n}`,
    published_at: `2024-07-${day}T08:15:00Z`,
    updated_at: `2024-07-${day}T09:00:00Z`,
    summary: `Summary of story ${n}.`,
    content_html: `<p>Body of story ${n}.</p>`,
    authors: [{ name: `Writer ${n}` }],
    categories: ["news"],
    tags: [],
    attachments: [],
    language: "en",
    ...overrides,
  };
}

export function makeDoc(items: Article[], overrides: Partial<FeedDocument> = {}, site: Site = seedSite()): FeedDocument {
  const base = "https://feeds.nisan.example/nisan";
  const newest = items.map((a) => a.updated_at).sort().at(-1);
  return {
    site,
    filter: { kind: "all" },
    selfUrl: `${base}/rss.xml?limit=20`,
    formatUrls: { rss: `${base}/rss.xml`, atom: `${base}/atom.xml`, json: `${base}/feed.json` },
    items,
    updated: newest ?? site.updated_at,
    history: {},
    archive: false,
    tombstones: [],
    ...overrides,
  } as FeedDocument;
}

// ---- XML ----

export type XmlValue = string | XmlNode | XmlValue[];
export interface XmlNode {
  [key: string]: XmlValue;
}

const REPEATED = new Set(["item", "entry", "category", "link", "atom:link", "dc:creator", "author", "enclosure"]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => REPEATED.has(name),
});

/** Parses XML after checking it is well-formed; throws with the validator's message if not. */
export function parseXml(xml: string): XmlNode {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed: ${JSON.stringify(valid.err)}`);
  return parser.parse(xml) as XmlNode;
}

function isNode(v: XmlValue | undefined): v is XmlNode {
  return typeof v === "object" && !Array.isArray(v);
}

export function child(node: XmlNode, name: string): XmlNode {
  const v = node[name];
  if (!isNode(v)) throw new Error(`no single element ${name}`);
  return v;
}

/** All elements called `name` (absent → empty list); text-only elements become `{ "#text" }`. */
export function children(node: XmlNode, name: string): XmlNode[] {
  const v = node[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === "string" ? { "#text": x } : isNode(x) ? x : { "#text": "" }));
}

/** Text of a child element (`""` when empty); throws when it is missing. */
export function text(node: XmlNode, name: string): string {
  const found = node[name];
  const v = Array.isArray(found) && found.length === 1 ? found[0] : found;
  if (typeof v === "string") return v;
  if (isNode(v)) {
    const t = v["#text"];
    return typeof t === "string" ? t : "";
  }
  throw new Error(`no text element ${name}`);
}

export function textOf(node: XmlNode): string {
  const t = node["#text"];
  return typeof t === "string" ? t : "";
}

export function attr(node: XmlNode, name: string): string | undefined {
  const v = node[`@_${name}`];
  return typeof v === "string" ? v : undefined;
}

// ---- JSON Feed ----

const Ajv = AjvDraft04.default;
const addFormats = ajvFormats.default;

function jsonFeedValidator(): (doc: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(readJson("jsonfeed-1.0.schema.json") as object);
  const validate = ajv.compile(readJson("jsonfeed-1.1.schema.json") as object);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`));
}

let cached: ((doc: unknown) => string[]) | undefined;

/** Schema errors of a JSON Feed 1.1 document (SchemaStore schemas, draft-04), [] when valid. */
export function jsonFeedErrors(doc: unknown): string[] {
  cached ??= jsonFeedValidator();
  return cached(doc);
}

export interface JsonObject {
  [key: string]: unknown;
}

export function asObject(v: unknown): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
  return v as JsonObject;
}

export function asArray(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error("not a JSON array");
  return v;
}
