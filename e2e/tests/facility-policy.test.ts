// A facility's policy reaches a running device: a nurse is signed in on a desktop (whose
// idle lock is ten minutes by default); her facility's administrator shortens the desktop
// idle lock to one minute; "Sync now" on the device brings the policy, and her open
// session warns and locks after a minute idle — no restart, no environment override.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { launchApp } from "../lib/app.ts";
import { enroll, lockVirtualReader, tapBadge, waitForHash, waitForPhase } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

const BADGE = "04A1B2C3D4E5F7";
const PIN = "73946281";
/** The idle lock the administrator sets, in seconds (the policy's least). */
const IDLE_LOCK_SECS = 60;

describe("facility policy", () => {
  const api = new CentralApi("facility-policy");
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

  test("the administrator sets the idle lock to one minute; the signed-in device locks after a minute", async (t) => {
    const reader = await lockVirtualReader();
    t.after(() => new Promise<void>((r) => reader.close(() => r())));
    const machine = fakeMachine();
    t.after(() => rmSync(machine, { recursive: true, force: true }));
    // No TEND_IDLE_LOCK_SECS: the facility's policy decides.
    const app = await launchApp({ name: "facility-policy", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
    t.after(() => app.close());

    await enroll(app, api);
    await app.browser.waitUntil(async () => (await app.testId("reader-status").getAttribute("data-status")) === "connected", {
      timeout: 10_000,
      timeoutMsg: "the lock screen never saw the virtual reader",
    });
    await tapBadge(BADGE);
    await app.waitFor("pin-pad");
    for (const digit of PIN) await app.testId(`pin-key-${digit}`).click();
    await app.testId("pin-submit").click();
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    await app.waitForText("home-signed-in", nurse.full_name);

    // Her facility's administrator shortens the desktop idle lock (as the console's
    // Policy part does; the console itself is covered by the admin-directory journey).
    const facility = await api.request("PUT", `/api/facilities/${api.facilityId}`, {
      policy: { idle_lock_desktop_secs: IDLE_LOCK_SECS },
    });
    assert.equal(facility.policy.idle_lock_desktop_secs, IDLE_LOCK_SECS);

    // "Sync now" on the device brings the policy to the running session.
    await app.testId("status-sync-details").click();
    await app.waitFor("sync-details");
    await app.testId("sync-now").click();
    await app.browser.waitUntil(async () => !(await app.testId("sync-now").getText()).includes("Syncing"), {
      timeout: 15_000,
      timeoutMsg: "the sync did not finish",
    });
    await app.browser.keys("Escape");
    await app.screenshot("1-synced");

    // Left alone, the session warns and locks within the new minute, not the old ten.
    await app.waitFor("idle-warning", IDLE_LOCK_SECS * 1000 + 10_000);
    await app.screenshot("2-idle-warning");
    await waitForHash(app, "#/lock", "the session did not lock after the policy's minute", IDLE_LOCK_SECS * 1000 + 15_000);
    await waitForPhase(app, "locked");
    await app.screenshot("3-locked");
    // Nothing about the badge reached the app's log.
    assert.doesNotMatch(app.log(), new RegExp(`${BADGE}|${PIN}`, "i"));
  });
});
