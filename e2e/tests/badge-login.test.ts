// Badge login in the real window against the real central API and a PC/SC reader
// (pcscd + vsmartcard-vpcd, the card played by tend-badge's virtual-badge): a device is
// set up, an administrator gives a nurse a badge and a PIN, the nurse taps, enters the
// PIN and lands on her home screen; left idle, the screen warns and locks; her tap
// unlocks it; an unknown badge is refused in words.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { launchApp } from "../lib/app.ts";
import { enroll, lockVirtualReader, tapBadge, waitForHash, waitForPhase } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

const BADGE = "04A1B2C3D4E5F6";
const UNKNOWN_BADGE = "04C0FFEE";
const PIN = "73946281";
/** Short enough to watch the idle lock; the warning shows halfway. */
const IDLE_LOCK_SECS = 8;

describe("badge login", () => {
  const api = new CentralApi("badge-login");
  let nurse: { id: number; full_name: string };
  before(async () => {
    await api.start();
    const users = await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`);
    nurse = users.items.find((u: { role: string }) => u.role === "RN");
    assert.ok(nurse, "the demo facility has no RN");
    await api.request("POST", `/api/users/${nurse.id}/badges`, { badge_uid: BADGE });
    await api.request("PUT", `/api/users/${nurse.id}/pin`, { pin: PIN });
  }, { timeout: 120_000 });
  after(() => api.stop());

  test("badge login: tap, PIN, nurse home, idle lock, tap to unlock, unknown badge", async (t) => {
    const reader = await lockVirtualReader();
    t.after(() => new Promise<void>((r) => reader.close(() => r())));
    const machine = fakeMachine();
    t.after(() => rmSync(machine, { recursive: true, force: true }));
    const app = await launchApp({
      name: "badge-login",
      profile: "desktop",
      env: { TEND_DEBUG_IDENTITY_ROOT: machine, TEND_IDLE_LOCK_SECS: String(IDLE_LOCK_SECS) },
    });
    t.after(() => app.close());

    await enroll(app, api);
    await app.browser.waitUntil(async () => (await app.testId("reader-status").getAttribute("data-status")) === "connected", {
      timeout: 10_000,
      timeoutMsg: "the lock screen never saw the virtual reader",
    });
    await app.waitForText("reader-status", "Badge reader connected");
    await app.screenshot("1-tap-your-badge");

    // First badge login on this device: the PIN is due.
    await tapBadge(BADGE);
    await app.waitFor("pin-pad");
    await app.screenshot("2-pin-pad");
    for (const digit of PIN) await app.testId(`pin-key-${digit}`).click();
    await app.testId("pin-submit").click();
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    await app.waitForText("home-signed-in", nurse.full_name);
    await app.screenshot("3-nurse-home");

    // Idle: a warning first, then the lock.
    await app.waitFor("idle-warning", IDLE_LOCK_SECS * 1000);
    await app.screenshot("4-idle-warning");
    await waitForHash(app, "#/lock", "the idle session did not lock", IDLE_LOCK_SECS * 1000 + 5_000);
    await waitForPhase(app, "locked");
    await app.screenshot("5-locked");

    // Her own tap unlocks, without the PIN (within the grace period).
    await tapBadge(BADGE);
    await waitForHash(app, "#/home", "her tap did not unlock the session");
    await app.waitForText("home-signed-in", nurse.full_name);
    await app.screenshot("6-unlocked");

    // Lock by hand; an unknown badge is refused in words and the session stays locked.
    await app.testId("home-lock").click();
    await waitForHash(app, "#/lock", "the Lock button did not lock");
    await tapBadge(UNKNOWN_BADGE);
    await app.waitForText("login-error", /isn't assigned to anyone/);
    assert.equal(await app.testId("login-error").getAttribute("data-code"), "BADGE_UNKNOWN");
    await waitForPhase(app, "locked");
    await app.screenshot("7-unknown-badge");
    // Nothing about the badge reached the app's log.
    assert.doesNotMatch(app.log(), new RegExp(`${BADGE}|${UNKNOWN_BADGE}|${PIN}`, "i"));
  });
});
