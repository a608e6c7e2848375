// Shared by the hostile suites: a snapshot of everything a client can see of a site, and checks
// that nothing leaked into Object.prototype.

import { expect } from "vitest";
import { ADMIN_TOKEN, type Harness } from "../http/harness.ts";

/** Documents whose bytes and validators make up a snapshot, besides the site and the list. */
export const SNAPSHOT_FEEDS = ["/nisan/rss.xml", "/nisan/atom.xml", "/nisan/feed.json"] as const;

/**
 * Everything a client can observe of the site: its settings (admin GET), the publisher list (all
 * pages), the site version, and each feed's status, ETag, Last-Modified and bytes. Two equal
 * snapshots mean the store was not changed in any visible way.
 */
export async function snapshot(h: Harness, apiKey: string, extraFeeds: readonly string[] = []): Promise<string> {
  const parts: string[] = [];
  const site = await h.request("/v1/sites/nisan", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  parts.push(`site ${site.status} ${await site.text()}`);
  let next: string | undefined;
  for (let page = 0; page < 100; page++) {
    const query = `?limit=100${next === undefined ? "" : `&before=${encodeURIComponent(next)}`}`;
    const res = await h.request(`/v1/sites/nisan/articles${query}`, { headers: { authorization: `Bearer ${apiKey}` } });
    const text = await res.text();
    parts.push(`list ${res.status} ${text}`);
    const body = res.status === 200 ? (JSON.parse(text) as { next?: string }) : {};
    if (typeof body.next !== "string") break;
    next = body.next;
  }
  parts.push(`version ${JSON.stringify(await h.store.getSiteVersion("nisan"))}`);
  for (const path of [...SNAPSHOT_FEEDS, ...extraFeeds]) {
    const res = await h.request(path);
    parts.push(`${path} ${res.status} ${res.headers.get("etag")} ${res.headers.get("last-modified")} ${await res.text()}`);
  }
  return parts.join("\n");
}

/** Nothing was added to Object.prototype (or to the prototypes of arrays and functions). */
export function expectNoPollution(): void {
  for (const key of ["polluted", "isAdmin", "title", "url", "type", "name", "toJSON"]) {
    expect(({} as Record<string, unknown>)[key], `Object.prototype.${key}`).toBeUndefined();
    expect(([] as unknown as Record<string, unknown>)[key], `Array.prototype.${key}`).toBeUndefined();
  }
  expect(Object.keys(Object.prototype)).toEqual([]);
}

/** `n` levels of JSON arrays around `inner`. */
export function nestedArrays(n: number, inner = ""): string {
  return `${"[".repeat(n)}${inner}${"]".repeat(n)}`;
}

/** `n` levels of JSON objects `{"a": …}` around `inner`. */
export function nestedObjects(n: number, inner = "1"): string {
  return `${'{"a":'.repeat(n)}${inner}${"}".repeat(n)}`;
}
