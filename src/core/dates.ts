// Date parsing and formatting. Pure: never reads the clock or the machine's time zone.

export type DateParse = { ok: true; ms: number } | { ok: false; message: string };

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Years outside this range are refused: RSS needs four digits, and no news is older. */
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

/**
 * Reads an RFC 3339 timestamp with an offset, or a local `YYYY-MM-DD HH:mm[:ss]` in `timeZone`.
 * Refuses impossible calendar dates (`2024-02-30`) instead of rolling them over.
 */
export function parseDateInput(value: string, timeZone: string): DateParse {
  const full = RFC3339.exec(value);
  if (full) {
    const [, y, mo, d, h, mi, s, frac, offset] = full;
    const fields = checkFields(y!, mo!, d!, h!, mi!, s!);
    if (typeof fields === "string") return { ok: false, message: fields };
    const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
    let offsetMinutes = 0;
    if (offset && offset.toUpperCase() !== "Z") {
      const sign = offset.startsWith("-") ? -1 : 1;
      const oh = Number(offset.slice(1, 3));
      const om = Number(offset.slice(4, 6));
      if (oh > 23 || om > 59) return { ok: false, message: "has an impossible UTC offset" };
      offsetMinutes = sign * (oh * 60 + om);
    }
    return { ok: true, ms: Date.UTC(...fields) + ms - offsetMinutes * 60_000 };
  }
  const local = LOCAL.exec(value);
  if (local) {
    const [, y, mo, d, h, mi, s] = local;
    const fields = checkFields(y!, mo!, d!, h!, mi!, s ?? "00");
    if (typeof fields === "string") return { ok: false, message: fields };
    return { ok: true, ms: zonedToUtc(fields, timeZone) };
  }
  return {
    ok: false,
    message: "must be RFC 3339 with an offset (2024-06-19T11:49:00Z) or local YYYY-MM-DD HH:mm[:ss]",
  };
}

type Fields = [number, number, number, number, number, number];

function checkFields(y: string, mo: string, d: string, h: string, mi: string, s: string): Fields | string {
  const year = Number(y);
  const month = Number(mo) - 1;
  const day = Number(d);
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  if (year < MIN_YEAR || year > MAX_YEAR) return `year must be between ${MIN_YEAR} and ${MAX_YEAR}`;
  if (month < 0 || month > 11) return "has an impossible month";
  if (day < 1 || day > daysInMonth(year, month)) return "has an impossible day of the month";
  if (hour > 23 || minute > 59 || second > 59) return "has an impossible time of day";
  return [year, month, day, hour, minute, second];
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

// Formatters are costly to build; one per zone is kept (a pure memo, not state).
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = zoneFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    if (zoneFormatters.size > 500) zoneFormatters.clear();
    zoneFormatters.set(timeZone, f);
  }
  return f;
}

/** True for an IANA zone name this runtime knows (`Asia/Amman`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(timeZone)) return false;
  try {
    zoneFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Canonical name of a valid zone (case fixed: `asia/amman` → `Asia/Amman`). */
export function canonicalTimeZone(timeZone: string): string {
  return zoneFormatter(timeZone).resolvedOptions().timeZone;
}

/** Wall-clock fields of an instant in a zone. */
export function zonedFields(ms: number, timeZone: string): Fields {
  const parts: Record<string, number> = {};
  for (const p of zoneFormatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return [parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!];
}

function offsetAt(ms: number, timeZone: string): number {
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  return Date.UTC(...zonedFields(whole, timeZone)) - whole;
}

/**
 * The instant at which the zone's clocks show these fields. In a spring-forward gap the
 * time is read with the offset from before the gap (02:30 that never happened → 03:30);
 * in an autumn overlap the earlier instant is chosen.
 */
export function zonedToUtc(fields: Fields, timeZone: string): number {
  const asUtc = Date.UTC(...fields);
  const before = offsetAt(asUtc - 86_400_000, timeZone);
  const after = offsetAt(asUtc + 86_400_000, timeZone);
  const earlier = asUtc - before;
  if (offsetAt(earlier, timeZone) === before) return earlier;
  const later = asUtc - after;
  if (offsetAt(later, timeZone) === after) return later;
  return earlier;
}

/** `2024-06-19T11:49:00Z`, with `.mmm` only when the milliseconds are not zero. */
export function formatRfc3339(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : iso;
}

/** RFC 822 as RSS wants it: `Wed, 19 Jun 2024 11:49:00 GMT`. */
export function formatRfc822(ms: number): string {
  return new Date(ms).toUTCString();
}

/** HTTP-date (RFC 9110 IMF-fixdate): the same shape as RFC 822 in GMT. */
export const formatHttpDate = formatRfc822;

/** Parses an HTTP-date; undefined when it does not parse. */
export function parseHttpDate(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

export function toMs(rfc3339: string): number {
  return Date.parse(rfc3339);
}
