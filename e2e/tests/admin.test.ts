// The admin console against a real tend-api and PostgreSQL: a facility administrator
// signs in (a wrong password first), creates an enrollment code, pre-registers a
// device, approves it once it has enrolled and waits, deactivates it, and revokes the
// code — each checked against what the API then says.

import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startApi } from "../lib/api.ts";
import { launchApp, type App } from "../lib/app.ts";

/** The seeded demo facility and its administrator (see crates/tend-api/src/seed.rs). */
const FACILITY = "Sunrise ALF - North Campus";
const ADMIN = "sunrise-north.facilityadmin1";

/** A device's self-registration, as the app's setup screen sends it. */
async function enroll(apiUrl: string, deviceUuid: string, code?: string): Promise<{ status: number; body: any }> {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const response = await fetch(`${apiUrl}/api/devices/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      ...(code ? { enrollment_code: code } : {}),
      device_uuid: deviceUuid,
      device_type: "RASPBERRY_PI",
      device_name: "Hall kiosk",
      public_key: Buffer.from(jwk.x!, "base64url").toString("base64"),
      os: "Debian GNU/Linux 12",
      app_version: "0.1.0",
    }),
  });
  return { status: response.status, body: await response.json() };
}

/** Scrolls the element with test id `id` into the middle of the window, then takes a screenshot. */
async function screenshotAt(app: App, id: string, step: string): Promise<void> {
  await (await app.waitFor(id)).scrollIntoView({ block: "center" });
  await app.screenshot(step);
}

test("admin console: codes, registration, approval, deactivation against the real API", async (t) => {
  const api = await startApi("admin");
  t.after(() => api.close());

  const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
  t.after(() => rmSync(configDir, { recursive: true, force: true }));
  const config = join(configDir, "tend.toml");
  writeFileSync(config, `server_url = "${api.url}"\n`);

  const app = await launchApp({ name: "admin", profile: "desktop", args: ["--config", config] });
  t.after(() => app.close());
  const { browser } = app;

  await app.goto("admin");
  await app.waitFor("admin-username");
  await app.screenshot("1-sign-in");

  // A wrong password: a plain message, no session.
  await app.type("admin-username", ADMIN);
  await app.type("admin-password", "not the password");
  await (await app.testId("admin-signin-submit")).click();
  await app.waitForText("admin-signin-error", "Wrong username or password", 30_000);
  await screenshotAt(app, "admin-signin-error", "2-wrong-password");

  await app.type("admin-password", api.demoPassword);
  await (await app.testId("admin-signin-submit")).click();
  await app.waitForText("admin-user", ADMIN, 30_000);
  const picker = await app.waitFor("facility-picker");
  await picker.selectByVisibleText(FACILITY);
  await (await app.testId("section-devices")).click();
  await app.waitFor("devices-table");
  await screenshotAt(app, "devices-table", "3-devices");

  // An enrollment code, shown once in groups.
  await app.type("code-uses", "2");
  await (await app.testId("code-create")).click();
  const shown = await app.waitForText("new-code", /[0-9A-Z]{4}-/);
  const code = shown.match(/[0-9A-Z]{4}(?:-[0-9A-Z]{1,4})+/)?.[0];
  assert.ok(code, `no code in ${JSON.stringify(shown)}`);
  assert.match(await (await app.testId("new-code-panel")).getText(), /won't be shown again/);
  await screenshotAt(app, "new-code-panel", "4-code-shown-once");

  // Pre-register a device: a typo in the UUID is marked on its field first.
  const deviceUuid = randomUUID();
  await app.type("register-name", "Hall kiosk");
  await app.type("register-uuid", "not-a-uuid");
  await app.type("register-mac", "b8:27:eb:12:34:56");
  await (await app.testId("register-submit")).click();
  await app.waitForText("register-uuid-error", "is not a UUID");
  await screenshotAt(app, "register-uuid-error", "5-register-field-error");
  await app.type("register-uuid", deviceUuid);
  await (await app.testId("register-submit")).click();
  await app.waitForText("register-ok", "is registered");

  // The device enrolls without a code and waits; the admin approves it.
  const pending = await enroll(api.url, deviceUuid);
  assert.equal(pending.status, 201, JSON.stringify(pending.body));
  assert.equal(pending.body.status, "PENDING");
  const id = pending.body.id as number;
  await (await app.testId("devices-refresh")).click();
  await app.waitForText(`device-status-${id}`, "Waiting for approval");
  await screenshotAt(app, `device-row-${id}`, "6-pending");
  await (await app.waitFor(`device-approve-${id}`)).click();
  await app.waitForText(`device-status-${id}`, "Active");
  await app.waitForText("admin-notice", "is approved");
  await screenshotAt(app, `device-row-${id}`, "7-approved");

  // Deactivate: asked first, with what happens to the device's data.
  await (await app.testId(`device-deactivate-${id}`)).click();
  await app.waitForText("deactivate-confirm-panel", "erase all of its local data");
  await screenshotAt(app, "deactivate-confirm-panel", "8-deactivate-confirm");
  await (await app.testId("deactivate-confirm")).click();
  await app.waitForText(`device-status-${id}`, "Deactivated");
  await screenshotAt(app, `device-row-${id}`, "9-deactivated");

  // Revoke the code: the console says so, and the API refuses it from now on.
  const hint = code.split("-").at(-1)!;
  await (await browser.$(`button[aria-label="Revoke the code ending with ${hint}"]`)).click();
  await browser.waitUntil(
    async () => {
      for (const row of await browser.$$('[data-testid^="code-row-"]')) {
        const text = await row.getText();
        if (text.includes(hint)) return text.includes("Revoked");
      }
      return false;
    },
    { timeout: 10_000, timeoutMsg: `the code ending with ${hint} never showed as revoked` },
  );
  await screenshotAt(app, "codes-table", "10-code-revoked");
  const refused = await enroll(api.url, randomUUID(), code);
  assert.equal(refused.body.error?.code, "ENROLLMENT_CODE_REVOKED", JSON.stringify(refused.body));

  // Signing out forgets the session.
  await (await app.testId("admin-signout")).click();
  await app.waitFor("admin-username");
});
