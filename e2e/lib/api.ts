// A real central API for journeys that need one: a throwaway database on the test
// PostgreSQL cluster (TEND_TEST_PG_URL, a superuser URL), migrated and seeded with the
// demo tenants by the tend-api CLI, served on a free loopback port. close() stops the
// server and drops the database.

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { artifactsDir } from "./paths.ts";
import { endProcesses, freePort, isAlive, waitForHttp } from "./processes.ts";

export interface TestApi {
  /** The API's base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The demo accounts' shared password (generated for this run). */
  demoPassword: string;
  close(): Promise<void>;
}

/** TEND_API_BIN, else the debug build in CARGO_TARGET_DIR. */
export function apiBinary(): string {
  const bin =
    process.env.TEND_API_BIN ??
    join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tend", "target"), "debug", "tend-api");
  if (!existsSync(bin)) throw new Error(`tend-api binary ${bin} not found; build it with cargo build -p tend-api`);
  return bin;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

function psql(url: string, sql: string): void {
  const result = spawnSync("psql", ["-qtA", "-v", "ON_ERROR_STOP=1", url, "-c", sql], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`psql failed: ${result.error?.message ?? result.stderr}`);
}

function cli(args: string[], env: Record<string, string>): void {
  const result = spawnSync(apiBinary(), args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`tend-api ${args[0]} failed: ${result.error?.message ?? result.stderr}`);
}

/** Starts tend-api on a fresh, seeded database. */
export async function startApi(name: string): Promise<TestApi> {
  const admin = process.env.TEND_TEST_PG_URL;
  if (!admin) {
    throw new Error(
      "TEND_TEST_PG_URL is not set: start PostgreSQL with `eval \"$(bash scripts/services/postgres.sh start /tmp/tend-pg)\"`",
    );
  }
  const database = `tend_e2e_${randomBytes(6).toString("hex")}`;
  const appRole = "tend_e2e_api";
  const appPassword = randomBytes(18).toString("hex");
  const demoPassword = `demo-${randomBytes(9).toString("hex")}`;
  psql(admin, `CREATE DATABASE ${database}`);
  const dropDatabase = () => psql(admin, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const ownerUrl = withDatabase(admin, database);
    cli(["migrate", "--app-user", appRole], { TEND_MIGRATE_DATABASE_URL: ownerUrl, TEND_APP_PASSWORD: appPassword });
    cli(["seed-demo"], { TEND_MIGRATE_DATABASE_URL: ownerUrl, TEND_DEMO_PASSWORD: demoPassword });

    const port = await freePort();
    mkdirSync(artifactsDir, { recursive: true });
    const log = openSync(join(artifactsDir, `${name}.api.log`), "w");
    server = spawn(apiBinary(), ["serve", "--bind", `127.0.0.1:${port}`], {
      env: { ...process.env, TEND_DATABASE_URL: withCredentials(ownerUrl, appRole, appPassword) },
      stdio: ["ignore", log, log],
    });
    const pid = server.pid!;
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/readyz`, 30_000, () => isAlive(pid));
    return {
      url,
      demoPassword,
      close: async () => {
        await endProcesses([pid]);
        dropDatabase();
      },
    };
  } catch (e) {
    if (server?.pid) await endProcesses([server.pid]);
    dropDatabase();
    throw e;
  }
}
