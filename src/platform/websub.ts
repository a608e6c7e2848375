// Sending WebSub publish pings with the runtime's fetch: one attempt (`sendPing`), and the notifier for
// runtimes that keep no process between requests (Workers, Lambda), which tries each hub at most
// three times while the request is still alive (waitUntil, or before the Lambda handler returns).
// The long-lived retry queue for Node is in hub-queue.ts.

import { hubLabel, publishBodies } from "../core/websub.ts";
import type { HubNotifier, HubPing } from "../http/deps.ts";

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;
export type Log = (event: Record<string, unknown>) => void;

export type PingResult = { ok: true; status: number } | { ok: false; status?: number; error?: string };

/** One POST of a publish ping. 2xx is delivered; any other status, a network error or the timeout is not. */
export async function sendPing(fetchFn: Fetch, hub: string, body: string, signal: AbortSignal): Promise<PingResult> {
  try {
    const res = await fetchFn(hub, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal,
    });
    // The hub's answer is not needed; release the connection.
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/** A short reason for the log: never the request, its body or the hub's query. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return "failed";
  if (error.name === "TimeoutError") return "timed out";
  if (error.name === "AbortError") return "aborted";
  const cause: unknown = error.cause;
  const code = cause instanceof Error && "code" in cause && typeof cause.code === "string" ? ` (${cause.code})` : "";
  return `${error.message}${code}`;
}

/** What a failed attempt adds to a log event. */
export function failureFields(result: PingResult): Record<string, unknown> {
  if (result.ok) return {};
  return result.status !== undefined ? { status: result.status } : { error: result.error ?? "failed" };
}

export interface AttemptNotifierOptions {
  log: Log;
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  /** Attempts per hub and body, at most: 3. */
  attempts?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** Pause before the 2nd, 3rd, … attempt. */
  backoffMs?: readonly number[];
}

export const ATTEMPT_DEFAULTS = { attempts: 3, timeoutMs: 5_000, backoffMs: [1_000, 2_000] } as const;

export interface AttemptNotifier extends HubNotifier {
  /** Resolves when every delivery started so far has finished (Lambda awaits it before returning). */
  settled(): Promise<void>;
}

/**
 * For Workers and Lambda: each hub gets each ping at most `attempts` times, within the promise that
 * `notify` returns (handed to waitUntil by the app). Worst case with the defaults: 3 × 5 s + 1 s + 2 s
 * = 18 s, inside the 30 s a Worker may keep running after its response. A ping that still fails is
 * logged and dropped; the next change pings the main feeds again.
 */
export function createAttemptNotifier(options: AttemptNotifierOptions): AttemptNotifier {
  const fetchFn: Fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const attempts = Math.max(1, options.attempts ?? ATTEMPT_DEFAULTS.attempts);
  const timeoutMs = options.timeoutMs ?? ATTEMPT_DEFAULTS.timeoutMs;
  const backoffMs = options.backoffMs ?? ATTEMPT_DEFAULTS.backoffMs;
  const pending = new Set<Promise<void>>();

  const deliver = async (site: string, hub: string, body: string): Promise<void> => {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const result = await sendPing(fetchFn, hub, body, AbortSignal.timeout(timeoutMs));
      if (result.ok) return;
      const last = attempt === attempts;
      options.log({ event: last ? "websub.abandoned" : "websub.failed", site, hub: hubLabel(hub), attempt, ...failureFields(result) });
      if (!last) await sleep(backoffMs[Math.min(attempt - 1, backoffMs.length - 1)] ?? 0);
    }
  };

  return {
    notify(ping: HubPing) {
      const bodies = publishBodies(ping.urls);
      const all = Promise.all(ping.hubs.flatMap((hub) => bodies.map((body) => deliver(ping.site, hub, body)))).then(
        () => undefined,
        () => undefined,
      );
      pending.add(all);
      void all.then(() => pending.delete(all));
      return all;
    },
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
