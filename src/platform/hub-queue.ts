// Node's WebSub delivery: an in-process queue that keeps retrying a hub that fails, with exponential
// backoff and jitter, for up to an hour after the change. Bounded (a full queue drops new pings, and
// says so), timers unref'd (the queue never keeps the process alive), and drained on shutdown: each
// waiting ping gets one last attempt within a grace period, then whatever is left is abandoned.
// Pings waiting for the same hub are merged, so a burst of changes while a hub is down becomes one
// ping per hub (up to MAX_URLS_PER_PING URLs each).

import { MAX_URLS_PER_PING, hubLabel, publishBodies } from "../core/websub.ts";
import type { HubNotifier, HubPing } from "../http/deps.ts";
import { type Fetch, type Log, type PingResult, failureFields, sendPing } from "./websub.ts";

/** The clock and timers the queue runs on: real ones in production, a hand-moved one in tests. */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Date.now and unref'd timers: a pending retry never keeps Node running. */
export const nodeTimers: Timers = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export interface HubQueueOptions {
  log: Log;
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  timers?: Timers;
  /** In [0, 1): jitter of each retry delay. Defaults to Math.random. */
  random?: () => number;
  /** Per attempt (AbortSignal.timeout). */
  timeoutMs?: number;
  /** How long after its (latest) change a ping is retried before it is abandoned. */
  retryForMs?: number;
  /** Delay before the first retry; doubled for each next one, up to maxRetryMs. */
  firstRetryMs?: number;
  maxRetryMs?: number;
  /** Pings waiting or in flight, at most. */
  maxJobs?: number;
  /** Requests in flight, at most. */
  concurrency?: number;
}

type Tuning = Required<Pick<HubQueueOptions, "timeoutMs" | "retryForMs" | "firstRetryMs" | "maxRetryMs" | "maxJobs" | "concurrency">>;

export const HUB_QUEUE_DEFAULTS: Readonly<Tuning> = {
  timeoutMs: 10_000,
  retryForMs: 60 * 60_000,
  firstRetryMs: 10_000,
  maxRetryMs: 15 * 60_000,
  maxJobs: 1_000,
  concurrency: 4,
};

export interface ShutdownReport {
  delivered: number;
  abandoned: number;
}

export interface HubQueue extends HubNotifier {
  /** Pings waiting or in flight. */
  readonly size: number;
  /** Resolves when no request is in flight and none is due (pings may still be waiting for a retry). */
  idle(): Promise<void>;
  /**
   * Stops taking pings, gives each waiting ping one last attempt, waits up to `graceMs` for the
   * attempts in flight, then aborts them and abandons the rest. Resolves when nothing is left.
   */
  close(graceMs?: number): Promise<ShutdownReport>;
}

interface Job {
  hub: string;
  /** Insertion-ordered, no duplicates. */
  urls: Set<string>;
  sites: Set<string>;
  /** Attempts made so far. */
  attempts: number;
  /** Clock time of the next attempt. */
  dueAt: number;
  /** Clock time after which it is abandoned instead of retried. */
  deadline: number;
  running: boolean;
  /** Its last attempt at shutdown has been made or started. */
  finalTried: boolean;
}

export function createHubQueue(options: HubQueueOptions): HubQueue {
  const fetchFn: Fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const timers = options.timers ?? nodeTimers;
  const random = options.random ?? Math.random;
  const o: Tuning = { ...HUB_QUEUE_DEFAULTS };
  for (const key of Object.keys(HUB_QUEUE_DEFAULTS) as (keyof Tuning)[]) {
    const value = options[key];
    if (value !== undefined) o[key] = value;
  }
  const log = options.log;

  const jobs: Job[] = [];
  let running = 0;
  let timer: unknown;
  let timerAt = Infinity;
  let idleWaiters: (() => void)[] = [];
  /** Set by close(): no new pings, no more retries. */
  let closing = false;
  const stop = new AbortController();
  const report: ShutdownReport = { delivered: 0, abandoned: 0 };
  let closed: Promise<ShutdownReport> | undefined;
  let finishClose: (() => void) | undefined;

  const retryDelay = (attempts: number) => {
    const exponential = Math.min(o.maxRetryMs, o.firstRetryMs * 2 ** (attempts - 1));
    // Full delay minus up to a quarter, so hubs are not hit in lockstep.
    return Math.round(exponential * (1 - random() * 0.25));
  };

  const remove = (job: Job) => {
    const at = jobs.indexOf(job);
    if (at >= 0) jobs.splice(at, 1);
  };

  const logFields = (job: Job) => ({ hub: hubLabel(job.hub), sites: [...job.sites], urls: job.urls.size, attempt: job.attempts });

  const start = (job: Job) => {
    job.running = true;
    job.attempts += 1;
    running += 1;
    const signal = AbortSignal.any([AbortSignal.timeout(o.timeoutMs), stop.signal]);
    const body = publishBodies([...job.urls], MAX_URLS_PER_PING)[0] ?? "";
    void sendPing(fetchFn, job.hub, body, signal).then((result) => finish(job, result));
  };

  const finish = (job: Job, result: PingResult) => {
    running -= 1;
    job.running = false;
    const now = timers.now();
    if (result.ok) {
      remove(job);
      if (closing) report.delivered += 1;
      if (job.attempts > 1) log({ event: "websub.delivered", ...logFields(job) });
    } else if (closing) {
      remove(job);
      report.abandoned += 1;
      log({ event: "websub.abandoned", reason: "shutdown", ...logFields(job), ...failureFields(result) });
    } else {
      const delay = retryDelay(job.attempts);
      if (now + delay > job.deadline) {
        remove(job);
        log({ event: "websub.abandoned", reason: "retried for too long", ...logFields(job), ...failureFields(result) });
      } else {
        job.dueAt = now + delay;
        log({ event: "websub.failed", ...logFields(job), ...failureFields(result), retry_in_ms: delay });
      }
    }
    pump();
    // Idle only when nothing was due to start: a merged or queued ping would have started above.
    if (running === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  /** Starts what is due (everything untried, when closing), then sets one timer for the next due job. */
  const pump = () => {
    const now = timers.now();
    for (const job of jobs) {
      if (running >= o.concurrency) break;
      if (job.running) continue;
      if (closing ? !job.finalTried : job.dueAt <= now) {
        if (closing) job.finalTried = true;
        start(job);
      }
    }
    if (closing) {
      if (jobs.length === 0) finishClose?.();
      return;
    }
    let next = Infinity;
    for (const job of jobs) if (!job.running) next = Math.min(next, job.dueAt);
    // Due but waiting for a free slot: a finishing request pumps again.
    if (next <= now) return;
    if (next !== timerAt) {
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      timerAt = next;
      if (next !== Infinity) {
        timer = timers.setTimeout(() => {
          timer = undefined;
          timerAt = Infinity;
          pump();
        }, next - now);
      }
    }
  };

  const enqueue = (site: string, hub: string, urls: readonly string[], now: number) => {
    let rest = [...urls];
    // Merge into pings already waiting for this hub; their backoff stands (the hub is failing),
    // and they are kept for the full period after this newest change.
    for (const job of jobs) {
      if (rest.length === 0) break;
      if (job.hub !== hub || job.running) continue;
      const left: string[] = [];
      for (const url of rest) {
        if (job.urls.has(url)) continue;
        if (job.urls.size < MAX_URLS_PER_PING) job.urls.add(url);
        else left.push(url);
      }
      if (left.length < rest.length) {
        job.sites.add(site);
        job.deadline = Math.max(job.deadline, now + o.retryForMs);
      }
      rest = left;
    }
    for (let i = 0; i < rest.length; i += MAX_URLS_PER_PING) {
      if (jobs.length >= o.maxJobs) {
        log({ event: "websub.dropped", reason: "queue full", site, hub: hubLabel(hub), urls: rest.length - i });
        return;
      }
      jobs.push({
        hub,
        urls: new Set(rest.slice(i, i + MAX_URLS_PER_PING)),
        sites: new Set([site]),
        attempts: 0,
        dueAt: now,
        deadline: now + o.retryForMs,
        running: false,
        finalTried: false,
      });
    }
  };

  return {
    get size() {
      return jobs.length;
    },

    notify(ping: HubPing) {
      if (closing) {
        log({ event: "websub.dropped", reason: "shutting down", site: ping.site });
        return undefined;
      }
      const now = timers.now();
      for (const hub of ping.hubs) enqueue(ping.site, hub, ping.urls, now);
      pump();
      return undefined;
    },

    idle() {
      return running === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    close(graceMs = 5_000) {
      if (closed) return closed;
      closing = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      closed = new Promise<ShutdownReport>((resolve) => {
        let grace: unknown;
        finishClose = () => {
          finishClose = undefined;
          if (grace !== undefined) timers.clearTimeout(grace);
          if (report.delivered + report.abandoned > 0) log({ event: "websub.shutdown", ...report });
          resolve({ ...report });
        };
        if (jobs.length === 0) return finishClose();
        grace = timers.setTimeout(() => {
          grace = undefined;
          // Attempts in flight end as aborted (and are counted then); the untried are abandoned now.
          for (const job of [...jobs]) {
            if (job.running) continue;
            remove(job);
            report.abandoned += 1;
            log({ event: "websub.abandoned", reason: "shutdown", ...logFields(job) });
          }
          stop.abort();
          if (jobs.length === 0) finishClose?.();
        }, graceMs);
        pump();
      });
      return closed;
    },
  };
}

