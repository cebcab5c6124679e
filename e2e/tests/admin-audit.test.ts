// The admin console's facility switching and audit log against a real tend-api and
// PostgreSQL: an organization administrator switches to a facility other than their own,
// the console marks the view as cross-facility, and the audit log then shows that view —
// highlighted, with the administrator's and the facility's names — as the API recorded it.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startApi } from "../lib/api.ts";
import { launchApp } from "../lib/app.ts";
import { expectAccessible } from "../lib/axe.ts";

/** The demo organization's administrator and its facilities (crates/tend-api/src/seed.rs). */
const ORG_ADMIN = "sunrise.orgadmin";
const HOME = "Sunrise ALF - North Campus";
const OTHER = "Sunrise Hospice - Lakeside";

test("admin console: an organization administrator's cross-facility view is marked and on the audit log", async (t) => {
  const api = await startApi("admin-audit");
  t.after(() => api.close());

  const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
  t.after(() => rmSync(configDir, { recursive: true, force: true }));
  const config = join(configDir, "tend.toml");
  writeFileSync(config, `server_url = "${api.url}"\n`);

  const app = await launchApp({ name: "admin-audit", profile: "desktop", args: ["--config", config] });
  t.after(() => app.close());
  const { browser } = app;

  await app.goto("admin");
  await app.type("admin-username", ORG_ADMIN);
  await app.type("admin-password", api.demoPassword);
  await (await app.testId("admin-signin-submit")).click();
  await app.waitForText("admin-user", ORG_ADMIN, 30_000);

  // At home: no mark.
  const picker = await app.waitFor("facility-picker");
  await picker.selectByVisibleText(HOME);
  await (await app.testId("section-devices")).click();
  await app.waitFor("devices-table", 30_000);
  assert.equal(await (await app.testId("cross-facility-banner")).isExisting(), false);

  // Another facility of the organization: marked on screen.
  await picker.selectByVisibleText(OTHER);
  const banner = await app.waitForText("cross-facility-banner", "Outside your facility", 30_000);
  assert.match(banner, new RegExp(`${OTHER}, not ${HOME}`));
  await app.waitFor("devices-table", 30_000);
  await app.screenshot("1-cross-facility-devices");

  // The audit log shows that view, highlighted, in words.
  await (await app.testId("section-audit")).click();
  await app.waitFor("audit-table", 30_000);
  await (await app.testId("audit-family")).selectByVisibleText("Devices (enrollment, approval, locks, offline sign-ins)");
  await (await app.testId("audit-cross-only")).click();
  await browser.waitUntil(
    async () => {
      const rows = await browser.$$('[data-testid="audit-row"]');
      if (rows.length === 0) return false;
      for (const row of rows) {
        if ((await row.getAttribute("data-action")) !== "device.list") return false;
      }
      return true;
    },
    { timeout: 30_000, timeoutMsg: "the cross-facility device list view never showed on the audit log" },
  );
  const row = await browser.$('[data-testid="audit-row"]');
  const text = await row.getText();
  assert.match(text, /Viewed devices/);
  assert.match(text, new RegExp(OTHER));
  assert.match(text, /Cross-facility access/);
  assert.match(text, /Admin/); // the seeded organization administrator's name
  await row.scrollIntoView({ block: "center" });
  await app.screenshot("2-audit-log-cross-facility");
  await expectAccessible(app, "admin audit log");

  // The API agrees: the view is recorded as cross-facility access by this administrator.
  const login = await fetch(`${api.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: ORG_ADMIN, password: api.demoPassword }),
  });
  const { token, user } = (await login.json()) as { token: string; user: { id: number } };
  const events = await fetch(`${api.url}/api/audit-events?cross_facility=true&action=device.list&actor_user_id=${user.id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const page = (await events.json()) as { items: { facility_name: string; cross_facility: boolean }[] };
  assert.ok(page.items.some((e) => e.facility_name === OTHER && e.cross_facility));
});
