// Third-party judges on real served feeds: the W3C Feed Validation Service code, Debian's feedparser
// and the JSON Feed 1.1 checker from ../shared/tools. They run where installed (see docs/oracles.md);
// each test says so when it skips.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_URL, createHarness, seedArticle, type Harness } from "../http/harness.ts";

const tools = resolve(import.meta.dirname, "..", "..", "..", "shared", "tools");
const python = "/usr/bin/python3";

function works(args: string[]): boolean {
  try {
    execFileSync(python, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const hasFeedparser = existsSync(join(tools, "feedparse")) && works(["-c", "import feedparser"]);
const validatorHome = process.env.FEEDVALIDATOR_HOME ?? "/opt/oracles/feedvalidator";
const hasValidator = existsSync(join(tools, "feedvalidate")) && existsSync(join(validatorHome, "src", "feedvalidator"));
const hasJsonChecker = existsSync(join(tools, "jsonfeed-validate"));

interface Run {
  code: number;
  out: string;
}
function run(file: string, args: string[]): Run {
  try {
    return { code: 0, out: execFileSync(file, args, { encoding: "utf8", cwd: resolve(import.meta.dirname, "..", "..") }) };
  } catch (error) {
    const e = error as { status?: number; stdout?: string };
    return { code: e.status ?? 1, out: e.stdout ?? "" };
  }
}

/** A richer article than the seed: media, several authors, LTR/RTL mix, hostile-looking text. */
function richArticle(): Record<string, unknown> {
  return {
    id: "2024-06-20-media",
    title: "Tom &amp; <b>Jerry</b> \u200Fمع\u200E 2024 \u0001",
    url: "https://nisan.example/ar/news/2024-06-20-media",
    published_at: "2024-06-20T08:00:00+03:00",
    updated_at: "2024-06-21T09:30:00Z",
    summary: "ملخص <script>alert(1)</script> ]]> & done",
    content_html: '<p onclick="x()">نص <a href="/ar/other">رابط</a> <img src="img/a.jpg" alt="صورة"></p><script>bad()</script>',
    authors: [{ name: "كاتب", url: "https://nisan.example/ar/authors/1", email: "writer@nisan.example" }, { name: "Second Writer" }],
    categories: ["سياسة"],
    tags: ["Tech", "tech"],
    image: { url: "https://nisan.example/img/lead.jpg", mime_type: "image/jpeg", alt: "صورة" },
    attachments: [{ url: "https://nisan.example/a/clip.mp3", mime_type: "audio/mpeg", size_in_bytes: 12345, title: "تسجيل" }],
    language: "ar",
  };
}

describe("feed oracles on served feeds", () => {
  let h: Harness;
  let dir: string;
  let apiKey: string;
  const files: Record<string, { path: string; url: string }> = {};

  beforeAll(async () => {
    h = await createHarness();
    dir = mkdtempSync(join(tmpdir(), "nashir-oracles-"));
    const { api_key } = await h.createSite();
    expect((await h.publish("nisan", api_key, seedArticle())).status).toBe(201);
    expect((await h.publish("nisan", api_key, richArticle())).status).toBe(201);
    // A deleted article leaves a tombstone in the Atom feed.
    expect((await h.publish("nisan", api_key, { ...richArticle(), id: "doomed", published_at: "2024-05-02T08:00:00Z", updated_at: undefined })).status).toBe(201);
    const deleted = await h.request("/v1/sites/nisan/articles/doomed", { method: "DELETE", headers: { authorization: `Bearer ${api_key}` } });
    expect(deleted.status).toBe(204);
    apiKey = api_key;
    const category = encodeURIComponent("سياسة");
    const paths = {
      rss: "/nisan/rss.xml",
      atom: "/nisan/atom.xml",
      json: "/nisan/feed.json",
      categoryRss: `/nisan/categories/${category}/rss.xml`,
      categoryAtom: `/nisan/categories/${category}/atom.xml`,
      pagedRss: "/nisan/rss.xml?limit=1",
      pagedAtom: "/nisan/atom.xml?limit=1",
      emptyAtom: `/nisan/tags/${encodeURIComponent("لا شيء")}/atom.xml`,
      archiveAtom: "/nisan/archive/2024/06/atom.xml",
      archiveRss: "/nisan/archive/2024/06/rss.xml",
    };
    for (const [name, path] of Object.entries(paths)) {
      const res = await h.request(path);
      expect(res.status, path).toBe(200);
      const file = join(dir, name);
      writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
      files[name] = { path: file, url: `${BASE_URL}${path}` };
    }
  });

  afterAll(async () => {
    await h.close();
    if (!process.env.NASHIR_KEEP_ORACLE_FILES) rmSync(dir, { recursive: true, force: true });
    else console.log(`oracle inputs kept in ${dir}`);
  });

  const xmlFeeds = ["rss", "atom", "categoryRss", "categoryAtom", "pagedRss", "pagedAtom", "emptyAtom", "archiveAtom", "archiveRss"];

  it.skipIf(!hasValidator)("the W3C validator finds 0 errors and no self-link warning", () => {
    for (const name of xmlFeeds) {
      const { path, url } = files[name]!;
      const result = run(python, [join(tools, "feedvalidate"), path, "--base", url]);
      expect(result.out, `${name}: ${result.out}`).toMatch(/errors=0 /);
      expect(result.out, name).not.toMatch(/SelfDoesntMatchLocation|MissingAtomSelfLink/);
      // The validator does not know RFC 6721: the tombstone namespace is its one warning.
      if (name === "atom" || name === "pagedAtom") expect(result.out).toContain("UnknownNamespace line=2 col=0: Use of unknown namespace: http://purl.org/atompub/tombstones/1.0");
      else expect(result.out, name).toMatch(/warnings=0$/m);
      expect(result.code, name).toBe(0);
    }
  });

  it.skipIf(!hasFeedparser)("feedparser reads every XML feed without bozo, with the exact title and date", () => {
    for (const name of xmlFeeds) {
      const result = run(python, [join(tools, "feedparse"), files[name]!.path]);
      expect(result.code, `${name}: ${result.out}`).toBe(0);
      const parsed = JSON.parse(result.out) as { bozo: boolean; entries: { id: string; title: string; published_parsed: string; updated_parsed: string }[] };
      expect(parsed.bozo).toBe(false);
      if (name === "emptyAtom") {
        expect(parsed.entries).toHaveLength(0);
        continue;
      }
      const seed = parsed.entries.find((e) => e.id.endsWith(":nisan/2024-06-19-russia-dprk-treaty"));
      if (name.startsWith("paged")) {
        expect(parsed.entries).toHaveLength(1);
        continue;
      }
      if (name.startsWith("archive")) {
        expect(parsed.entries).toHaveLength(2);
        expect(seed?.published_parsed).toBe("2024-06-19T11:49:00Z");
        continue;
      }
      expect(seed?.title).toBe(seedArticle().title);
      expect(seed?.published_parsed).toBe("2024-06-19T11:49:00Z");
      const rich = parsed.entries.find((e) => e.id.endsWith(":nisan/2024-06-20-media"));
      expect(rich?.title).toBe("Tom & Jerry \u200Fمع\u200E 2024");
      expect(rich?.published_parsed).toBe("2024-06-20T05:00:00Z");
    }
  });

  it.skipIf(!hasFeedparser)("an edit changes updated, never the id or the publication date, on two successive fetches", async () => {
    const fetchParsed = async (file: string) => {
      const res = await h.request(file);
      const path = join(dir, `edit-${file.replace(/\W/g, "_")}`);
      writeFileSync(path, new Uint8Array(await res.arrayBuffer()));
      const result = run(python, [join(tools, "feedparse"), path]);
      expect(result.code, result.out).toBe(0);
      const parsed = JSON.parse(result.out) as { entries: { id: string; title: string; published_parsed: string; updated_parsed: string }[] };
      return parsed.entries.find((e) => e.id.endsWith("/2024-06-19-russia-dprk-treaty"))!;
    };
    for (const file of ["/nisan/atom.xml", "/nisan/rss.xml"]) {
      const before = await fetchParsed(file);
      h.advance(60_000);
      const edited = { ...seedArticle(), title: "تصحيح: " + String(seedArticle().title), updated_at: new Date(h.now()).toISOString() };
      expect((await h.publish("nisan", apiKey, edited)).status).toBe(200);
      const after = await fetchParsed(file);
      expect(after.id).toBe(before.id);
      expect(after.published_parsed).toBe("2024-06-19T11:49:00Z");
      expect(after.title).toBe(edited.title);
      if (file.endsWith("atom.xml")) expect(after.updated_parsed).not.toBe(before.updated_parsed);
    }
  });

  it.skipIf(!hasJsonChecker)("the JSON Feed 1.1 checker finds 0 errors", () => {
    const result = run(process.execPath, [join(tools, "jsonfeed-validate"), files.json!.path]);
    expect(result.out).toMatch(/errors=0 /);
    expect(result.code).toBe(0);
  });
});
