// Monthly archives (RFC 5005): months are calendar months in the site's time zone.

import { formatRfc3339, zonedFields, zonedToUtc } from "./dates.ts";

export interface Month {
  year: number;
  /** 1–12 */
  month: number;
}

export interface MonthRange {
  /** First instant of the month (inclusive), epoch ms. */
  from: number;
  /** First instant of the next month (exclusive), epoch ms. */
  to: number;
}

export function monthRange(m: Month, timeZone: string): MonthRange {
  return {
    from: zonedToUtc([m.year, m.month - 1, 1, 0, 0, 0], timeZone),
    to: zonedToUtc([m.year, m.month, 1, 0, 0, 0], timeZone),
  };
}

/** The month an instant falls in, on the zone's calendar. */
export function monthOf(ms: number, timeZone: string): Month {
  const [year, month] = zonedFields(ms, timeZone);
  return { year, month: month + 1 };
}

export function nextMonth(m: Month): Month {
  return m.month === 12 ? { year: m.year + 1, month: 1 } : { year: m.year, month: m.month + 1 };
}

/** `2024/06`: the path form, also used in cache keys. */
export function monthPath(m: Month): string {
  return `${String(m.year).padStart(4, "0")}/${String(m.month).padStart(2, "0")}`;
}

/** Reads `{YYYY}/{MM}` path segments; undefined unless both are well-formed and in range. */
export function parseMonth(year: string, month: string): Month | undefined {
  if (!/^\d{4}$/.test(year) || !/^\d{2}$/.test(month)) return undefined;
  const m = { year: Number(year), month: Number(month) };
  if (m.year < 1000 || m.month < 1 || m.month > 12) return undefined;
  return m;
}

export function rangeText(r: MonthRange): { from: string; to: string } {
  return { from: formatRfc3339(r.from), to: formatRfc3339(r.to) };
}
