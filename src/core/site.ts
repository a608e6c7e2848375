// Site settings validation.

import type { Site, SiteInput } from "./model.ts";
import { canonicalTimeZone, isValidTimeZone } from "./dates.ts";
import {
  Problems,
  arrayOf,
  checkKeys,
  field,
  httpUrl,
  integer,
  isObject,
  languageTag,
  plainText,
  pointer,
  type Validated,
} from "./fields.ts";

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const RESERVED_SLUGS = new Set(["v1", "healthz", "static"]);
const SITE_KEYS = new Set([
  "slug",
  "title",
  "home_page_url",
  "language",
  "timezone",
  "description",
  "icon",
  "copyright",
  "ttl_minutes",
  "tombstone_days",
  "websub_hubs",
]);

export const SITE_DEFAULTS = { ttl_minutes: 15, tombstone_days: 30 } as const;
const MAX_HUBS = 10;

/** Why a slug cannot name a site, or undefined when it can. */
export function slugProblem(slug: string): string | undefined {
  if (!SLUG.test(slug)) return "must match ^[a-z0-9][a-z0-9-]{0,62}$";
  if (RESERVED_SLUGS.has(slug)) return "is a reserved name";
  return undefined;
}

export function validateSiteInput(input: unknown, slug: string): Validated<SiteInput> {
  const p = new Problems();
  if (!isObject(input)) {
    p.add("", "must be a JSON object");
    return { ok: false, errors: p.errors };
  }
  checkKeys(input, SITE_KEYS, "", p);
  const sentSlug = field(input, "slug");
  if (sentSlug !== undefined && sentSlug !== slug) p.add("/slug", "must equal the site name in the URL");

  const title = plainText(field(input, "title"), "/title", { required: true, max: 1_000 }, p);
  const homePage = httpUrl(field(input, "home_page_url"), "/home_page_url", true, p);
  const language = languageTag(field(input, "language"), "/language", true, p);
  const timezone = timeZoneOf(field(input, "timezone"), p);
  const description = plainText(field(input, "description"), "/description", { max: 10_000 }, p);
  const icon = httpUrl(field(input, "icon"), "/icon", false, p);
  const copyright = plainText(field(input, "copyright"), "/copyright", { max: 1_000 }, p);
  const ttl = integer(field(input, "ttl_minutes"), "/ttl_minutes", 1, 1_440, p);
  const tombstoneDays = integer(field(input, "tombstone_days"), "/tombstone_days", 0, 3_650, p);
  const hubs = hubsOf(field(input, "websub_hubs"), p);

  if (!p.ok || title === undefined || homePage === undefined || language === undefined || timezone === undefined) {
    return { ok: false, errors: p.errors };
  }
  const site: SiteInput = {
    title,
    home_page_url: homePage,
    language,
    timezone,
    ttl_minutes: ttl ?? SITE_DEFAULTS.ttl_minutes,
    tombstone_days: tombstoneDays ?? SITE_DEFAULTS.tombstone_days,
    websub_hubs: hubs ?? [],
  };
  if (description !== undefined) site.description = description;
  if (icon !== undefined) site.icon = icon;
  if (copyright !== undefined) site.copyright = copyright;
  return { ok: true, value: site };
}

/** The stored site: input plus its name and server-set times (created_at never changes). */
export function buildSite(slug: string, input: SiteInput, createdAt: string, updatedAt: string): Site {
  const site: Site = {
    slug,
    title: input.title,
    home_page_url: input.home_page_url,
    language: input.language,
    timezone: input.timezone,
    ttl_minutes: input.ttl_minutes,
    tombstone_days: input.tombstone_days,
    websub_hubs: input.websub_hubs,
    created_at: createdAt,
    updated_at: updatedAt,
  };
  if (input.description !== undefined) site.description = input.description;
  if (input.icon !== undefined) site.icon = input.icon;
  if (input.copyright !== undefined) site.copyright = input.copyright;
  return site;
}

function timeZoneOf(value: unknown, p: Problems): string | undefined {
  if (value === undefined) return p.add("/timezone", "is required");
  if (typeof value !== "string") return p.add("/timezone", "must be a string");
  if (!isValidTimeZone(value)) return p.add("/timezone", "must be an IANA time zone such as Asia/Amman");
  return canonicalTimeZone(value);
}

function hubsOf(value: unknown, p: Problems): string[] | undefined {
  const list = arrayOf(value, "/websub_hubs", MAX_HUBS, p);
  if (!list) return undefined;
  const hubs: string[] = [];
  list.forEach((entry, i) => {
    const url = httpUrl(entry, pointer("/websub_hubs", i), true, p);
    if (url !== undefined && !hubs.includes(url)) hubs.push(url);
  });
  return hubs;
}
