// The admin console's directory against a real tend-api and PostgreSQL: an
// organization administrator edits the organization's details (a mistyped NPI first:
// marked on its field, nothing saved), adds a facility (a time zone the server refuses first:
// marked on its field, nothing created), edits it, adds a nurse there (a taken
// username first: marked on its field), assigns her a badge, sets her PIN, and revokes
// the badge — each step checked against what the API then says, each section checked
// with axe-core, with screenshots.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startApi, type TestApi } from "../lib/api.ts";
import { launchApp, type App } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";

/** The seeded organization administrator of Sunrise (see crates/tend-api/src/seed.rs). */
const ORG_ADMIN = "sunrise.orgadmin";
/** A seeded username in the same organization, to collide with. */
const TAKEN_USERNAME = "sunrise-north.rn1";
const BADGE = "04:5A:77:C1:2B:19:80";
const PIN = "58203947";

/** The API as the same administrator, to check what the console did. */
async function apiAs(api: TestApi): Promise<(method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>> {
  const login = await fetch(`${api.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: ORG_ADMIN, password: api.demoPassword }),
  });
  assert.equal(login.status, 200, "the org admin signs in to the API");
  const { token } = (await login.json()) as { token: string };
  return async (method, path, body) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

/** Scrolls the element with test id `id` into the middle of the window, then takes a screenshot. */
async function screenshotAt(app: App, id: string, step: string): Promise<void> {
  await (await app.waitFor(id)).scrollIntoView({ block: "center" });
  await app.screenshot(step);
}

/** Types into a field once it is scrolled into view (WebKitWebDriver refuses off-screen ones). */
async function fill(app: App, id: string, text: string): Promise<void> {
  await (await app.waitFor(id)).scrollIntoView({ block: "center" });
  await app.type(id, text);
}

/** Clicks a control once it is scrolled into view. */
async function press(app: App, id: string): Promise<void> {
  const el = await app.waitFor(id);
  await el.scrollIntoView({ block: "center" });
  await el.click();
}

test("admin directory: an organization admin manages a facility, a nurse, her badge and PIN", async (t) => {
  const api = await startApi("admin-directory");
  t.after(() => api.close());
  const call = await apiAs(api);

  const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
  t.after(() => rmSync(configDir, { recursive: true, force: true }));
  const config = join(configDir, "tend.toml");
  writeFileSync(config, `server_url = "${api.url}"\n`);

  const app = await launchApp({ name: "admin-directory", profile: "desktop", args: ["--config", config] });
  t.after(() => app.close());
  const { browser } = app;

  await app.goto("admin");
  await fill(app, "admin-username", ORG_ADMIN);
  await fill(app, "admin-password", api.demoPassword);
  await press(app, "admin-signin-submit");
  await app.waitForText("admin-user", ORG_ADMIN, 30_000);
  await press(app, "section-facilities");

  // The organization, read-only for an organization administrator; its facilities.
  await app.waitForText("own-organization", "Sunrise Senior Living Inc", 15_000);
  await app.waitFor("facilities-table");
  assert.equal(await (await app.testId("organization-add")).isExisting(), false, "no 'add organization' for an org admin");
  await screenshotAt(app, "facilities-section", "1-facilities");
  await expectAccessible(app, "organizations and facilities");

  // Their organization's details: a mistyped NPI is caught in the app; nothing changes.
  const orgBefore = (await call("GET", "/api/organizations")).body.items[0];
  await press(app, `organization-edit-${orgBefore.id}`);
  await app.waitFor("organization-form");
  assert.equal(await (await app.testId("organization-active")).isExisting(), false, "an org admin cannot close the organization");
  await fill(app, "organization-npi", "1234567890");
  await fill(app, "organization-license", "MN-ALF-2211");
  await press(app, "organization-save");
  await app.waitForText("organization-npi-error", "check digit");
  await screenshotAt(app, "organization-npi-error", "1b-organization-npi-error");
  await expectAccessible(app, "organization form with a field error");
  const unchanged = (await call("GET", `/api/organizations/${orgBefore.id}`)).body;
  assert.equal(unchanged.npi, orgBefore.npi, "the NPI is unchanged");
  assert.equal(unchanged.state_license_number, orgBefore.state_license_number, "nothing was saved");
  await fill(app, "organization-npi", orgBefore.npi);
  await press(app, "organization-save");
  await app.waitForText("directory-notice", "is saved", 15_000);
  const orgAfter = (await call("GET", `/api/organizations/${orgBefore.id}`)).body;
  assert.equal(orgAfter.state_license_number, "MN-ALF-2211");
  assert.equal(orgAfter.npi, orgBefore.npi);
  assert.equal(orgAfter.is_active, true);

  // A new facility with a time zone the server refuses: marked, nothing created.
  const name = `Maple Memory Care ${Date.now()}`;
  await press(app, "facility-add");
  await fill(app, "facility-name", name);
  await (await app.testId("facility-type")).selectByAttribute("value", "MEMORY_CARE");
  await fill(app, "facility-beds", "24");
  await fill(app, "facility-medicare", "245519");
  await fill(app, "facility-timezone", "Chicago");
  await press(app, "feature-behavior_tracking");
  await press(app, "feature-wandering_alerts");
  await press(app, "facility-save");
  await app.waitForText("facility-timezone-error", "IANA time zone");
  await app.waitForText("facility-error-summary", "Nothing was saved");
  await screenshotAt(app, "facility-timezone-error", "2-facility-field-error");
  await expectAccessible(app, "facility form with a field error");
  const before = await call("GET", "/api/facilities?limit=200");
  assert.equal(before.body.items.filter((f: { name: string }) => f.name === name).length, 0, "nothing was created");

  await fill(app, "facility-timezone", "America/Chicago");
  await press(app, "facility-save");
  await app.waitForText("directory-notice", `“${name}” is saved.`, 15_000);
  const created = (await call("GET", "/api/facilities?limit=200")).body.items.find((f: { name: string }) => f.name === name);
  assert.ok(created, "the facility exists");
  assert.equal(created.facility_type, "MEMORY_CARE");
  assert.equal(created.licensed_beds, 24);
  assert.equal(created.medicare_provider_number, "245519");
  assert.equal(created.timezone, "America/Chicago");
  assert.deepEqual(created.features, { behavior_tracking: true, wandering_alerts: true });
  const facilityId = created.id as number;

  // Edit it: more beds, the family portal on.
  await press(app, `facility-edit-${facilityId}`);
  await app.waitFor("facility-form");
  assert.equal(await (await app.testId("facility-beds")).getValue(), "24");
  await fill(app, "facility-beds", "30");
  await press(app, "feature-family_portal");
  // Its policy: an idle lock below the allowed range is refused on its field, nothing saved.
  assert.equal(await (await app.testId("policy-idle_lock_kiosk_secs")).getValue(), "120");
  await fill(app, "policy-idle_lock_kiosk_secs", "5");
  await press(app, "facility-save");
  await app.waitForText("policy-idle_lock_kiosk_secs-error", /from 60 to 3600/);
  await screenshotAt(app, "policy-idle_lock_kiosk_secs", "3-facility-policy-error");
  await expectAccessible(app, "facility policy with a field error");
  await expectReadableAt200Percent(app, "facility policy");
  assert.equal((await call("GET", `/api/facilities/${facilityId}`)).body.policy.idle_lock_kiosk_secs, 120);
  await fill(app, "policy-idle_lock_kiosk_secs", "60");
  await screenshotAt(app, "facility-form", "3-facility-edit");
  await press(app, "facility-save");
  await app.waitForText("directory-notice", "is saved", 15_000);
  const edited = await call("GET", `/api/facilities/${facilityId}`);
  assert.equal(edited.body.licensed_beds, 30);
  assert.equal(edited.body.features.family_portal, true);
  assert.equal(edited.body.features.wandering_alerts, true);
  assert.equal(edited.body.policy.idle_lock_kiosk_secs, 60);
  assert.equal(edited.body.policy.idle_lock_desktop_secs, 600);

  // The new facility in the console's picker; its staff list starts empty.
  await browser.waitUntil(async () => (await (await app.testId("facility-picker")).getText()).includes(name), {
    timeout: 10_000,
    timeoutMsg: "the new facility never appeared in the picker",
  });
  await (await app.testId("facility-picker")).selectByAttribute("value", String(facilityId));
  await press(app, "section-people");
  await app.waitFor("staff-add", 15_000);
  await browser.waitUntil(async () => (await (await app.testId("people-section")).getText()).includes("No staff in this facility yet"), {
    timeout: 10_000,
    timeoutMsg: "the new facility's empty staff list never showed",
  });

  // A nurse with a username already taken: marked on its field, nobody created.
  await press(app, "staff-add");
  await fill(app, "staff-full-name", "Rosa Alvarez");
  await fill(app, "staff-username", TAKEN_USERNAME);
  await fill(app, "staff-employee-id", `E-${Date.now() % 100000}`);
  await fill(app, "staff-email", "rosa@example.org");
  await (await app.testId("staff-role")).selectByAttribute("value", "RN");
  await fill(app, "staff-password", "a first password for Rosa");
  await press(app, "staff-save");
  await app.waitForText("staff-username-error", "taken", 15_000);
  await screenshotAt(app, "staff-username-error", "4-staff-username-taken");
  await expectAccessible(app, "staff form with a field error");
  const noOne = await call("GET", `/api/users?facility_id=${facilityId}`);
  assert.equal(noOne.body.items.length, 0, "nobody was created");

  const username = `rosa.alvarez.${Date.now() % 100000}`;
  await fill(app, "staff-username", username);
  await fill(app, "staff-password", "a first password for Rosa");
  await press(app, "staff-save");
  await app.waitForText("staff-notice", "account is created", 15_000);
  await app.waitFor(`staff-row-${username}`);
  const staff = await call("GET", `/api/users?facility_id=${facilityId}`);
  const rosa = staff.body.items.find((u: { username: string }) => u.username === username);
  assert.ok(rosa, "the nurse exists");
  assert.equal(rosa.role, "RN");
  assert.equal(rosa.email, "rosa@example.org");
  assert.equal(rosa.is_active, true);
  await screenshotAt(app, `staff-row-${username}`, "5-staff-created");
  await expectAccessible(app, "staff list");
  await expectReadableAt200Percent(app, "staff list and facilities");

  // Her badge, by its number (tapping it is the admin-badge-tap journey); then her PIN.
  await press(app, `staff-badges-${username}`);
  await app.waitForText("badge-panel", "No badge yet", 15_000);
  await app.waitForText("badge-capture", "Tap a badge to assign");
  await fill(app, "badge-number", BADGE);
  await fill(app, "badge-label", "main badge");
  await press(app, "badge-assign");
  await app.waitForText("badge-notice", "A badge is assigned to Rosa Alvarez", 15_000);
  assert.equal(await (await app.testId("badge-number")).getValue(), "", "the badge number is cleared");
  const badges = await call("GET", `/api/users/${rosa.id}/badges`);
  assert.equal(badges.body.items.length, 1);
  const badge = badges.body.items[0];
  assert.equal(badge.is_active, true);
  assert.equal(badge.label, "main badge");
  await app.waitForText(`badge-status-${badge.id}`, "Active");
  assert.ok(!(await (await app.testId("badge-panel")).getText()).includes("04:5A:77"), "the badge number is not shown");

  const pinField = await app.waitFor("badge-pin");
  assert.equal(await pinField.getAttribute("type"), "password", "the PIN is masked");
  await fill(app, "badge-pin", "1234");
  await press(app, "pin-save");
  await app.waitForText("badge-pin-error", "consecutive digits");
  await fill(app, "badge-pin", PIN);
  await press(app, "pin-save");
  await app.waitForText("badge-notice", "The PIN is set", 15_000);
  await screenshotAt(app, "badge-panel", "6-badge-and-pin");
  await expectAccessible(app, "badges and PIN");
  // The server set her PIN once (the refused one never left the app): its audit log says so.
  const pinEvents = await call("GET", `/api/audit-events?action=user.pin_set&resource_id=${rosa.id}`);
  assert.equal(pinEvents.status, 200, JSON.stringify(pinEvents.body));
  assert.equal(pinEvents.body.items.length, 1, JSON.stringify(pinEvents.body));

  // Revoke the badge, after a confirmation.
  const revoke = await browser.$('button[aria-label="Revoke main badge"]');
  await revoke.scrollIntoView({ block: "center" });
  await revoke.click();
  await app.waitForText("badge-revoke-panel", "stops signing anyone in");
  await screenshotAt(app, "badge-revoke-panel", "7-revoke-confirm");
  await expectAccessible(app, "badge revoke confirmation");
  await press(app, "badge-revoke-confirm");
  await app.waitForText("badge-notice", "The badge is revoked", 15_000);
  await app.waitForText(`badge-status-${badge.id}`, "Revoked");
  const after = await call("GET", `/api/users/${rosa.id}/badges`);
  assert.equal(after.body.items[0].is_active, false);
  assert.ok(after.body.items[0].revoked_at);
  await screenshotAt(app, "badge-panel", "8-badge-revoked");

  // A 10" tablet held upright (about 800 px wide): nothing makes the page scroll sideways.
  await browser.setWindowSize(800, 800);
  await browser.waitUntil(async () => (await browser.execute(() => window.innerWidth)) <= 800, {
    timeout: 5000,
    timeoutMsg: "the window never became 800 px wide",
  });
  const sideways = await browser.execute(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(sideways <= 1, `the console scrolls sideways by ${sideways} px at 800 px`);
  await screenshotAt(app, "badge-panel", "9-portrait-width");
  await expectReadableAt200Percent(app, "badges and PIN at 800 px");
});
