// Failed-authentication limit per client: more than MAX failures in WINDOW answers 429.
// State lives in the app instance (never module level), bounded in clients.

export const FAILURE_WINDOW_MS = 60_000;
export const MAX_FAILURES = 10;
const MAX_CLIENTS = 10_000;

export interface FailureLimiter {
  /** Seconds to wait when the client is over the limit, else undefined. */
  retryAfter(client: string, now: number): number | undefined;
  recordFailure(client: string, now: number): void;
}

export function createFailureLimiter(): FailureLimiter {
  const failures = new Map<string, number[]>();

  const recent = (client: string, now: number): number[] => {
    const list = (failures.get(client) ?? []).filter((t) => t > now - FAILURE_WINDOW_MS);
    if (list.length) failures.set(client, list);
    else failures.delete(client);
    return list;
  };

  return {
    retryAfter(client, now) {
      const list = recent(client, now);
      if (list.length < MAX_FAILURES) return undefined;
      const oldestThatCounts = list[list.length - MAX_FAILURES]!;
      return Math.max(1, Math.ceil((oldestThatCounts + FAILURE_WINDOW_MS - now) / 1000));
    },
    recordFailure(client, now) {
      const list = recent(client, now);
      list.push(now);
      if (list.length > MAX_FAILURES) list.splice(0, list.length - MAX_FAILURES);
      failures.delete(client);
      failures.set(client, list);
      // Forget the least recently failing clients first.
      for (const key of failures.keys()) {
        if (failures.size <= MAX_CLIENTS) break;
        failures.delete(key);
      }
    },
  };
}
