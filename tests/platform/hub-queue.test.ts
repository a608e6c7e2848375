// The Node WebSub queue against a real hub over HTTP, on a clock the test moves by hand: retries,
// backoff, the one-hour limit, merging, the bound, timeouts and shutdown, without waiting for time.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HUB_QUEUE_DEFAULTS, type HubQueue, type HubQueueOptions, type Timers, createHubQueue, nodeTimers } from "../../src/platform/hub-queue.ts";
import { type TestHub, startHub } from "../http/test-hub.ts";

/** Timers that fire only when the test advances the clock. */
class ManualTimers implements Timers {
  private time = 1_000_000;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Moves the clock, firing each timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.pending.delete(first[0]);
      this.time = Math.max(this.time, first[1].at);
      first[1].callback();
    }
    this.time = end;
  }
  /** Moves the clock to the next timer and fires it; false when none is set. */
  advanceToNext(): boolean {
    let first: number | undefined;
    for (const { at } of this.pending.values()) if (first === undefined || at < first) first = at;
    if (first === undefined) return false;
    this.advance(first - this.time);
    return true;
  }
  get scheduled(): number {
    return this.pending.size;
  }
}

const SITE_URLS = ["https://feeds.example/nisan/rss.xml", "https://feeds.example/nisan/atom.xml", "https://feeds.example/nisan/feed.json"];

let hub: TestHub;
let timers: ManualTimers;
let logs: Record<string, unknown>[];
let queue: HubQueue | undefined;

function makeQueue(options: Partial<HubQueueOptions> = {}): HubQueue {
  queue = createHubQueue({ log: (e) => logs.push(e), timers, random: () => 0, ...options });
  return queue;
}

const events = (name: string) => logs.filter((e) => e.event === name);

beforeEach(async () => {
  hub = await startHub();
  timers = new ManualTimers();
  logs = [];
  queue = undefined;
});

/** Closes with no grace: what is still in flight is aborted once the clock moves. */
async function closeNow(q: HubQueue | undefined): Promise<void> {
  if (!q) return;
  const closing = q.close(0);
  timers.advance(1);
  await closing;
}

afterEach(async () => {
  await closeNow(queue);
  await hub.close();
});

describe("hub queue", () => {
  it("sends one form POST at once and is done on 2xx", async () => {
    const q = makeQueue();
    expect(q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS })).toBeUndefined();
    await hub.received(1);
    await q.idle();
    expect(hub.requests).toHaveLength(1);
    expect(hub.requests[0]).toMatchObject({ method: "POST", contentType: "application/x-www-form-urlencoded", mode: "publish", urls: SITE_URLS, answered: 204 });
    expect(q.size).toBe(0);
    expect(timers.scheduled).toBe(0);
    expect(logs).toEqual([]);
  });

  it("retries a failing hub with exponential backoff, exactly on schedule, until it answers 2xx", async () => {
    hub.failNext(2, 500);
    const q = makeQueue({ firstRetryMs: 1_000 });
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    await q.idle();
    expect(q.size).toBe(1);

    timers.advance(999);
    await q.idle();
    expect(hub.requests).toHaveLength(1);
    timers.advance(1);
    await hub.received(2);
    await q.idle();

    // Second retry after twice the first delay.
    timers.advance(1_999);
    await q.idle();
    expect(hub.requests).toHaveLength(2);
    timers.advance(1);
    await hub.received(3);
    await q.idle();

    expect(hub.requests.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect(new Set(hub.requests.map((r) => r.body)).size).toBe(1);
    expect(q.size).toBe(0);
    expect(events("websub.failed")).toMatchObject([
      { hub: hub.url, sites: ["nisan"], attempt: 1, status: 500, retry_in_ms: 1_000 },
      { hub: hub.url, sites: ["nisan"], attempt: 2, status: 500, retry_in_ms: 2_000 },
    ]);
    expect(events("websub.delivered")).toMatchObject([{ attempt: 3 }]);
  });

  it("jitters a retry by at most a quarter of its delay", async () => {
    hub.failNext(1, 503);
    const q = makeQueue({ firstRetryMs: 1_000, random: () => 0.999 });
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    await q.idle();
    const delay = events("websub.failed")[0]?.retry_in_ms;
    expect(delay).toBe(750);
  });

  it("gives up an hour after the change: 10 attempts with the default schedule, then logs it", async () => {
    hub.failNext(1_000, 502);
    const q = makeQueue();
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    await q.idle();
    // 10 s, doubling, capped at 15 min: attempts at 0, 10, 30, 70, 150, 310, 630, 1270, 2170, 3070 s;
    // the next would be at 3970 s, after the hour.
    const start = timers.now();
    const attemptsAt = [0];
    while (q.size > 0 && timers.advanceToNext()) {
      attemptsAt.push((timers.now() - start) / 1_000);
      await q.idle();
    }
    expect(attemptsAt).toEqual([0, 10, 30, 70, 150, 310, 630, 1270, 2170, 3070]);
    expect(HUB_QUEUE_DEFAULTS.retryForMs).toBe(3_600_000);
    expect(hub.requests).toHaveLength(10);
    expect(q.size).toBe(0);
    expect(events("websub.failed")).toHaveLength(9);
    expect(events("websub.abandoned")).toMatchObject([{ reason: "retried for too long", attempt: 10, status: 502 }]);
    expect(timers.scheduled).toBe(0);
  });

  it("treats a hub that does not answer in time as failed, and retries it", async () => {
    hub.hang();
    const q = makeQueue({ timeoutMs: 100, firstRetryMs: 1_000 });
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    await q.idle();
    expect(events("websub.failed")).toMatchObject([{ attempt: 1, error: "timed out", retry_in_ms: 1_000 }]);
    expect(q.size).toBe(1);
    timers.advance(1_000);
    await hub.received(2);
  });

  it("merges pings waiting for the same hub, keeping every URL once", async () => {
    hub.failNext(1, 500);
    const q = makeQueue({ firstRetryMs: 1_000 });
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    await q.idle();
    const more = [...SITE_URLS, "https://feeds.example/nisan/categories/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/rss.xml"];
    q.notify({ site: "nisan", hubs: [hub.url], urls: more });
    q.notify({ site: "other", hubs: [hub.url], urls: ["https://feeds.example/other/rss.xml"] });
    expect(q.size).toBe(1);
    timers.advance(1_000);
    await hub.received(2);
    await q.idle();
    expect(hub.requests[1]?.urls).toEqual([...more, "https://feeds.example/other/rss.xml"]);
    expect(q.size).toBe(0);
  });

  it("is bounded: when full, a new ping is dropped and logged", async () => {
    const second = await startHub();
    try {
      hub.hang();
      second.hang();
      const q = makeQueue({ maxJobs: 2, concurrency: 1, timeoutMs: 60_000 });
      q.notify({ site: "nisan", hubs: [hub.url, second.url, "http://127.0.0.1:9/third?token=secret"], urls: SITE_URLS });
      expect(q.size).toBe(2);
      expect(events("websub.dropped")).toEqual([{ event: "websub.dropped", reason: "queue full", site: "nisan", hub: "http://127.0.0.1:9/third", urls: 3 }]);
      expect(JSON.stringify(logs)).not.toContain("secret");
    } finally {
      await closeNow(queue);
      await second.close();
    }
  });

  it("splits more than 100 URLs into several pings", async () => {
    const urls = Array.from({ length: 230 }, (_, i) => `https://feeds.example/nisan/tags/t${i}/rss.xml`);
    const q = makeQueue();
    q.notify({ site: "nisan", hubs: [hub.url], urls });
    await hub.received(3);
    await q.idle();
    expect(hub.requests.map((r) => r.urls.length).sort()).toEqual([100, 100, 30].sort());
    expect(hub.requests.flatMap((r) => r.urls).sort()).toEqual([...urls].sort());
  });

  it("on close, gives each waiting ping one last attempt, and then takes no more", async () => {
    hub.failNext(1, 500);
    const q = makeQueue({ firstRetryMs: 60_000 });
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    await q.idle();
    expect(q.size).toBe(1);
    const report = await q.close(5_000);
    expect(report).toEqual({ delivered: 1, abandoned: 0 });
    expect(hub.requests.map((r) => r.answered)).toEqual([500, 204]);
    expect(timers.scheduled).toBe(0);
    expect(q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS })).toBeUndefined();
    expect(q.size).toBe(0);
    expect(events("websub.dropped")).toMatchObject([{ reason: "shutting down", site: "nisan" }]);
  });

  it("on close, abandons a hub that hangs once the grace period is over", async () => {
    hub.hang();
    const q = makeQueue({ timeoutMs: 600_000 });
    q.notify({ site: "nisan", hubs: [hub.url], urls: SITE_URLS });
    await hub.received(1);
    let done = false;
    const closing = q.close(5_000).then((r) => {
      done = true;
      return r;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    timers.advance(5_000);
    expect(await closing).toEqual({ delivered: 0, abandoned: 1 });
    expect(events("websub.abandoned")).toMatchObject([{ reason: "shutdown", error: "aborted" }]);
    expect(q.size).toBe(0);
  });

  it("closes at once when nothing is queued", async () => {
    const q = makeQueue();
    expect(await q.close()).toEqual({ delivered: 0, abandoned: 0 });
    expect(timers.scheduled).toBe(0);
  });
});

describe("node timers", () => {
  it("never keep the process alive", () => {
    const handle = nodeTimers.setTimeout(() => undefined, 60_000) as ReturnType<typeof setTimeout>;
    try {
      expect(handle.hasRef()).toBe(false);
    } finally {
      nodeTimers.clearTimeout(handle);
    }
  });
});
