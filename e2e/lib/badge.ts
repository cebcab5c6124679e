// Badge taps on the PC/SC test reader: pcscd with vsmartcard-vpcd (scripts/services/
// pcscd.sh) and tend-badge's `virtual-badge` program, which plays the card over vpcd's
// TCP protocol. While a journey runs it holds the machine-wide vpcd lock (the loopback
// port tend-badge's own tests bind, `VPCD_LOCK_PORT`), so no other test taps at once.
// Also the lock screen's steps the badge journeys share (enroll, PIN pad, phases).

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import type { App } from "./app.ts";
import { repoRoot } from "./paths.ts";
import type { CentralApi } from "./central.ts";

const run = promisify(execFile);

/** tend-badge's `VPCD_LOCK_PORT`. */
const VPCD_LOCK_PORT = 35962;

/** TEND_VIRTUAL_BADGE_BIN, else the debug build in CARGO_TARGET_DIR. */
export function virtualBadgeBinary(): string {
  const bin =
    process.env.TEND_VIRTUAL_BADGE_BIN ??
    join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tend", "target"), "debug", "virtual-badge");
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found; build it with cargo build -p tend-badge --features virtual-card --bin virtual-badge`);
  }
  return bin;
}

/** Waits (up to `timeoutMs`) for the vpcd lock; release it with `close()`. */
export async function lockVirtualReader(timeoutMs = 60_000): Promise<Server> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(VPCD_LOCK_PORT, "127.0.0.1", () => resolve(true));
    });
    if (bound) return server;
    if (Date.now() > deadline) throw new Error("the virtual reader stayed busy (another test holds the vpcd lock)");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Taps a badge with `uid` (hex) on the first virtual reader: inserts it, waits until the
 * UID was read (at most `holdMs`), removes it. Resolves with the insertion time (ms
 * since the epoch).
 */
export async function tapBadge(uid: string, holdMs = 2_000): Promise<number> {
  const insertedAt = Date.now();
  await run(virtualBadgeBinary(), ["tap", uid, "--until-read", "--hold-ms", String(holdMs)]);
  return insertedAt;
}

/** The window's `location.hash`. */
export async function hash(app: App): Promise<string> {
  return app.browser.execute(() => window.location.hash);
}

export async function waitForHash(app: App, expected: string, timeoutMsg: string, timeout = 15_000): Promise<void> {
  await app.browser.waitUntil(async () => (await hash(app)) === expected, { timeout, timeoutMsg });
}

/** Waits until the lock screen's `lock-state` shows `phase` (signed_out, locked, pin_required, …). */
export async function waitForPhase(app: App, phase: string, timeout = 15_000): Promise<void> {
  await app.browser.waitUntil(async () => (await app.testId("lock-state").getAttribute("data-phase")) === phase, {
    timeout,
    timeoutMsg: `the lock screen never reached ${phase}`,
  });
}

/** Waits until the lock screen's reader status is `status` (connected, no_reader, …). */
export async function waitForReader(app: App, status: string, timeout = 15_000): Promise<void> {
  await app.browser.waitUntil(async () => (await app.testId("reader-status").getAttribute("data-status")) === status, {
    timeout,
    interval: 100,
    timeoutMsg: `the lock screen's reader status never became ${status}`,
  });
}

/** Sets up the device through the setup screen with a fresh enrollment code. */
export async function enroll(app: App, api: CentralApi): Promise<void> {
  await waitForHash(app, "#/setup", "a device that was never set up did not open setup", 10_000);
  await app.type("server-url-input", api.base);
  await app.testId("server-url-check").click();
  await app.waitFor("enroll-form");
  await app.type("enrollment-code-input", await api.newCode());
  await app.testId("enroll-submit").click();
  await waitForHash(app, "#/lock", "the enrolled device did not reach the lock screen");
}

/** Types `pin` on the PIN pad and presses OK. */
export async function enterPin(app: App, pin: string): Promise<void> {
  await app.waitFor("pin-pad");
  for (const digit of pin) await app.testId(`pin-key-${digit}`).click();
  await app.testId("pin-submit").click();
}

/**
 * Restarts the test pcscd (scripts/services/pcscd.sh, state dir `TEND_PCSCD_STATEDIR`):
 * with its virtual readers, or with none (`noReaders`: every reader unplugged).
 */
export async function restartPcscd(options: { noReaders?: boolean } = {}): Promise<void> {
  const statedir = process.env.TEND_PCSCD_STATEDIR;
  if (!statedir) {
    throw new Error("TEND_PCSCD_STATEDIR is not set: start pcscd with scripts/services/pcscd.sh, which prints it");
  }
  const script = join(repoRoot, "scripts", "services", "pcscd.sh");
  await run("bash", [script, "restart", statedir, ...(options.noReaders ? ["--no-readers"] : [])]);
}
