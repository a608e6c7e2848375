// One entry point for the three feed formats.

import type { FeedDocument, FeedFormat } from "../model.ts";
import { renderAtom } from "./atom.ts";
import { renderJsonFeed } from "./json.ts";
import { renderRss } from "./rss.ts";

export { renderAtom } from "./atom.ts";
export { isRtlLanguage, directedHtml } from "./direction.ts";
export { JSON_FEED_VERSION, renderJsonFeed } from "./json.ts";
export { renderRss } from "./rss.ts";
export { allocateZeroed, feedFrame, fragmentScope, itemFragment, renderFeedFromFragments, renderedFragments } from "./fragments.ts";
export type { Allocate, FeedFrame, ItemFragments, ItemSite } from "./fragments.ts";

/** The `Content-Type` of each format. */
export const CONTENT_TYPES: Readonly<Record<FeedFormat, string>> = {
  rss: "application/rss+xml; charset=utf-8",
  atom: "application/atom+xml; charset=utf-8",
  json: "application/feed+json; charset=utf-8",
};

const RENDERERS: Readonly<Record<FeedFormat, (doc: FeedDocument) => string>> = {
  rss: renderRss,
  atom: renderAtom,
  json: renderJsonFeed,
};

/** The document body of a feed in one format: pure, same input gives the same bytes. */
export function renderFeed(format: FeedFormat, doc: FeedDocument): string {
  return RENDERERS[format](doc);
}
