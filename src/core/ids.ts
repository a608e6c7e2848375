// Stable identities: the one string per article that every format uses, forever.

import type { FeedFilter, Site } from "./model.ts";

/**
 * The tag: authority of a site: its home page host, lowercase and punycode, no port,
 * and the UTC day the site was created (RFC 4151).
 */
export function tagAuthority(site: Pick<Site, "home_page_url" | "created_at">): string {
  const host = new URL(site.home_page_url).hostname.toLowerCase().replace(/\.$/, "");
  return `${host},${site.created_at.slice(0, 10)}`;
}

/** `tag:{host},{YYYY-MM-DD}:{site}/{percent-encoded id}` */
export function itemId(site: Pick<Site, "slug" | "home_page_url" | "created_at">, articleId: string): string {
  return `tag:${tagAuthority(site)}:${site.slug}/${encodeURIComponent(articleId)}`;
}

const FILTER_SEGMENT = { category: "categories", tag: "tags", author: "authors" } as const;

/** The path of a filter below the site: "" for all, `/categories/{percent-encoded name}` etc. */
export function filterPath(filter: FeedFilter): string {
  return filter.kind === "all" ? "" : `/${FILTER_SEGMENT[filter.kind]}/${encodeURIComponent(filter.name)}`;
}

/** The id of a feed itself (Atom `id`): stable per site and filter, never a URL that may move. */
export function feedId(site: Pick<Site, "slug" | "home_page_url" | "created_at">, filter: FeedFilter): string {
  return `tag:${tagAuthority(site)}:${site.slug}${filterPath(filter)}`;
}
