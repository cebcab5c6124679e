// The residents list of a 500-patient facility in the real window: a device enrolled
// with a real tend-api in Sunrise ALF - North Campus, topped up through the API to 500
// active patients and synced, the demo nurse signed in with her badge and PIN. Each of
// RUNS rounds (default 20) measures, inside the page with performance.now():
//   navigation → list  = the click on "Residents" in the nav bar → the frame after the
//                        count reads "500 residents" and the first screen of rows is in
//                        the DOM (double requestAnimationFrame: the frame was painted)
//   keystroke → list   = the keydown of one character typed into the search field (a
//                        real WebDriver key press; the event's timestamp) → the frame
//                        after the count names the filtered result
// and prints p50/p95. Run through scripts/bench-patient-list.sh (Xvfb, services).

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { launchApp, type App } from "../lib/app.ts";
import { enroll, enterPin, lockVirtualReader, tapBadge, waitForHash } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

/** sunrise-north.rn1's demo badge and PIN (tend-api `DEMO_BADGES`). */
const BADGE = "04D3A1B2C3D401";
const PIN = "4826";
const PATIENTS = Number(process.env.PATIENTS ?? "500");
const RUNS = Number(process.env.RUNS ?? "20");
/** One character per run, typed into an empty search field. */
const KEYS = ["a", "e", "r", "1", "2", "o", "n", "m", "s", "3"];

declare global {
  interface Window {
    __tendBench?: { start: number; end?: number; marks?: Record<string, number> };
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  return `${name}: n=${sorted.length} p50 ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}, min ${ms(sorted[0])}, max ${ms(sorted.at(-1)!)}`;
}

/** Active patients of the facility, counted page by page. */
async function activePatients(api: CentralApi): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const query: string = `/api/patients?facility_id=${api.facilityId}&status=active&limit=200${cursor ? `&cursor=${cursor}` : ""}`;
    const page: { items: unknown[]; next_cursor: string | null } = await api.request("GET", query);
    count += page.items.length;
    cursor = page.next_cursor;
  } while (cursor);
  return count;
}

/** Adds active patients through the API until the facility has `target`. */
async function topUp(api: CentralApi, target: number): Promise<void> {
  const missing = target - (await activePatients(api));
  const names = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Morgan", "Rowan"];
  const surnames = ["Nguyen", "Okafor", "Schmidt", "Rossi", "Tanaka", "Moreau", "Silva", "Kowalski", "Haddad", "Larsen"];
  const create = async (i: number) =>
    api.request("POST", "/api/patients", {
      facility_id: api.facilityId,
      mrn: `BENCH-${String(i).padStart(5, "0")}`,
      first_name: names[i % names.length],
      last_name: `${surnames[Math.floor(i / names.length) % surnames.length]}-${i}`,
      date_of_birth: `19${30 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
      status: "active",
      room: `${2 + Math.floor(i / 40)}${String(i % 40).padStart(2, "0")}`,
    });
  // A few requests at a time: quick, without swamping the API's pool.
  for (let i = 0; i < missing; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, missing - i) }, (_, k) => create(i + k)));
  }
  assert.equal(await activePatients(api), target);
}

/** Clicks "Residents" inside the page and resolves when the full list's first screen was painted. */
async function measureNavigation(app: App, total: number): Promise<number> {
  await app.browser.execute((expected: string) => {
    const bench: { start: number; end?: number } = { start: 0 };
    window.__tendBench = bench;
    const done = () => {
      const count = document.querySelector('[data-testid="patient-count"]')?.textContent?.trim() ?? "";
      const list = document.querySelector('[data-testid="patient-list"]');
      const rows = list?.querySelectorAll('[data-testid="patient-row"]').length ?? 0;
      // The first screen: as many rows as fit the list's box (or all, if fewer).
      const rowPx = 4.5 * parseFloat(getComputedStyle(document.documentElement).fontSize);
      const fit = list ? Math.min(Number(list.getAttribute("data-count")), Math.floor(list.clientHeight / rowPx)) : 1;
      return count.startsWith(expected) && rows >= Math.max(1, fit);
    };
    const observer = new MutationObserver(() => {
      if (!done()) return;
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => (bench.end = performance.now())));
    });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    bench.start = performance.now();
    (document.querySelector('[data-testid="nav-patients"]') as HTMLElement).click();
  }, `${total} residents`);
  return finished(app, "the residents list never showed all residents");
}

/**
 * The window's own frame cost, for comparison: a one-character text change made at the
 * start of a frame → the frame after it was painted (double requestAnimationFrame), no
 * app code.
 */
async function measureFrame(app: App): Promise<number> {
  return app.browser.executeAsync((done: (ms: number) => void) => {
    // A text of our own (Svelte owns the screen's nodes), one line at the top left.
    let probe = document.getElementById("bench-frame-probe");
    if (!probe) {
      probe = document.createElement("div");
      probe.id = "bench-frame-probe";
      probe.setAttribute("aria-hidden", "true");
      probe.style.cssText = "position:fixed;left:0;top:0;font-size:12px;pointer-events:none";
      document.body.appendChild(probe);
    }
    const target = probe;
    requestAnimationFrame(() => {
      const start = performance.now();
      target.textContent = target.textContent === "a" ? "b" : "a";
      requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));
    });
  });
}

/**
 * The app's part alone, many times over: inside the page, at the start of a frame, one
 * character is put into the search field with an `input` event (what a key press ends
 * in), and the time to the frame after the filtered count was painted is taken; then the
 * field is emptied again and the full list awaited. No WebDriver in the loop.
 */
async function measureInputs(app: App, keys: string[], total: number): Promise<number[]> {
  await app.browser.setTimeout({ script: 5_000 + keys.length * 2_000 });
  return app.browser.executeAsync(
    (typed: string[], everyone: string, done: (ms: number[]) => void) => {
      const input = document.querySelector('[data-testid="patient-search"]') as HTMLInputElement;
      const count = document.querySelector('[data-testid="patient-count"]')!;
      const frame = () => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now())));
      const until = async (ok: () => boolean) => {
        while (!ok()) await new Promise((r) => setTimeout(r, 5));
      };
      const type = (value: string) => {
        input.value = value;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      };
      void (async () => {
        const times: number[] = [];
        type("");
        await until(() => (count.textContent ?? "").trim().startsWith(everyone));
        for (const key of typed) {
          await frame();
          const start = performance.now();
          type(key);
          await until(() => (count.textContent ?? "").includes(`matching “${key}”`));
          await frame();
          times.push((await frame()) - start);
          // The vault's own answer lands after the debounce; then back to everyone.
          await new Promise((r) => setTimeout(r, 250));
          type("");
          await until(() => (count.textContent ?? "").trim().startsWith(everyone));
          await new Promise((r) => setTimeout(r, 250));
        }
        done(times);
      })();
    },
    keys,
    `${total} residents`,
  );
}

/** Types one real key into the (empty) search field; resolves when the filtered list was painted. */
async function measureKeystroke(app: App, key: string): Promise<number> {
  await app.browser.execute((typed: string) => {
    const bench: { start: number; end?: number } = { start: 0 };
    window.__tendBench = bench;
    const input = document.querySelector('[data-testid="patient-search"]') as HTMLInputElement;
    const count = document.querySelector('[data-testid="patient-count"]')!;
    const marks: Record<string, number> = {};
    (bench as { marks?: Record<string, number> }).marks = marks;
    input.addEventListener("keydown", (e) => ((bench.start = e.timeStamp), (marks.keydown = performance.now())), { once: true });
    input.addEventListener("input", () => (marks.input = performance.now()), { once: true });
    const observer = new MutationObserver(() => {
      if (!(count.textContent ?? "").includes(`matching “${typed}”`)) return;
      observer.disconnect();
      marks.dom = performance.now();
      requestAnimationFrame(() => {
        marks.frame1 = performance.now();
        requestAnimationFrame(() => (bench.end = performance.now()));
      });
    });
    observer.observe(count, { childList: true, subtree: true, characterData: true });
    input.focus();
  }, key);
  await app.browser.keys(key);
  return finished(app, `typing "${key}" never filtered the list`);
}

/** Where the keystroke's time went, per step (ms from the keydown event), for the report. */
const stages: Record<string, number[]> = {};

async function finished(app: App, message: string): Promise<number> {
  let elapsed: number | undefined;
  await app.browser.waitUntil(
    async () => {
      const bench = await app.browser.execute(() => window.__tendBench);
      if (bench?.end === undefined || bench.start === 0) return false;
      elapsed = bench.end - bench.start;
      for (const [stage, at] of Object.entries(bench.marks ?? {})) (stages[stage] ??= []).push(at - bench.start);
      if (bench.marks?.keydown !== undefined) (stages["painted, from the keydown handler"] ??= []).push(bench.end - bench.marks.keydown);
      return true;
    },
    { timeout: 15_000, interval: 20, timeoutMsg: message },
  );
  return elapsed!;
}

async function main(): Promise<void> {
  const api = new CentralApi("bench-patient-list", "sunrise-north.facilityadmin1");
  await api.start();
  const reader = await lockVirtualReader();
  const machine = fakeMachine();
  let app: App | undefined;
  try {
    await topUp(api, PATIENTS);
    // Everyone the device will list: the active ones plus those on leave.
    const onLeave = (await api.request("GET", `/api/patients?facility_id=${api.facilityId}&status=on_leave&limit=200`)).items.length;
    const total = PATIENTS + onLeave;

    app = await launchApp({ name: "bench-patient-list", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
    await enroll(app, api);
    await app.waitForText("status-last-sync", /Synced/, 60_000);
    await tapBadge(BADGE);
    await enterPin(app, PIN);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    await app.waitFor("home-residents");

    const navigation: number[] = [];
    const keystroke: number[] = [];
    const frame: number[] = [];
    // One warm-up round of each, not counted (the first render compiles and caches).
    for (let i = -1; i < RUNS; i++) {
      await app.goto("#/home");
      await app.waitFor("home-residents");
      const nav = await measureNavigation(app, total);
      await new Promise((r) => setTimeout(r, 200));
      const painted = await measureFrame(app);
      await new Promise((r) => setTimeout(r, 200));
      const typed = await measureKeystroke(app, KEYS[(i + KEYS.length) % KEYS.length]);
      if (i >= 0) {
        navigation.push(nav);
        keystroke.push(typed);
        frame.push(painted);
      }
      // Let the vault's own answer to the search land before the next round.
      await new Promise((r) => setTimeout(r, 300));
    }
    await app.screenshot("filtered");
    const synthetic = await measureInputs(
      app,
      Array.from({ length: 2 * RUNS }, (_, i) => KEYS[i % KEYS.length]),
      total,
    );
    console.log(`facility: ${total} residents on the device (${PATIENTS} active, ${onLeave} on leave)`);
    console.log(summary("navigation → list painted (click Residents → count + first screen of rows)", navigation));
    console.log(summary("keystroke → filtered list painted (keydown → count names the search)", keystroke));
    for (const [stage, values] of Object.entries(stages)) console.log(summary(`  keydown event → ${stage}`, values));
    console.log(summary("input event in the page → filtered list painted (the app's part, no WebDriver)", synthetic));
    console.log(summary("a one-character text change → painted (the window's frame cost, no app code)", frame));
  } finally {
    await app?.close();
    rmSync(machine, { recursive: true, force: true });
    reader.close();
    await api.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
