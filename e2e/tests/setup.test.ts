// First-run setup in the real window against the real central API and PostgreSQL:
// a wrong enrollment code is refused in words; a valid code enrolls the device, which
// leaves setup; a device the administrator registered in advance waits for approval and
// moves on by itself when approved; and a deactivated device erases itself and returns
// to setup saying why.
//
// Each journey is its own machine: debug builds read hardware identity below
// TEND_DEBUG_IDENTITY_ROOT (ignored by release builds), so two journeys on this one test
// machine do not look like a cloned disk image to the server.

import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

async function launchDevice(name: string, t: { after: (fn: () => Promise<void> | void) => void }): Promise<App> {
  const machine = fakeMachine();
  t.after(() => rmSync(machine, { recursive: true, force: true }));
  const app = await launchApp({
    name,
    profile: "desktop",
    env: { TEND_DEBUG_IDENTITY_ROOT: machine, TEND_HEARTBEAT_INTERVAL_SECS: "1" },
  });
  t.after(() => app.close());
  return app;
}

async function hash(app: App): Promise<string> {
  return app.browser.execute(() => window.location.hash);
}

/** From "#/" to step 2: setup opens, the address is accepted, the identity is shown. */
async function toEnrollment(app: App, api: CentralApi): Promise<string> {
  await app.browser.waitUntil(async () => (await hash(app)) === "#/setup", {
    timeout: 10_000,
    timeoutMsg: "a device that was never set up did not open setup",
  });
  await app.type("server-url-input", api.base);
  await app.testId("server-url-check").click();
  await app.waitFor("enroll-form");
  return app.waitForText("device-uuid", /^[0-9a-f-]{36}$/);
}

describe("setup", () => {
  const api = new CentralApi("setup");
  before(() => api.start(), { timeout: 120_000 });
  after(() => api.stop());

  test("setup: a wrong code is refused, a valid one enrolls, and deactivation erases the device", async (t) => {
    const app = await launchDevice("setup-enroll", t);
    const uuid = await toEnrollment(app, api);
    assert.match(await app.testId("identity-source").getText(), /machine ID/);
    await app.screenshot("1-enrollment-step");

    await app.type("enrollment-code-input", "abcd efgh jkmn pqrs tvwx yz01 2345");
    await app.testId("enroll-submit").click();
    await app.waitForText("enrollment-error", /isn't right\. Check it for typos/);
    assert.equal(await app.testId("enrollment-error").getAttribute("data-code"), "ENROLLMENT_CODE_INVALID");
    await app.browser.waitUntil(() => app.testId("enrollment-error").isDisplayed({ withinViewport: true }), {
      timeout: 5_000,
      timeoutMsg: "the error stayed out of sight below the fold",
    });
    await app.screenshot("2-wrong-code");

    // The code as people type it: lower case, spaces for dashes.
    const code = (await api.newCode()).toLowerCase().replaceAll("-", " ");
    await app.type("enrollment-code-input", code);
    await app.testId("enroll-submit").click();
    await app.browser.waitUntil(async () => (await hash(app)) === "#/lock", {
      timeout: 15_000,
      timeoutMsg: "an active device did not leave setup",
    });
    assert.equal((await api.deviceByUuid(uuid)).status, "ACTIVE");
    assert.ok(existsSync(join(app.dataDir, "enrollment.json")));
    // The heartbeats (every second here) reach the server.
    await app.browser.waitUntil(async () => (await app.testId("status-connection").getAttribute("data-state")) === "online", {
      timeout: 10_000,
      timeoutMsg: "the heartbeating device never showed online",
    });
    await app.screenshot("3-enrolled-active");

    const device = await api.deviceByUuid(uuid);
    await api.request("POST", `/api/devices/${device.id}/deactivate`, {});
    await app.browser.waitUntil(async () => (await hash(app)) === "#/setup", {
      timeout: 15_000,
      timeoutMsg: "a deactivated device did not return to setup",
    });
    await app.waitForText("wipe-notice", /An administrator deactivated this device; its local data has been erased/);
    assert.ok(!existsSync(join(app.dataDir, "enrollment.json")), "the enrollment record survived the wipe");
    await app.waitForLog(/device wiped: the server ended its enrollment/);
    await app.screenshot("4-deactivated-wiped");
  });

  test("setup: a pre-registered device waits for approval and moves on by itself", async (t) => {
    const app = await launchDevice("setup-pending", t);
    const uuid = await toEnrollment(app, api);
    const registered = await api.request("POST", "/api/devices", {
      facility_id: api.facilityId,
      device_name: "Nurses' station",
      device_type: "WORKSTATION",
      device_uuid: uuid,
    });

    // No code: the administrator registered this hardware in advance.
    await app.testId("enroll-submit").click();
    await app.waitForText("enrollment-pending", /Waiting for approval/);
    // The server answered the enrollment: the status bar says so while the device waits.
    await app.waitForText("status-connection", /Online/);
    await app.screenshot("1-pending");

    await api.request("POST", `/api/devices/${registered.id}/approve`, {});
    await app.browser.waitUntil(async () => (await hash(app)) === "#/lock", {
      timeout: 15_000,
      timeoutMsg: "the approved device did not leave the waiting view",
    });
    assert.equal((await api.deviceByUuid(uuid)).status, "ACTIVE");
    await app.screenshot("2-approved");
  });
});
