// Assigning a badge by tapping it, in the real window against the real central API and a
// PC/SC reader (pcscd + vsmartcard-vpcd, the card played by tend-badge's virtual-badge):
// a device is set up, a facility administrator opens a nurse's badges in the console,
// presses "Tap a badge to assign" (the waiting panel checked with axe), the badge is
// tapped on the device's reader and is assigned to her — without signing anyone in —
// then the administrator sets her PIN, and on the lock screen that badge and PIN sign
// her in. The badge's number is never shown or logged.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { App } from "../lib/app.ts";
import { launchApp } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { enroll, enterPin, lockVirtualReader, tapBadge, waitForHash, waitForPhase, waitForReader } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

/** A badge nobody holds in the demo data; its reader UID is all the console learns. */
const BADGE = "04D17A3E5C9B21";
const PIN = "61947382";
const ADMIN = "memorylane-secure.facilityadmin1";

/** Clicks a control once it is scrolled into view (WebKitWebDriver refuses off-screen ones). */
async function press(app: App, id: string): Promise<void> {
  const el = await app.waitFor(id);
  await el.scrollIntoView({ block: "center" });
  await el.click();
}

describe("admin badge tap", () => {
  const api = new CentralApi("admin-badge-tap");
  let nurse: { id: number; username: string; full_name: string };
  before(async () => {
    await api.start();
    const users = await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`);
    for (const user of users.items.filter((u: { role: string; is_active: boolean }) => u.role === "RN" && u.is_active)) {
      const badges = await api.request("GET", `/api/users/${user.id}/badges`);
      if (badges.items.length === 0) {
        nurse = user;
        break;
      }
    }
    assert.ok(nurse, "the demo facility has no RN without a badge");
  }, { timeout: 120_000 });
  after(() => api.stop());

  test("admin badge tap: the next tap on the device's reader is assigned, then signs the nurse in", async (t) => {
    const reader = await lockVirtualReader();
    t.after(() => new Promise<void>((r) => reader.close(() => r())));
    const machine = fakeMachine();
    t.after(() => rmSync(machine, { recursive: true, force: true }));
    const app = await launchApp({ name: "admin-badge-tap", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
    t.after(() => app.close());

    await enroll(app, api);
    await waitForReader(app, "connected");

    // The console: the nurse's badges.
    await app.goto("admin");
    await app.type("admin-username", ADMIN);
    await app.type("admin-password", api.demoPassword);
    await app.testId("admin-signin-submit").click();
    await app.waitForText("admin-user", ADMIN, 30_000);
    await press(app, "section-people");
    await press(app, `staff-badges-${nurse.username}`);
    await app.waitForText("badge-panel", "No badge yet", 15_000);

    // Tap to assign: the panel waits, with Cancel, and passes axe while it does.
    await (await app.waitFor("badge-label")).scrollIntoView({ block: "center" });
    await app.type("badge-label", "tapped at the desk");
    await press(app, "badge-capture");
    await app.waitForText("badge-capture-status", "Waiting for a badge tap on this device's reader");
    await app.waitFor("badge-capture-cancel");
    await (await app.testId("badge-capture-status")).scrollIntoView({ block: "center" });
    await app.screenshot("1-waiting-for-a-tap");
    await expectAccessible(app, "badge panel waiting for a tap");
    await expectReadableAt200Percent(app, "badge panel waiting for a tap");

    await tapBadge(BADGE);
    await app.waitForText("badge-notice", `A badge is assigned to ${nurse.full_name}`, 15_000);
    const badges = await api.request("GET", `/api/users/${nurse.id}/badges`);
    assert.equal(badges.items.length, 1, "one badge is assigned");
    assert.equal(badges.items[0].is_active, true);
    assert.equal(badges.items[0].label, "tapped at the desk");
    await app.waitForText(`badge-status-${badges.items[0].id}`, "Active");
    const panel = await (await app.testId("badge-panel")).getText();
    assert.ok(!panel.includes(BADGE) && !panel.includes("04:D1:7A"), "the badge number is not shown");
    assert.equal(await (await app.testId("badge-capture-cancel")).isExisting(), false, "the wait is over");
    await app.screenshot("2-badge-assigned");

    // Her PIN, then the lock screen: the tap above signed nobody in.
    await (await app.waitFor("badge-pin")).scrollIntoView({ block: "center" });
    await app.type("badge-pin", PIN);
    await press(app, "pin-save");
    await app.waitForText("badge-notice", "The PIN is set", 15_000);
    await app.goto("lock");
    await waitForPhase(app, "signed_out");

    // The badge now signs her in.
    await tapBadge(BADGE);
    await enterPin(app, PIN);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen with the tapped badge");
    await app.waitForText("home-signed-in", nurse.full_name);
    await app.screenshot("3-nurse-signed-in");

    // Nothing about the badge or the PIN reached the app's log.
    assert.doesNotMatch(app.log(), new RegExp(`${BADGE}|${PIN}`, "i"));
  });
});
