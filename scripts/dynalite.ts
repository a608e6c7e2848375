// `npm run dynalite`: a local DynamoDB-compatible server (dynalite) on 127.0.0.1:$DYNALITE_PORT
// (default 4567), with the Nashir table ($NASHIR_DYNAMODB_TABLE, default `nashir`) and its GSIs.
// In memory unless DYNALITE_PATH names a folder to keep the data in. Then, in another terminal:
//
//   NASHIR_STORE=dynamodb NASHIR_DYNAMODB_ENDPOINT=http://127.0.0.1:4567 npm start
//
// dynalite has no TTL: replay records and tombstones are removed by the store's prune calls.

import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { createTable } from "../src/store/dynamodb.ts";

const port = Number(process.env.DYNALITE_PORT || 4567);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`DYNALITE_PORT must be a port number, not ${process.env.DYNALITE_PORT}`);
const table = process.env.NASHIR_DYNAMODB_TABLE || "nashir";
const path = process.env.DYNALITE_PATH || undefined;

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
await new Promise<void>((resolve, reject) => {
  server.once("error", reject);
  server.listen(port, "127.0.0.1", () => resolve());
});
const { port: bound } = server.address() as AddressInfo;
const endpoint = `http://127.0.0.1:${bound}`;

const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
await createTable(client, table);
client.destroy();

process.stdout.write(
  `dynalite listening on ${endpoint}${path ? ` (data in ${path})` : " (in memory)"}; table ${table} is ACTIVE\n` +
    `run the server on it: NASHIR_STORE=dynamodb NASHIR_DYNAMODB_ENDPOINT=${endpoint} NASHIR_DYNAMODB_TABLE=${table} npm start\n`,
);

const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
