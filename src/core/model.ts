// The plain data model shared by validation, stores, renderers and HTTP.
// Every value here is already cleaned and normalised: renderers and stores trust it.

export interface Person {
  name: string;
  url?: string;
  email?: string;
}

export interface Image {
  url: string;
  mime_type?: string;
  alt?: string;
}

export interface Attachment {
  url: string;
  mime_type: string;
  size_in_bytes?: number;
  title?: string;
}

/** A normalised article, as stored and as answered by the API. */
export interface Article {
  id: string;
  title: string;
  url: string;
  /** UTC RFC 3339, e.g. `2024-06-19T11:49:00Z` (milliseconds only when non-zero). */
  published_at: string;
  /** UTC RFC 3339; never earlier than it was sent, defaults to published_at. */
  updated_at: string;
  summary?: string;
  content_html?: string;
  content_text?: string;
  authors: Person[];
  categories: string[];
  tags: string[];
  image?: Image;
  attachments: Attachment[];
  /** Canonical BCP 47 tag; always set (defaults to the site's language). */
  language: string;
}

/** Public site settings, as answered by the API (never with secrets). */
export interface Site {
  slug: string;
  title: string;
  home_page_url: string;
  /** Canonical BCP 47 tag. */
  language: string;
  /** IANA time zone name. */
  timezone: string;
  description?: string;
  icon?: string;
  copyright?: string;
  ttl_minutes: number;
  /** How long Atom feeds announce deleted articles (RFC 6721 tombstones). */
  tombstone_days: number;
  websub_hubs: string[];
  /** UTC RFC 3339, set once when the site is created; part of every item id. */
  created_at: string;
  /** UTC RFC 3339 of the last change to the site settings. */
  updated_at: string;
}

/** Site settings as a publisher sends them (created_at/updated_at are set by the server). */
export type SiteInput = Omit<Site, "slug" | "created_at" | "updated_at">;

/** Position in the (published_at desc, id desc) order; a page starts strictly after it. */
export interface Cursor {
  published_at: string;
  id: string;
}

/** A deleted article, remembered so Atom feeds can announce the deletion (RFC 6721). */
export interface Tombstone {
  id: string;
  /** The deleted article's published_at (to place it in archive months). */
  published_at: string;
  /** When it was deleted: the `when` of `at:deleted-entry`. */
  deleted_at: string;
}

/** RFC 5005 links between subscription pages and monthly archives (absolute URLs). */
export interface HistoryLinks {
  /** The newest earlier archive document. */
  prevArchive?: string;
  /** The next later archive document. */
  nextArchive?: string;
  /** From an archive: the subscription feed. */
  current?: string;
}

/** Which slice of a site's articles a feed shows. */
export type FeedFilter =
  | { kind: "all" }
  | { kind: "category"; name: string }
  | { kind: "tag"; name: string }
  | { kind: "author"; name: string };

export type FeedFormat = "rss" | "atom" | "json";

/** Everything a renderer needs: no clock, no I/O, no request. */
export interface FeedDocument {
  site: Site;
  filter: FeedFilter;
  /** Absolute URL of exactly this document, query included (the self link). */
  selfUrl: string;
  /** Absolute URLs of this same feed in each format (same filter and query), for alternate links. */
  formatUrls: Record<FeedFormat, string>;
  /** Absolute URL of the next (older) page, if any. */
  nextUrl?: string;
  /** RFC 5005 archive navigation. */
  history: HistoryLinks;
  /** True for a closed monthly archive document (`fh:archive`). */
  archive: boolean;
  /** Deleted articles to announce (Atom only; empty elsewhere). */
  tombstones: Tombstone[];
  /** Newest first. */
  items: Article[];
  /**
   * The feed's last change (UTC RFC 3339): the newest `updated_at` among its items,
   * or the site's `updated_at` when it has none. Deterministic, never the clock.
   */
  updated: string;
}
