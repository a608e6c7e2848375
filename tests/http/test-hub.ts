// A small WebSub hub for tests: a real node:http server on 127.0.0.1 that records every publish
// ping, can be told to fail the first N (with a status) or to never answer at all.

import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface HubRequest {
  method: string;
  path: string;
  contentType: string;
  body: string;
  /** `hub.mode` */
  mode: string | null;
  /** Every `hub.url`, in order. */
  urls: string[];
  /** The status answered, or undefined while the request is open (or was never answered). */
  answered?: number;
}

export interface TestHub {
  /** `http://127.0.0.1:{port}/hub` */
  url: string;
  requests: HubRequest[];
  /** The next `count` requests are answered with `status` (500 by default). */
  failNext(count: number, status?: number): void;
  /** From now on, requests are received and never answered. */
  hang(): void;
  /** Resolves once `count` requests in all have been received. */
  received(count: number): Promise<void>;
  /** Requests received and not answered (still open, or closed by the client). */
  open(): number;
  close(): Promise<void>;
}

export async function startHub(okStatus = 204): Promise<TestHub> {
  const requests: HubRequest[] = [];
  let failures = 0;
  let failStatus = 500;
  let hanging = false;
  const waiters: { count: number; resolve: () => void }[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const form = new URLSearchParams(body);
      const record: HubRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        contentType: req.headers["content-type"] ?? "",
        body,
        mode: form.get("hub.mode"),
        urls: form.getAll("hub.url"),
      };
      requests.push(record);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      if (hanging) return;
      const status = failures > 0 ? failStatus : okStatus;
      if (failures > 0) failures -= 1;
      record.answered = status;
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "" : "no");
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hub`,
    requests,
    failNext(count, status = 500) {
      failures = count;
      failStatus = status;
    },
    hang() {
      hanging = true;
    },
    received(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    open() {
      return requests.filter((r) => r.answered === undefined).length;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
