// A real DynamoDB-compatible server for tests: dynalite in memory on 127.0.0.1, an ephemeral port.

import type { AddressInfo } from "node:net";
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClientConfig,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { createTable } from "../../src/store/dynamodb.ts";

export interface Dynalite {
  endpoint: string;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A client for dynalite: fixed region, dummy credentials (nothing is looked up). */
export function localClient(endpoint: string, extra: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 2,
    ...extra,
  });
}

let tables = 0;

/** A new table with its GSIs, under a name no other test uses. */
export async function freshTable(client: DynamoDBClient): Promise<string> {
  tables += 1;
  const name = `nashir-${process.pid}-${tables}-${Date.now().toString(36)}`;
  await createTable(client, name);
  return name;
}

export interface ReadCall {
  command: string;
  /** Items the engine answered (Query Items, GetItem Item, BatchGetItem Responses). */
  items: number;
  /** What DynamoDB reports as consumed (ReturnConsumedCapacity TOTAL is added to every read). */
  capacity: number;
}

export interface ReadCounter {
  calls: ReadCall[];
  reset(): void;
  items(): number;
  capacity(): number;
}

const READS = new Set(["GetItemCommand", "QueryCommand", "BatchGetItemCommand", "ScanCommand"]);

function capacityOf(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, v: unknown) => sum + capacityOf(v), 0);
  if (value && typeof value === "object" && "CapacityUnits" in value && typeof value.CapacityUnits === "number") {
    return value.CapacityUnits;
  }
  return 0;
}

function itemsOf(output: object): number {
  if ("Items" in output && Array.isArray(output.Items)) return output.Items.length;
  if ("Item" in output) return output.Item ? 1 : 0;
  if ("Responses" in output && output.Responses && typeof output.Responses === "object") {
    return Object.values(output.Responses).reduce((sum: number, list: unknown) => sum + (Array.isArray(list) ? list.length : 0), 0);
  }
  return 0;
}

/** Counts what every read of this (real) client brings back, by a middleware on its stack. */
export function countReads(client: DynamoDBClient): ReadCounter {
  const calls: ReadCall[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? "?";
      const isRead = READS.has(command);
      if (isRead) Object.assign(args.input, { ReturnConsumedCapacity: "TOTAL" });
      const result = await next(args);
      if (isRead) {
        const output = result.output as object;
        calls.push({ command, items: itemsOf(output), capacity: capacityOf("ConsumedCapacity" in output ? output.ConsumedCapacity : undefined) });
      }
      return result;
    },
    { step: "initialize", name: "countReads" },
  );
  return {
    calls,
    reset: () => {
      calls.length = 0;
    },
    items: () => calls.reduce((sum, c) => sum + c.items, 0),
    capacity: () => calls.reduce((sum, c) => sum + c.capacity, 0),
  };
}

// ---- replication lag, which dynalite does not have ----

export interface IndexLag {
  /** Item writes the lagging GSIs have not seen yet. */
  behind(): number;
  /** From now on the lagging GSIs stay this many item writes behind the table (Infinity: frozen until catchUp). */
  lag(items: number): Promise<void>;
  /** The lagging GSIs see every write made so far. */
  catchUp(): Promise<void>;
  close(): void;
}

/** The GSIs whose lag the store must hide (the `expiry` GSI only feeds pruning, which tolerates lag). */
export const LAGGING_INDEXES = ["timeline", "by_category", "by_tag", "by_author", "tombstones"];

type Key = Record<string, AttributeValue>;

/**
 * Makes the GSI Queries that `client` sends answer from a shadow table that trails the real one by
 * `items` item writes: every write the client makes to `table` is read back (strongly consistent,
 * on another client) and queued, and the shadow applies the queue oldest first once it is longer
 * than the lag. Queries by key, GetItem and BatchGetItem still go to the real table, as GSIs on
 * DynamoDB lag while the table itself answers consistent reads. The shadow starts as a copy of the
 * table. A test-only stand-in for what dynalite lacks: it never changes what the store sends, only
 * which table a GSI Query reads.
 */
export async function lagIndexes(client: DynamoDBClient, endpoint: string, table: string, options: { items: number; indexes?: string[] }): Promise<IndexLag> {
  const raw = localClient(endpoint);
  const shadow = await freshTable(raw);
  const indexes = new Set(options.indexes ?? LAGGING_INDEXES);
  let lagItems = options.items;
  const queue: Array<{ key: Key; item: Key | undefined }> = [];
  // Read-backs and applies run one at a time, so the queue keeps the order writes were seen in.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };

  // The shadow starts as the table is now.
  let start: Key | undefined;
  do {
    const from = start;
    const out = await raw.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(from ? { ExclusiveStartKey: from } : {}) }));
    const items = out.Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      const puts = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      await raw.send(new BatchWriteItemCommand({ RequestItems: { [shadow]: puts } }));
    }
    start = out.LastEvaluatedKey;
  } while (start);

  const apply = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const next = queue.shift();
      if (!next) return;
      if (next.item) await raw.send(new PutItemCommand({ TableName: shadow, Item: next.item }));
      else await raw.send(new DeleteItemCommand({ TableName: shadow, Key: next.key }));
    }
  };
  const drain = () => apply(Number.isFinite(lagItems) ? Math.max(0, queue.length - lagItems) : 0);

  const keysOf = (command: string, input: Record<string, unknown>): Key[] => {
    if (input.TableName !== undefined && input.TableName !== table) return [];
    switch (command) {
      case "PutItemCommand": {
        const item = input.Item as Key | undefined;
        return item?.pk && item.sk ? [{ pk: item.pk, sk: item.sk }] : [];
      }
      case "UpdateItemCommand":
      case "DeleteItemCommand":
        return input.Key ? [input.Key as Key] : [];
      case "BatchWriteItemCommand": {
        const requests = (input.RequestItems as Record<string, WriteRequest[]> | undefined)?.[table] ?? [];
        return requests.flatMap((r) => {
          const key = r.PutRequest?.Item ?? r.DeleteRequest?.Key;
          return key?.pk && key.sk ? [{ pk: key.pk, sk: key.sk }] : [];
        });
      }
      default:
        return [];
    }
  };

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? "?";
      const input = args.input as Record<string, unknown>;
      if (command === "QueryCommand" && input.TableName === table && typeof input.IndexName === "string" && indexes.has(input.IndexName)) {
        return next({ ...args, input: { ...input, TableName: shadow } as typeof args.input });
      }
      // Site items and deletion markers are in no GSI: only the data partitions are queued.
      const keys = keysOf(command, input).filter((k) => !k.pk?.S?.startsWith("SITE#"));
      const result = await next(args);
      if (keys.length > 0) {
        await serial(async () => {
          for (const key of keys) {
            const out = await raw.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
            queue.push({ key, item: out.Item });
          }
          await drain();
        });
      }
      return result;
    },
    { step: "initialize", name: "lagIndexes" },
  );

  return {
    behind: () => queue.length,
    lag: (items) =>
      serial(async () => {
        lagItems = items;
        await drain();
      }),
    catchUp: () => serial(() => apply(queue.length)),
    close: () => {
      client.middlewareStack.remove("lagIndexes");
      raw.destroy();
    },
  };
}
