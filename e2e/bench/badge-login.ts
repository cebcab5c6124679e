// Tap-to-unlocked in the real window: a device enrolled with a real tend-api, a nurse's
// badge on the vpcd virtual reader. Each round locks the session, inserts the badge
// (virtual-badge) and waits for the nurse home to be painted; it reports
//   tap-to-unlocked  = insertion (epoch ms just before virtual-badge starts) → the
//                      frame after "home-signed-in" appeared (epoch ms in the page)
//   read-to-unlocked = the app's "badge presented" log line → the same frame, i.e.
//                      without pcscd's polling of the virtual reader
// Run through scripts/bench-badge-login.sh (Xvfb, services). TAPS (default 30).

import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { launchApp, type App } from "../lib/app.ts";
import { lockVirtualReader, tapBadge } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

const BADGE = "04A1B2C3D4E5F6";
const PIN = "73946281";
const TAPS = Number(process.env.TAPS ?? "30");

declare global {
  interface Window {
    __tendUnlockedAt?: number;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${name}: n=${sorted.length} p50 ${percentile(sorted, 50)} ms, p95 ${percentile(sorted, 95)} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms`;
}

/** Epoch ms of every "badge presented" line in the app's log so far. */
function presentedTimes(app: App): number[] {
  const dir = join(app.dataDir, "logs");
  const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
  return [...text.matchAll(/epoch_ms=(\d+)[^\n]*badge presented|badge presented[^\n]*epoch_ms=(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
}

/** Resolves, in the page, with the epoch ms of the first frame showing the nurse home. */
async function armUnlockObserver(app: App): Promise<void> {
  await app.browser.execute(() => {
    window.__tendUnlockedAt = undefined;
    const seen = () => document.querySelector('[data-testid="home-signed-in"]') !== null;
    const observer = new MutationObserver(() => {
      if (!seen()) return;
      observer.disconnect();
      requestAnimationFrame(() => (window.__tendUnlockedAt = Date.now()));
    });
    observer.observe(document.body, { childList: true, subtree: true });
  });
}

async function unlockedAt(app: App): Promise<number> {
  let at: number | undefined;
  await app.browser.waitUntil(async () => (at = await app.browser.execute(() => window.__tendUnlockedAt)) !== undefined && at !== null, {
    timeout: 15_000,
    interval: 20,
    timeoutMsg: "the nurse home never appeared after the tap",
  });
  return at!;
}

async function main(): Promise<void> {
  const api = new CentralApi("bench-badge-login");
  await api.start();
  const reader = await lockVirtualReader();
  const machine = fakeMachine();
  let app: App | undefined;
  try {
    const users = await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`);
    const nurse = users.items.find((u: { role: string }) => u.role === "RN");
    await api.request("POST", `/api/users/${nurse.id}/badges`, { badge_uid: BADGE });
    await api.request("PUT", `/api/users/${nurse.id}/pin`, { pin: PIN });

    app = await launchApp({ name: "bench-badge-login", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
    await app.browser.waitUntil(async () => (await app!.browser.execute(() => window.location.hash)) === "#/setup", { timeout: 10_000 });
    await app.type("server-url-input", api.base);
    await app.testId("server-url-check").click();
    await app.waitFor("enroll-form");
    await app.type("enrollment-code-input", await api.newCode());
    await app.testId("enroll-submit").click();
    await app.waitFor("reader-status", 15_000);
    // The first sync brings the organization's badge key, which the offline
    // verifier kept at the PIN login below needs.
    await app.browser.waitUntil(async () => /Synced/.test(await app!.testId("status-last-sync").getText()), {
      timeout: 30_000,
      timeoutMsg: "the device never finished its first sync",
    });

    // Warm-up: the first login needs the PIN.
    await tapBadge(BADGE);
    await app.waitFor("pin-pad");
    await app.type("pin-input", PIN);
    await app.testId("pin-submit").click();
    await app.waitFor("home-signed-in", 15_000);

    const tapToUnlocked: number[] = [];
    const readToUnlocked: number[] = [];
    for (let i = 0; i < TAPS; i++) {
      await app.testId("home-lock").click();
      await app.waitFor("lock-state");
      await app.browser.waitUntil(async () => (await app!.testId("lock-state").getAttribute("data-phase")) === "locked");
      await armUnlockObserver(app);
      const before = presentedTimes(app).length;
      const inserted = await tapBadge(BADGE);
      const shown = await unlockedAt(app);
      tapToUnlocked.push(shown - inserted);
      const presented = presentedTimes(app).slice(before)[0];
      if (presented !== undefined) readToUnlocked.push(shown - presented);
      // Pseudo-random spacing, so taps do not line up with the reader's polling.
      await new Promise((r) => setTimeout(r, 200 + ((i * 137) % 400)));
    }
    console.log(summary("tap-to-unlocked (insertion → nurse home painted)", tapToUnlocked));
    console.log(summary("read-to-unlocked (app's badge read → nurse home painted)", readToUnlocked));

    // Offline: the API stops; the same taps are verified against the vault's verifier.
    await api.stopServer();
    const offlineTapToUnlocked: number[] = [];
    const offlineReadToUnlocked: number[] = [];
    for (let i = 0; i < TAPS; i++) {
      await app.testId("home-lock").click();
      await app.browser.waitUntil(async () => (await app!.testId("lock-state").getAttribute("data-phase")) === "locked");
      await armUnlockObserver(app);
      const before = presentedTimes(app).length;
      const inserted = await tapBadge(BADGE);
      const shown = await unlockedAt(app);
      offlineTapToUnlocked.push(shown - inserted);
      const presented = presentedTimes(app).slice(before)[0];
      if (presented !== undefined) offlineReadToUnlocked.push(shown - presented);
      await new Promise((r) => setTimeout(r, 200 + ((i * 137) % 400)));
    }
    if (!(await app.testId("offline-banner").isDisplayed())) throw new Error("the offline session shows no offline banner");
    console.log(summary("offline tap-to-unlocked (insertion → nurse home painted)", offlineTapToUnlocked));
    console.log(summary("offline read-to-unlocked (app's badge read → nurse home painted)", offlineReadToUnlocked));
  } finally {
    await app?.close();
    rmSync(machine, { recursive: true, force: true });
    reader.close();
    await api.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
