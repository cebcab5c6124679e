// A facility's policy reaches a running device: a nurse is signed in on a desktop (whose
// idle lock is ten minutes by default); her facility's administrator — a FACILITY
// administrator, not the organization's — opens the admin console on the same device and
// shortens the desktop idle lock to one minute in the facility's "Edit policy" form (a
// number out of range first: marked on its field, nothing saved; each state checked with
// axe); "Sync now" on the device brings the policy, and her open session warns and locks
// after a minute idle — no restart, no environment override.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { enroll, lockVirtualReader, tapBadge, waitForHash, waitForPhase } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

const BADGE = "04A1B2C3D4E5F7";
const PIN = "73946281";
/** The idle lock the administrator sets, in seconds (the policy's least). */
const IDLE_LOCK_SECS = 60;
/** The facility administrator of the demo facility the device is enrolled in. */
const FACILITY_ADMIN = "sunrise-north.facilityadmin1";

/** Clicks a control once it is scrolled into view (WebKitWebDriver refuses off-screen ones). */
async function press(app: App, id: string): Promise<void> {
  const el = await app.waitFor(id);
  await el.scrollIntoView({ block: "center" });
  await el.click();
}

/** Types into a field once it is scrolled into view. */
async function fill(app: App, id: string, text: string): Promise<void> {
  await (await app.waitFor(id)).scrollIntoView({ block: "center" });
  await app.type(id, text);
}

describe("facility policy", () => {
  const api = new CentralApi("facility-policy", FACILITY_ADMIN);
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

  test("the facility administrator sets the idle lock to one minute in the console; the signed-in device locks after a minute", async (t) => {
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

    // Her facility's administrator opens the console on this device: the facility's
    // policy, and only it, is theirs to change.
    const before = await api.request("GET", `/api/facilities/${api.facilityId}`);
    assert.equal(before.policy.idle_lock_desktop_secs, 600, "the desktop idle lock starts at ten minutes");
    await app.goto("admin");
    await fill(app, "admin-username", FACILITY_ADMIN);
    await fill(app, "admin-password", api.demoPassword);
    await press(app, "admin-signin-submit");
    await app.waitForText("admin-user", FACILITY_ADMIN, 30_000);
    await press(app, "section-facilities");
    await app.waitForText("facilities-read-only", "You can change your facility's policy", 15_000);
    assert.equal(await (await app.testId("facility-add")).isExisting(), false, "no 'add facility' for a facility admin");
    assert.equal(await (await app.testId(`facility-edit-${api.facilityId}`)).isExisting(), false, "no full facility editor");
    await press(app, `facility-policy-edit-${api.facilityId}`);
    await app.waitFor("facility-policy-form", 15_000);
    assert.equal(await (await app.testId("facility-name")).isExisting(), false, "the policy alone is offered");
    assert.equal(await (await app.testId("policy-idle_lock_desktop_secs")).getValue(), "600");

    // Half a minute is below the allowed range: marked on its field, nothing saved.
    await fill(app, "policy-idle_lock_desktop_secs", "30");
    await press(app, "policy-save");
    await app.waitForText("policy-idle_lock_desktop_secs-error", /from 60 to 7200/);
    await app.waitForText("policy-error-summary", "Nothing was saved");
    await (await app.testId("policy-idle_lock_desktop_secs")).scrollIntoView({ block: "center" });
    await app.screenshot("1-policy-field-error");
    await expectAccessible(app, "facility policy form with a field error");
    await expectReadableAt200Percent(app, "facility policy form");
    assert.equal((await api.request("GET", `/api/facilities/${api.facilityId}`)).policy.idle_lock_desktop_secs, 600, "nothing was saved");

    await fill(app, "policy-idle_lock_desktop_secs", String(IDLE_LOCK_SECS));
    await press(app, "policy-save");
    await app.waitForText("directory-notice", "Its devices apply it at their next sync", 15_000);
    await app.screenshot("2-policy-saved");
    await expectAccessible(app, "facilities after the policy was saved");
    const facility = await api.request("GET", `/api/facilities/${api.facilityId}`);
    assert.equal(facility.policy.idle_lock_desktop_secs, IDLE_LOCK_SECS);
    assert.deepEqual({ ...facility, policy: null, updated_at: null }, { ...before, policy: null, updated_at: null }, "only the policy changed");
    assert.deepEqual({ ...facility.policy, idle_lock_desktop_secs: 600 }, before.policy, "only the idle lock changed");
    await press(app, "admin-signout");
    await app.goto("home");
    await waitForHash(app, "#/home", "the nurse's session is not open any more");

    // "Sync now" on the device brings the policy to the running session.
    await app.testId("status-sync-details").click();
    await app.waitFor("sync-details");
    await app.testId("sync-now").click();
    await app.browser.waitUntil(async () => !(await app.testId("sync-now").getText()).includes("Syncing"), {
      timeout: 15_000,
      timeoutMsg: "the sync did not finish",
    });
    await app.browser.keys("Escape");
    await app.screenshot("3-synced");

    // Left alone, the session warns and locks within the new minute, not the old ten.
    await app.waitFor("idle-warning", IDLE_LOCK_SECS * 1000 + 10_000);
    await app.screenshot("4-idle-warning");
    await waitForHash(app, "#/lock", "the session did not lock after the policy's minute", IDLE_LOCK_SECS * 1000 + 15_000);
    await waitForPhase(app, "locked");
    await app.screenshot("5-locked");
    // Nothing about the badge reached the app's log.
    assert.doesNotMatch(app.log(), new RegExp(`${BADGE}|${PIN}`, "i"));
  });
});
