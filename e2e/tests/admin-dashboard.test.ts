// The admin console's facility dashboard in the real window against a real tend-api and
// PostgreSQL: a facility administrator reads the figures (checked against the API's
// dashboard), types a census above the licensed beds (a readable error, nothing saved),
// saves a valid one (figures and the chart's latest point follow), then deactivates a
// device and sees the devices-online figure and the device's status change.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startApi } from "../lib/api.ts";
import { launchApp, type App } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";

/** A seeded demo facility with licensed beds, and its administrator (crates/tend-api/src/seed.rs). */
const FACILITY = "Sunrise ALF - North Campus";
const ADMIN = "sunrise-north.facilityadmin1";

interface Dashboard {
  facility_id: number;
  current_census: number;
  licensed_beds: number | null;
  occupancy_rate: number | null;
  available_beds: number | null;
  active_devices: number;
  online_devices: number;
  devices_with_sync_issues: number;
  active_staff: number;
  rn_count: number;
}

interface Point {
  date: string;
  current_census: number | null;
  licensed_beds: number | null;
  occupancy_rate: number | null;
}

/** The API as the same administrator sees it, to check the window against. */
class AdminApi {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  static async signIn(base: string, username: string, password: string): Promise<AdminApi> {
    const response = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    return new AdminApi(base, body.token);
  }

  async get(path: string): Promise<any> {
    const response = await fetch(`${this.base}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    const body = await response.json();
    assert.equal(response.status, 200, `${path}: ${JSON.stringify(body)}`);
    return body;
  }

  dashboard(facility: number): Promise<Dashboard> {
    return this.get(`/api/facilities/${facility}/dashboard`);
  }

  async latestPoint(facility: number): Promise<Point> {
    const history = await this.get(`/api/facilities/${facility}/census-history?days=30`);
    return history.points.at(-1);
  }
}

const rate = (r: number) => `${r.toFixed(1)} %`;

/** The window's dashboard cards say what the API's dashboard says. */
async function expectFigures(app: App, d: Dashboard): Promise<void> {
  assert.ok(d.licensed_beds !== null && d.occupancy_rate !== null && d.available_beds !== null, "the facility has beds");
  await app.waitForText("dashboard-census", `${d.current_census} of ${d.licensed_beds} licensed beds`);
  await app.waitForText("dashboard-occupancy", rate(d.occupancy_rate));
  assert.equal((await (await app.testId("dashboard-available")).getText()).trim(), String(d.available_beds));
  await app.waitForText("dashboard-devices-online", `${d.online_devices} of ${d.active_devices} active device`);
  assert.match(await (await app.testId("dashboard-sync-issues")).getText(), new RegExp(`^${d.devices_with_sync_issues}\\b`));
  assert.equal((await (await app.testId("dashboard-staff")).getText()).trim(), String(d.active_staff));
  assert.equal((await (await app.testId("dashboard-rns")).getText()).trim(), String(d.rn_count));
}

/** Scrolls the element with test id `id` into the middle of the window, then takes a screenshot. */
async function screenshotAt(app: App, id: string, step: string): Promise<void> {
  await (await app.waitFor(id)).scrollIntoView({ block: "center" });
  await app.screenshot(step);
}

test("admin dashboard: figures, census update and a device deactivation against the real API", async (t) => {
  const api = await startApi("admin-dashboard");
  t.after(() => api.close());

  const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
  t.after(() => rmSync(configDir, { recursive: true, force: true }));
  const config = join(configDir, "tend.toml");
  writeFileSync(config, `server_url = "${api.url}"\n`);

  const app = await launchApp({ name: "admin-dashboard", profile: "desktop", args: ["--config", config] });
  t.after(() => app.close());

  const central = await AdminApi.signIn(api.url, ADMIN, api.demoPassword);
  const facilities = await central.get("/api/facilities");
  const facility = facilities.items.find((f: { name: string }) => f.name === FACILITY);
  assert.ok(facility, `${FACILITY} is not among the administrator's facilities`);
  const id = facility.id as number;

  await app.goto("admin");
  await app.type("admin-username", ADMIN);
  await app.type("admin-password", api.demoPassword);
  await (await app.testId("admin-signin-submit")).click();
  await app.waitForText("admin-user", ADMIN, 30_000);
  await (await app.waitFor("facility-picker")).selectByVisibleText(FACILITY);

  // The figures at a glance are the API's.
  const before = await central.dashboard(id);
  await expectFigures(app, before);
  const latest = await central.latestPoint(id);
  assert.equal(latest.current_census, before.current_census, "the history ends with today's census");
  await app.waitForText("chart-latest", `Today: ${rate(before.occupancy_rate!)} (${before.current_census} of ${before.licensed_beds} beds)`);
  assert.match(await (await app.testId("chart-summary")).getText(), /^Over the last 30 days occupancy (ranged from|stayed at) [\d.]+ %/);
  await app.screenshot("1-dashboard");
  await expectAccessible(app, "admin dashboard");
  await expectReadableAt200Percent(app, "admin dashboard");

  // 90 days: the seeded history fills the chart.
  await (await app.testId("chart-range-90")).click();
  await app.waitForText("chart-summary", "Over the last 90 days");
  await screenshotAt(app, "chart", "2-chart-90-days");
  await (await app.testId("chart-range-30")).click();
  await app.waitForText("chart-summary", "Over the last 30 days");

  // Above the licensed beds: a readable error on the field, and nothing saved.
  const beds = before.licensed_beds!;
  await app.type("census-input", String(beds + 1));
  await app.waitForText("census-error", `The census can't be more than the ${beds} licensed beds.`);
  await (await app.testId("census-save")).click();
  await app.waitForText("census-error", "licensed beds");
  assert.equal(await (await app.testId("census-input")).getAttribute("aria-invalid"), "true");
  await screenshotAt(app, "census-error", "3-census-above-beds");
  assert.equal((await central.dashboard(id)).current_census, before.current_census, "nothing was saved");
  assert.equal((await central.latestPoint(id)).current_census, before.current_census, "no history was written");

  // A valid census: saved, and the figures and the chart's latest point follow.
  const census = before.current_census === beds ? beds - 1 : before.current_census + 1;
  await app.type("census-input", String(census));
  await (await app.testId("census-save")).click();
  await app.waitForText("census-saved", `Census saved: ${census} residents`, 15_000);
  const saved = await central.dashboard(id);
  assert.equal(saved.current_census, census);
  await app.waitForText("dashboard-census", `${census} of ${beds} licensed beds`);
  await app.waitForText("dashboard-occupancy", rate(saved.occupancy_rate!));
  await app.waitForText("chart-latest", `Today: ${rate(saved.occupancy_rate!)} (${census} of ${beds} beds)`);
  const point = await central.latestPoint(id);
  assert.equal(point.current_census, census);
  assert.equal(point.occupancy_rate, saved.occupancy_rate);
  assert.equal(
    await (await app.testId("chart")).getAttribute("data-latest"),
    String(saved.occupancy_rate),
    "the chart's last point is the new census",
  );
  await screenshotAt(app, "census-saved", "4-census-saved");

  // Deactivate an online device: asked first; the online figure and its status follow.
  const devices = await central.get(`/api/facilities/${id}/devices?status=ACTIVE`);
  const online = devices.items.find((d: { is_online: boolean }) => d.is_online);
  assert.ok(online, "a seeded device of the facility is online (heartbeat within 5 minutes of seeding)");
  const figures = await central.dashboard(id);
  await (await app.testId("section-devices")).click();
  const deactivate = await app.waitFor(`device-deactivate-${online.id}`);
  await deactivate.scrollIntoView({ block: "center" });
  await deactivate.click();
  await app.waitForText("deactivate-confirm-panel", "erase all of its local data");
  await screenshotAt(app, "deactivate-confirm-panel", "5-deactivate-confirm");
  await (await app.testId("deactivate-confirm")).click();
  await app.waitForText(`device-status-${online.id}`, "Deactivated", 15_000);
  await screenshotAt(app, `device-row-${online.id}`, "7-device-deactivated");
  await (await app.testId("section-overview")).click();
  const after = await central.dashboard(id);
  assert.equal(after.active_devices, figures.active_devices - 1);
  // Another seeded device may also have aged out of its online window meanwhile.
  assert.ok(after.online_devices <= figures.online_devices - 1, `online ${figures.online_devices} → ${after.online_devices}`);
  await app.waitForText("dashboard-devices-online", `${after.online_devices} of ${after.active_devices} active device`);
  await screenshotAt(app, "dashboard-devices-online", "6-online-figure-after-deactivation");
  await expectAccessible(app, "admin dashboard after the changes");

  // A 10" tablet in portrait is about 800 px wide: the dashboard fits, at 200 % text too.
  await app.browser.setWindowSize(800, 800);
  await app.browser.waitUntil(async () => (await app.browser.execute(() => window.innerWidth)) <= 800, {
    timeout: 5000,
    timeoutMsg: "the window did not narrow to 800 px",
  });
  await screenshotAt(app, "dashboard-metrics", "8-tablet-width");
  await screenshotAt(app, "chart", "9-tablet-width-chart");
  await expectReadableAt200Percent(app, "admin dashboard at tablet width");
});
