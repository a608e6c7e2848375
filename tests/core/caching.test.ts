import { describe, expect, it } from "vitest";
import { chooseEncoding, feedEtag, isNotModified, noneMatch } from "../../src/core/caching.ts";

describe("validators", () => {
  it("gives a strong ETag that depends on version and document", () => {
    const a = feedEtag(3, "https://x/nisan/rss.xml");
    expect(a).toMatch(/^"[0-9a-z]+-[0-9a-f]{8}"$/);
    expect(feedEtag(3, "https://x/nisan/rss.xml")).toBe(a);
    expect(feedEtag(4, "https://x/nisan/rss.xml")).not.toBe(a);
    expect(feedEtag(3, "https://x/nisan/atom.xml")).not.toBe(a);
  });

  it("matches If-None-Match lists, weak forms and *", () => {
    expect(noneMatch('"a", "b"', '"b"')).toBe(true);
    expect(noneMatch('W/"b"', '"b"')).toBe(true);
    expect(noneMatch("*", '"b"')).toBe(true);
    expect(noneMatch('"c"', '"b"')).toBe(false);
  });

  it("lets If-None-Match decide alone, else If-Modified-Since", () => {
    const v = { etag: '"x"', lastModified: Date.UTC(2024, 0, 1, 0, 0, 0, 700) };
    const later = "Tue, 02 Jan 2024 00:00:00 GMT";
    const same = "Mon, 01 Jan 2024 00:00:00 GMT";
    const earlier = "Sun, 31 Dec 2023 00:00:00 GMT";
    expect(isNotModified({ ifNoneMatch: '"y"', ifModifiedSince: later }, v)).toBe(false);
    expect(isNotModified({ ifNoneMatch: '"x"', ifModifiedSince: earlier }, v)).toBe(true);
    expect(isNotModified({ ifModifiedSince: same }, v)).toBe(true);
    expect(isNotModified({ ifModifiedSince: earlier }, v)).toBe(false);
    expect(isNotModified({ ifModifiedSince: "garbage" }, v)).toBe(false);
    expect(isNotModified({}, v)).toBe(false);
  });
});

describe("chooseEncoding", () => {
  const both = ["br", "gzip"] as const;
  it("prefers br, honours q-values and refusals", () => {
    expect(chooseEncoding("gzip, deflate, br", both)).toBe("br");
    expect(chooseEncoding("gzip", both)).toBe("gzip");
    expect(chooseEncoding("br;q=0.5, gzip", both)).toBe("gzip");
    expect(chooseEncoding("br;q=0, gzip;q=0", both)).toBe("identity");
    expect(chooseEncoding("*", both)).toBe("br");
    expect(chooseEncoding("identity", both)).toBe("identity");
    expect(chooseEncoding(undefined, both)).toBe("identity");
    expect(chooseEncoding("br", ["gzip"])).toBe("identity");
  });
});

describe("per-coding ETags", () => {
  it("gives each content coding its own strong tag, all matching the same document", async () => {
    const { codedEtag, baseEtag } = await import("../../src/core/caching.ts");
    const etag = feedEtag(7, "https://x/nisan/rss.xml");
    const gz = codedEtag(etag, "gzip");
    const br = codedEtag(etag, "br");
    expect(codedEtag(etag, "identity")).toBe(etag);
    expect(new Set([etag, gz, br]).size).toBe(3);
    expect(gz).toMatch(/-gz"$/);
    expect(baseEtag(br)).toBe(etag);
    expect(codedEtag(gz, "br")).toBe(br);
    // A client holding any coding's tag has the current document.
    for (const held of [etag, gz, br, `W/${gz}`]) expect(noneMatch(held, etag)).toBe(true);
    expect(noneMatch(codedEtag(feedEtag(8, "https://x/nisan/rss.xml"), "gzip"), etag)).toBe(false);
  });
});
