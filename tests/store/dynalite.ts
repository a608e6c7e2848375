// A real DynamoDB-compatible server for tests: dynalite in memory on 127.0.0.1, an ephemeral port.

import type { AddressInfo } from "node:net";
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
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
