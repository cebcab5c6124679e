// The central API for journeys that enroll a device: a throwaway database on the test
// PostgreSQL cluster, migrated and seeded with the demo tenants, served on a free port,
// with a facility administrator of a demo facility signed in. Shared by the setup and
// badge-login journeys.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { artifactsDir } from "./paths.ts";
import { endProcesses, freePort, waitForHttp } from "./processes.ts";

/** The central API on a throwaway database, with the demo tenants loaded. */
export class CentralApi {
  base = "";
  private server: ChildProcess | undefined;
  private database = `tend_e2e_${randomBytes(6).toString("hex")}`;
  /** The API's login role, one per run: roles are cluster-wide, and a shared one would have
   * its password changed under a running API by another journey's migrate. */
  private appUser = `${this.database}_api`;
  private readonly superuser: string;
  private readonly binary: string;
  readonly demoPassword = `e2e-demo-${randomBytes(12).toString("hex")}`;
  private token = "";
  facilityId = 0;
  /** What `restartServer()` needs to serve the same database on the same port again. */
  private port = 0;
  private appPassword = "";
  private logFile = "";

  /**
   * `name` names the server's log in artifacts/e2e. `facilityAdmin` is the demo account
   * that signs in (its first facility becomes `facilityId`): by default Memory Lane's,
   * "sunrise-north.facilityadmin1" for the facility whose staff hold the demo badges.
   */
  constructor(
    private readonly name: string,
    private readonly facilityAdmin = "memorylane-secure.facilityadmin1",
  ) {
    const superuser = process.env.TEND_TEST_PG_URL;
    if (!superuser) {
      throw new Error("TEND_TEST_PG_URL is not set: the setup journeys need the test PostgreSQL (see scripts/services)");
    }
    this.superuser = superuser;
    this.binary =
      process.env.TEND_API_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? "", ".cache/tend/target"), "debug", "tend-api");
    if (!existsSync(this.binary)) throw new Error(`${this.binary} not found; build it with cargo build -p tend-api`);
  }

  private databaseUrl(user?: string, password?: string): string {
    const url = new URL(this.superuser);
    url.pathname = `/${this.database}`;
    if (user) {
      url.username = user;
      url.password = password ?? "";
    }
    return url.toString();
  }

  async start(): Promise<void> {
    execFileSync("psql", ["-q", this.superuser, "-c", `CREATE DATABASE ${this.database}`]);
    const appPassword = (this.appPassword = `e2e-${randomBytes(12).toString("hex")}`);
    const owner = this.databaseUrl();
    const quiet = { ...process.env, TEND_LOG: "warn", TEND_MIGRATE_DATABASE_URL: owner };
    execFileSync(this.binary, ["migrate", "--app-user", this.appUser], { env: { ...quiet, TEND_APP_PASSWORD: appPassword } });
    execFileSync(this.binary, ["seed-demo"], { env: { ...quiet, TEND_DEMO_PASSWORD: this.demoPassword }, stdio: "ignore" });

    this.port = await freePort();
    mkdirSync(artifactsDir, { recursive: true });
    this.logFile = join(artifactsDir, `${this.name}.tend-api.log`);
    await this.serve("w");
    this.base = `http://127.0.0.1:${this.port}`;

    // A facility administrator of a demo facility does what the admin console would.
    const login = await this.request("POST", "/api/auth/login", {
      username: this.facilityAdmin,
      password: this.demoPassword,
    });
    this.token = login.token;
    const facilities = await this.request("GET", "/api/facilities");
    this.facilityId = facilities.items[0].id;
  }

  /** Stops only the API process (the database stays): the device is now offline. */
  async stopServer(): Promise<void> {
    if (this.server?.pid) await endProcesses([this.server.pid]);
    this.server = undefined;
  }

  /**
   * Starts the API again after `stopServer()`: the same database, port and login role,
   * so an enrolled device finds its server back where it was. Its log is appended to.
   */
  async restartServer(): Promise<void> {
    assert.ok(this.port > 0, "restartServer() needs start() first");
    assert.equal(this.server, undefined, "the API is still running; stopServer() first");
    await this.serve("a");
  }

  private async serve(logMode: "w" | "a"): Promise<void> {
    const log = openSync(this.logFile, logMode);
    const server = spawn(this.binary, ["serve", "--bind", `127.0.0.1:${this.port}`], {
      env: { ...process.env, TEND_LOG: "info", TEND_DATABASE_URL: this.databaseUrl(this.appUser, this.appPassword) },
      stdio: ["ignore", log, log],
    });
    this.server = server;
    await waitForHttp(`http://127.0.0.1:${this.port}/readyz`, 15_000, () => server.exitCode === null);
  }

  async stop(): Promise<void> {
    if (this.server?.pid) await endProcesses([this.server.pid]);
    try {
      execFileSync("psql", ["-q", this.superuser, "-c", `DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`]);
      execFileSync("psql", ["-q", this.superuser, "-c", `DROP ROLE IF EXISTS ${this.appUser}`]);
    } catch {
      // Best effort: a leftover tend_e2e_* database (or its role) holds only demo data.
    }
  }

  async request(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async newCode(): Promise<string> {
    const created = await this.request("POST", `/api/facilities/${this.facilityId}/enrollment-codes`, {});
    return created.code;
  }

  async deviceByUuid(uuid: string): Promise<{ id: number; status: string }> {
    const page = await this.request("GET", `/api/facilities/${this.facilityId}/devices`);
    const device = page.items.find((d: { device_uuid: string }) => d.device_uuid === uuid);
    assert.ok(device, `device ${uuid} is not listed`);
    return device;
  }
}

/** A machine of its own: a fresh /etc/machine-id below a temporary root. */
export function fakeMachine(): string {
  const root = mkdtempSync(join(tmpdir(), "tend-e2e-machine-"));
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc", "machine-id"), `${randomUUID().replaceAll("-", "")}\n`);
  return root;
}

