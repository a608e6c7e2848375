// The end-to-end suite against the Node server (functions/node.ts) as a child process.

import { e2eSuite, startNodeServer } from "./contract.ts";

e2eSuite("Node server (SQLite)", startNodeServer);
