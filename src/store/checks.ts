// Argument checks every adapter applies the same way, so the contract sees the same errors.

import { toMs } from "../core/dates.ts";

/** Epoch ms of a stored timestamp; a RangeError names the argument when it is not one. */
export function instant(value: string, what: string): number {
  const ms = toMs(value);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not a timestamp: ${JSON.stringify(value)}`);
  return ms;
}

export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new RangeError(`limit must be an integer from 1 to 100, got ${limit}`);
  }
}
