// Residents in the admin console, in the real window against a real tend-api and
// PostgreSQL: an organization administrator admits a resident with the care details a
// facility needs on day one (checked in the API), edits them while someone else changes
// the allergies through the API (the window shows both values, the administrator keeps
// their room and takes the other allergies), moves the resident to the sister facility
// (the move is in both facilities' audit logs), and discharges them there. Accessible
// (axe WCAG 2.2 AA) and readable at 200 % text in the list, the form and the side-by-side
// view. (That a transfer or discharge reaches devices as a removal is tested against the
// sync feed in crates/tend-api/tests/api/residents.rs.)

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startApi } from "../lib/api.ts";
import { launchApp, type App } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";

/** The seeded Sunrise organization (crates/tend-api/src/seed.rs): its administrator and two facilities. */
const ORG_ADMIN = "sunrise.orgadmin";
const FACILITY = "Sunrise ALF - North Campus";
const MRN = "E2E-ADMIT-1";

class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  static async signIn(base: string, username: string, password: string): Promise<Api> {
    const response = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    return new Api(base, body.token);
  }

  async call(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  }

  async resident(): Promise<any> {
    const page = await this.call("GET", `/api/patients?name=Lovelace&limit=200`);
    const found = page.items.find((p: { mrn: string }) => p.mrn === MRN);
    assert.ok(found, `${MRN} is not listed`);
    return found;
  }
}

/** Sets an input's value as a person's typing would (date inputs take no keystrokes in WebKitGTK). */
async function setValue(app: App, id: string, value: string): Promise<void> {
  await app.waitFor(id);
  await app.browser.execute(
    (testId: string, v: string) => {
      const input = document.querySelector<HTMLInputElement>(`[data-testid="${testId}"]`)!;
      input.value = v;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    },
    id,
    value,
  );
}

test("admin residents: admit, a concurrent edit resolved side by side, transfer and discharge", async (t) => {
  const api = await startApi("admin-residents");
  t.after(() => api.close());
  const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
  t.after(() => rmSync(configDir, { recursive: true, force: true }));
  const config = join(configDir, "tend.toml");
  writeFileSync(config, `server_url = "${api.url}"\n`);

  const app = await launchApp({ name: "admin-residents", profile: "desktop", args: ["--config", config] });
  t.after(() => app.close());

  const central = await Api.signIn(api.url, ORG_ADMIN, api.demoPassword);
  const facilities = (await central.call("GET", "/api/facilities")).items as { id: number; name: string }[];
  const home = facilities.find((f) => f.name === FACILITY)!;
  const sister = facilities.find((f) => f.id !== home.id)!;
  assert.ok(home && sister, "the organization has two facilities");

  await app.goto("admin");
  await app.type("admin-username", ORG_ADMIN);
  await app.type("admin-password", api.demoPassword);
  await (await app.testId("admin-signin-submit")).click();
  await app.waitForText("admin-user", ORG_ADMIN, 30_000);
  await (await app.waitFor("facility-picker")).selectByVisibleText(FACILITY);
  await (await app.waitFor("section-residents")).click();
  await app.waitFor("residents-table", 20_000);
  await expectAccessible(app, "admin residents");

  // Admission with the care details.
  await (await app.testId("resident-admit")).click();
  await app.type("resident-first-name", "Ada");
  await app.type("resident-last-name", "Lovelace");
  await app.type("resident-mrn", MRN);
  await setValue(app, "resident-date-of-birth", "1938-12-10");
  await app.type("resident-room", "118");
  await app.type("resident-allergies", "Penicillin");
  await (await app.testId("resident-code-status")).selectByVisibleText("DNR (do not resuscitate)");
  await app.type("resident-diet", "Mechanical soft");
  await (await app.testId("resident-fall-risk")).selectByVisibleText("High");
  await app.type("resident-contact-name", "Byron Lovelace");
  await app.type("resident-contact-relationship", "Son");
  // A number nobody can dial first: the field says so, nothing is admitted.
  await app.type("resident-contact-phone", "call the office");
  await expectAccessible(app, "admission form");
  await expectReadableAt200Percent(app, "admission form");
  await (await app.testId("resident-save")).click();
  await app.waitForText("resident-contact-phone-error", "telephone number");
  await app.type("resident-contact-phone", "+1 503 555 0142");
  await (await app.testId("resident-save")).click();
  await app.waitForText("residents-notice", "Ada Lovelace is admitted.", 15_000);
  await app.screenshot("1-admitted");
  let stored = await central.resident();
  assert.equal(stored.facility_id, home.id);
  assert.equal(stored.code_status, "dnr");
  assert.equal(stored.fall_risk, "high");
  assert.equal(stored.allergies, "Penicillin");
  assert.deepEqual(stored.emergency_contact, { name: "Byron Lovelace", relationship: "Son", phone: "+1 503 555 0142" });

  // The administrator opens the edit form; meanwhile a colleague adds an allergy.
  await (await app.waitFor(`resident-edit-${MRN}`)).click();
  await app.type("resident-room", "204");
  await central.call("PUT", `/api/patients/${stored.id}`, { allergies: "Penicillin, sulfa", version: stored.version });
  await (await app.testId("resident-save")).click();
  await app.waitForText("resident-conflict", "Someone changed this resident while you were editing", 15_000);
  await app.waitForText("resident-conflict-allergies", "Penicillin, sulfa");
  await app.waitForText("resident-conflict-room", "204");
  await app.screenshot("2-conflict");
  await expectAccessible(app, "edit conflict");
  await expectReadableAt200Percent(app, "edit conflict");
  stored = await central.resident();
  assert.equal(stored.room, "118", "nothing was written by the stale edit");
  await (await app.testId("resident-keep-theirs-allergies")).click();
  await (await app.testId("resident-conflict-save")).click();
  await app.waitForText("residents-notice", "details are saved", 15_000);
  stored = await central.resident();
  assert.equal(stored.room, "204");
  assert.equal(stored.allergies, "Penicillin, sulfa");

  // The move to the sister facility, audited in both.
  await (await app.waitFor(`resident-transfer-${MRN}`)).click();
  await (await app.waitFor("transfer-destination")).selectByVisibleText(sister.name);
  await (await app.testId("transfer-save")).click();
  await app.waitForText("residents-notice", `moved to ${sister.name}`, 15_000);
  for (const facility of [home, sister]) {
    const audit = await central.call("GET", `/api/audit-events?facility_id=${facility.id}&action=patient.transfer&resource_id=${stored.id}`);
    assert.equal(audit.items.length, 1, `${facility.name}: ${JSON.stringify(audit.items)}`);
  }

  // Discharge in the new facility.
  await (await app.waitFor("facility-picker")).selectByVisibleText(sister.name);
  await (await app.waitFor(`resident-discharge-${MRN}`, 20_000)).click();
  await setValue(app, "discharge-date", new Date().toISOString().slice(0, 10));
  await (await app.testId("discharge-save")).click();
  await app.waitForText("residents-notice", "Ada Lovelace is discharged.", 15_000);
  stored = await central.resident();
  assert.equal(stored.status, "discharged");
  assert.ok(stored.discharged_at, "a discharge time");
  await app.screenshot("3-discharged");
});
