// Accessibility of every screen, in the real window (WebKitGTK under Xvfb) against the
// real central API: axe-core's WCAG 2.2 A/AA rules (contrast included, computed by the
// real renderer) on each screen and its error states, and text at 200 % without
// sideways scrolling (WCAG 1.4.4). Keyboard use is checked where it matters most: the
// password fallback on the lock screen is filled in and sent with the keyboard alone.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

async function hash(app: App): Promise<string> {
  return app.browser.execute(() => window.location.hash);
}

async function waitForHash(app: App, expected: string, timeoutMsg: string): Promise<void> {
  await app.browser.waitUntil(async () => (await hash(app)) === expected, { timeout: 15_000, timeoutMsg });
}

/** axe and the 200 % check on the current screen, and a screenshot of it. */
async function check(app: App, screen: string): Promise<void> {
  await expectAccessible(app, screen);
  await expectReadableAt200Percent(app, screen);
  await app.screenshot(screen);
}

describe("accessibility", () => {
  const api = new CentralApi("accessibility");
  let nurse: { username: string; full_name: string };
  before(async () => {
    await api.start();
    const users = await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`);
    nurse = users.items.find((u: { role: string }) => u.role === "RN");
    assert.ok(nurse, "the demo facility has no RN");
  }, { timeout: 120_000 });
  after(() => api.stop());

  test("accessibility: every screen passes axe (WCAG 2.2 AA) and reads at 200 % text", async (t) => {
    const machine = fakeMachine();
    t.after(() => rmSync(machine, { recursive: true, force: true }));
    const app = await launchApp({ name: "accessibility", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
    t.after(() => app.close());
    const { browser } = app;

    // First-run setup: the server step, a refused address, the code step, a wrong code.
    await waitForHash(app, "#/setup", "a new device did not open setup");
    await app.waitFor("server-url-input");
    await check(app, "1-setup-server");
    await app.type("server-url-input", "ftp://nowhere");
    await app.testId("server-url-check").click();
    await app.waitFor("server-url-error");
    await check(app, "2-setup-server-refused");
    await app.type("server-url-input", api.base);
    await app.testId("server-url-check").click();
    await app.waitFor("enroll-form");
    await app.waitFor("device-uuid");
    await check(app, "3-setup-code");
    await app.type("enrollment-code-input", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-H");
    await app.testId("enroll-submit").click();
    await app.waitFor("enrollment-error");
    await check(app, "4-setup-wrong-code");
    await app.type("enrollment-code-input", await api.newCode());
    await app.testId("enroll-submit").click();
    await waitForHash(app, "#/lock", "the enrolled device did not reach the lock screen");

    // The lock screen, then the password fallback driven by the keyboard alone.
    await app.waitFor("lock-state");
    await check(app, "5-lock");
    await app.testId("use-password").click();
    await app.waitFor("password-form");
    await check(app, "6-password");
    await app.testId("password-username").click();
    await browser.keys([...nurse.username, "Tab", ..."not the password", "Enter"]);
    await app.waitFor("login-error", 30_000);
    await check(app, "7-password-refused");
    await app.type("password-username", nurse.username);
    await app.type("password-password", api.demoPassword);
    await browser.keys(["Enter"]);
    await waitForHash(app, "#/home", "the password fallback did not sign the nurse in");
    await app.waitForText("home-signed-in", nurse.full_name);
    await check(app, "8-home");

    // Locked session, the about screen, the family welcome, the admin console.
    await app.testId("home-lock").click();
    await waitForHash(app, "#/lock", "the Lock button did not lock");
    await check(app, "9-locked");
    await app.goto("about");
    await app.waitFor("about-version");
    await check(app, "10-about");
    await app.goto("family");
    await check(app, "11-family");
    await app.goto("admin");
    await app.waitFor("admin-username");
    await check(app, "12-admin-sign-in");
    await app.type("admin-username", "memorylane-secure.facilityadmin1");
    await app.type("admin-password", api.demoPassword);
    await app.testId("admin-signin-submit").click();
    await app.waitFor("dashboard-metrics", 30_000);
    await check(app, "13-admin-dashboard");
    await app.testId("section-devices").click();
    await app.waitFor("devices-table", 30_000);
    await check(app, "14-admin-devices");
    await app.testId("section-audit").click();
    await app.waitFor("audit-table", 30_000);
    await check(app, "15-admin-audit-log");
  });
});
