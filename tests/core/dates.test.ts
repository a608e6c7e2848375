import { describe, expect, it } from "vitest";
import { formatRfc3339, formatRfc822, isValidTimeZone, parseDateInput, zonedToUtc } from "../../src/core/dates.ts";

const iso = (value: string, zone = "Asia/Amman") => {
  const parsed = parseDateInput(value, zone);
  return parsed.ok ? formatRfc3339(parsed.ms) : `error: ${parsed.message}`;
};

describe("parseDateInput", () => {
  it("reads the seed's local time in the site's zone", () => {
    expect(iso("2024-06-19 14:49")).toBe("2024-06-19T11:49:00Z");
    expect(iso("2024-06-19 14:49:30")).toBe("2024-06-19T11:49:30Z");
    expect(iso("2024-06-19T14:49")).toBe("2024-06-19T11:49:00Z");
  });

  it("does not depend on the machine's zone", () => {
    // The suite runs in Adelaide (UTC+10:30 in January) to prove nothing reads the machine's zone.
    expect(new Date(Date.UTC(2024, 0, 1)).getTimezoneOffset()).toBe(-630);
    expect(iso("2024-01-15 09:00", "UTC")).toBe("2024-01-15T09:00:00Z");
    expect(iso("2024-01-15 09:00", "Asia/Kolkata")).toBe("2024-01-15T03:30:00Z");
  });

  it("reads RFC 3339 with offsets and fractions", () => {
    expect(iso("2024-06-19T11:49:00Z")).toBe("2024-06-19T11:49:00Z");
    expect(iso("2024-06-19T14:49:00+03:00")).toBe("2024-06-19T11:49:00Z");
    expect(iso("2024-06-19T06:19:00-05:30")).toBe("2024-06-19T11:49:00Z");
    expect(iso("2024-06-19T11:49:00.25Z")).toBe("2024-06-19T11:49:00.250Z");
  });

  it("refuses impossible and out-of-range dates", () => {
    for (const bad of ["2024-02-30 10:00", "2023-02-29T10:00:00Z", "0000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "2024-13-01 10:00", "2024-06-19 24:00", "2024-06-19T11:49:00+24:00", "yesterday", "2024-06-19", "1718797740"]) {
      expect(iso(bad), bad).toMatch(/^error: /);
    }
    expect(iso("2024-02-29 10:00", "UTC")).toBe("2024-02-29T10:00:00Z");
  });

  it("handles daylight saving gaps and overlaps deterministically", () => {
    // Europe/Berlin: 2024-03-31 02:00 → 03:00 (gap); 2024-10-27 03:00 → 02:00 (overlap).
    expect(iso("2024-03-31 02:30", "Europe/Berlin")).toBe("2024-03-31T01:30:00Z");
    expect(iso("2024-10-27 02:30", "Europe/Berlin")).toBe("2024-10-27T00:30:00Z");
    expect(iso("2024-07-01 12:00", "Europe/Berlin")).toBe("2024-07-01T10:00:00Z");
    expect(formatRfc3339(zonedToUtc([2024, 0, 1, 0, 0, 0], "America/St_Johns"))).toBe("2024-01-01T03:30:00Z");
  });
});

describe("formatting", () => {
  it("writes RFC 822 in GMT and RFC 3339 in UTC", () => {
    const ms = Date.UTC(2024, 5, 19, 11, 49);
    expect(formatRfc822(ms)).toBe("Wed, 19 Jun 2024 11:49:00 GMT");
    expect(formatRfc3339(ms)).toBe("2024-06-19T11:49:00Z");
  });

  it("knows IANA zones and refuses others", () => {
    expect(isValidTimeZone("Asia/Amman")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
    expect(isValidTimeZone("Asia/Amman; DROP TABLE")).toBe(false);
  });
});
