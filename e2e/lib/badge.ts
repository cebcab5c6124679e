// Badge taps on the PC/SC test reader: pcscd with vsmartcard-vpcd (scripts/services/
// pcscd.sh) and tend-badge's `virtual-badge` program, which plays the card over vpcd's
// TCP protocol. While a journey runs it holds the machine-wide vpcd lock (the loopback
// port tend-badge's own tests bind, `VPCD_LOCK_PORT`), so no other test taps at once.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

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
