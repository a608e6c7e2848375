// DynamoDB client settings from the environment, shared by the Lambda entry and `npm start` with
// NASHIR_STORE=dynamodb. Region and credentials follow the AWS SDK's own rules, except that with
// NASHIR_DYNAMODB_ENDPOINT set and no AWS settings (a local dynalite or DynamoDB Local) the region
// is us-east-1 and the credentials are dummies: the SDK's provider chain, whose last resort is the
// instance metadata address (169.254.169.254), is never consulted.

import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { createDynamoStore } from "../store/dynamodb.ts";
import type { Store } from "../store/port.ts";

type Env = Record<string, string | undefined>;

export interface DynamoSettings {
  /** NASHIR_DYNAMODB_TABLE, default `nashir`. */
  table: string;
  /** NASHIR_DYNAMODB_ENDPOINT: a local engine; absent for AWS. */
  endpoint?: string;
}

/** Any of these means the operator configured AWS credentials: the SDK chain is used as is. */
const CREDENTIAL_SETTINGS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_PROFILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
] as const;

export function readDynamoSettings(env: Env): DynamoSettings {
  const table = env.NASHIR_DYNAMODB_TABLE || "nashir";
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new Error(`NASHIR_DYNAMODB_TABLE must be 3–255 characters of A-Z a-z 0-9 _ . -, not ${JSON.stringify(table)}`);
  }
  const endpoint = env.NASHIR_DYNAMODB_ENDPOINT || undefined;
  if (endpoint !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(endpoint).protocol;
    } catch {
      // Reported below.
    }
    if (protocol !== "http:" && protocol !== "https:") {
      throw new Error(`NASHIR_DYNAMODB_ENDPOINT must be an absolute http(s) URL, not ${JSON.stringify(endpoint)}`);
    }
  }
  return endpoint === undefined ? { table } : { table, endpoint };
}

/** The client configuration for these settings (exported for the test that no metadata call is made). */
export function dynamoClientConfig(env: Env, settings: DynamoSettings = readDynamoSettings(env)): DynamoDBClientConfig {
  const config: DynamoDBClientConfig = {
    maxAttempts: 3,
    // Fail fast: a request that stalls is retried (maxAttempts), and the store guard answers 503.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  };
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (settings.endpoint !== undefined) {
    config.endpoint = settings.endpoint;
    config.region = region || "us-east-1";
    if (!CREDENTIAL_SETTINGS.some((name) => env[name])) {
      config.credentials = { accessKeyId: "local", secretAccessKey: "local" };
    }
  } else if (region) {
    config.region = region;
  }
  return config;
}

/** The DynamoDB store for this environment (it owns its client). */
export function createDynamoStoreFromEnv(env: Env): Store {
  const settings = readDynamoSettings(env);
  return createDynamoStore({ client: new DynamoDBClient(dynamoClientConfig(env, settings)), table: settings.table });
}
