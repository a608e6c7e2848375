// HTTP caching rules (RFC 9110): validators, conditional requests, content negotiation.

/** Bump when rendered bytes change for the same data, so old validators stop matching. */
export const RENDER_GENERATION = 1;

/** 32-bit FNV-1a, as 8 hex digits: a short, stable fingerprint (not a security hash). */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * Strong ETag of a feed: a version (the site's, or an archive month's fingerprint) plus the exact
 * document key (path, format, query, base URL). Rendering is deterministic, so the same tag always means the same bytes, and it
 * is known without reading a single article.
 */
export function feedEtag(version: number | string, documentKey: string): string {
  const tag = typeof version === "number" ? version.toString(36) : fnv1a(version);
  return `"${tag}-${fnv1a(`${RENDER_GENERATION}|${documentKey}`)}"`;
}

const CODING_SUFFIX: Record<ContentCoding, string> = { identity: "", gzip: "-gz", br: "-br" };

/**
 * The ETag of one content coding of a document: each coding is its own representation
 * (RFC 9110 §8.8.3), so a cache never pairs a 304 with bytes in another coding.
 */
export function codedEtag(etag: string, coding: ContentCoding): string {
  const base = baseEtag(etag);
  return coding === "identity" ? base : `${base.slice(0, -1)}${CODING_SUFFIX[coding]}"`;
}

/** The document's ETag without weakness or coding: what If-None-Match is compared on. */
export function baseEtag(tag: string): string {
  const strong = tag.startsWith("W/") ? tag.slice(2) : tag;
  return strong.replace(/-(?:gz|br)"$/, '"');
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2). */
export function noneMatch(header: string, etag: string): boolean {
  const trimmed = header.trim();
  if (trimmed === "*") return true;
  // Any coding of the same document matches: the client's copy is current, whatever its coding.
  const wanted = baseEtag(etag);
  return trimmed.split(",").some((candidate) => baseEtag(candidate.trim()) === wanted);
}

export interface Validators {
  etag: string;
  /** Epoch ms of the last change. */
  lastModified: number;
}

/**
 * True when a GET/HEAD may be answered 304. If-None-Match, when present, decides alone;
 * If-Modified-Since is compared at one-second resolution, as HTTP dates have.
 */
export function isNotModified(
  headers: { ifNoneMatch?: string | undefined; ifModifiedSince?: string | undefined },
  validators: Validators,
): boolean {
  if (headers.ifNoneMatch !== undefined) return noneMatch(headers.ifNoneMatch, validators.etag);
  if (headers.ifModifiedSince !== undefined) {
    const since = Date.parse(headers.ifModifiedSince);
    if (!Number.isFinite(since)) return false;
    return Math.floor(validators.lastModified / 1000) * 1000 <= since;
  }
  return false;
}

export type ContentCoding = "br" | "gzip" | "identity";

/** Picks br, then gzip, by the client's Accept-Encoding q-values; identity otherwise. */
export function chooseEncoding(acceptEncoding: string | undefined, available: readonly ContentCoding[]): ContentCoding {
  if (!acceptEncoding) return "identity";
  const q = new Map<string, number>();
  for (const part of acceptEncoding.toLowerCase().split(",")) {
    const [name, ...params] = part.trim().split(";");
    if (!name) continue;
    let weight = 1;
    for (const param of params) {
      const [k, v] = param.trim().split("=");
      if (k === "q" && v !== undefined) weight = Number.isFinite(Number(v)) ? Number(v) : 0;
    }
    q.set(name.trim(), weight);
  }
  const weightOf = (coding: string) => q.get(coding) ?? (coding === "gzip" ? q.get("x-gzip") : undefined) ?? q.get("*") ?? 0;
  let best: ContentCoding = "identity";
  let bestWeight = 0;
  for (const coding of available) {
    if (coding === "identity") continue;
    const weight = weightOf(coding);
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best;
}

export function cacheControl(maxAgeSeconds: number): string {
  return `public, max-age=${maxAgeSeconds}`;
}
