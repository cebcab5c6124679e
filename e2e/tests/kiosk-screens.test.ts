// The screens a wall kiosk really has: the official Raspberry Pi 7" touchscreen (800×480)
// and the common 1024×600 panels. For each size, a private Xvfb of that size with a window
// manager (so the fullscreen kiosk window really is that size) and the app in the kiosk
// profile against the real central API and the PC/SC test reader: the lock screen, the
// password fallback, the PIN pad after a badge tap, the idle warning and the family kiosk
// (welcome and code keypad) must each fit without scrolling — every visible control
// inside the window, nothing scrolled, touch targets ≥ 48 px (≥ 80 px on the family
// kiosk) — and the top bar of the enrolled kiosk offers no "Setup" and wraps no label.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import { enroll, enterPin, lockVirtualReader, tapBadge, waitForHash, waitForPhase, waitForReader } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";
import { appWindow, startXvfb } from "../lib/display.ts";

/** The warning shows halfway (10 s), which leaves 10 s to measure it before the lock. */
const IDLE_LOCK_SECS = 20;
/**
 * Each size with a demo nurse of her own (tend-api `DEMO_BADGES`, sunrise-north.rn1 and
 * rn2): a nurse's first badge login asks for her PIN, a later one on the same server may not.
 */
const SIZES = [
  { width: 800, height: 480, nurse: { badge: "04D3A1B2C3D401", pin: "4826" } },
  { width: 1024, height: 600, nurse: { badge: "04D3A1B2C3D402", pin: "5937" } },
] as const;

interface Fit {
  viewport: { width: number; height: number };
  /** Controls (and the badge prompt) not completely inside the window. */
  outside: string[];
  /** Boxes that scroll: the page itself or a scroll container with hidden content. */
  scrolled: string[];
  /** Touch targets smaller than the minimum. */
  small: string[];
  /** Top-bar labels that wrap onto a second line. */
  wrapped: string[];
  nav: string[];
}

/**
 * Measures the current screen in the page: every visible control (buttons, inputs, links,
 * the badge prompt) inside window.innerWidth × innerHeight, no scrolling (the page, or a
 * box such as <main> whose content is taller than itself), every button and link at least
 * `minTouch` px in both directions (`familyTouch` inside the family kiosk), no top-bar label
 * on two lines. `within` narrows the controls and scroll boxes to one part of the page (a
 * dialog over a screen that may scroll). Returns what is wrong, with names to find it by.
 */
async function measure(app: App, within: string): Promise<Fit> {
  return app.browser.execute(
    (minTouch: number, familyTouch: number, within: string) => {
      const scope = document.querySelector(within) ?? document.body;
      const width = window.innerWidth;
      const height = window.innerHeight;
      const name = (el: Element): string => {
        const h = el as HTMLElement;
        const id = h.dataset.testid ? `[data-testid=${h.dataset.testid}]` : h.id ? `#${h.id}` : "";
        const text = (h.innerText || h.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ").slice(0, 30);
        return `${el.tagName.toLowerCase()}${id}${text ? ` "${text}"` : ""}`;
      };
      const round = (r: DOMRect) => `${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}`;
      /** Drawn and meant to be seen: not display:none, not invisible, not the 1-px visually-hidden pattern. */
      const visible = (el: Element): boolean => {
        const r = el.getBoundingClientRect();
        if (r.width <= 1 || r.height <= 1) return false;
        for (let a: Element | null = el; a; a = a.parentElement) {
          const style = getComputedStyle(a);
          if (style.display === "none" || style.visibility === "hidden" || Number(style.opacity) === 0) return false;
        }
        return true;
      };
      // The skip link waits above the window until a keyboard user focuses it (then it is in view).
      const controls = [
        ...scope.querySelectorAll<HTMLElement>(
          "button, input:not([type=hidden]), select, textarea, a[href], #screen-title, [data-testid=lock-state], [data-testid=reader-status]",
        ),
      ].filter((el) => !el.classList.contains("skip-link") && el.id !== "e2e-repaint" && visible(el));
      const outside = controls
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.left < -0.5 || r.top < -0.5 || r.right > width + 0.5 || r.bottom > height + 0.5;
        })
        .map((el) => `${name(el)} at ${round(el.getBoundingClientRect())}`);

      const scrolled: string[] = [];
      const page = document.scrollingElement ?? document.documentElement;
      if (page.scrollHeight > height) scrolled.push(`the page is ${page.scrollHeight}px tall in a ${height}px window`);
      if (page.scrollWidth > width) scrolled.push(`the page is ${page.scrollWidth}px wide in a ${width}px window`);
      for (const el of [scope, ...scope.querySelectorAll<HTMLElement>("*")] as HTMLElement[]) {
        const style = getComputedStyle(el);
        const scrollsY = style.overflowY === "auto" || style.overflowY === "scroll";
        if (scrollsY && el.scrollHeight > el.clientHeight + 1 && visible(el)) {
          scrolled.push(`${name(el).split(" ")[0]} scrolls (${el.scrollHeight}px of content in ${el.clientHeight}px)`);
        }
      }

      const family = document.querySelector("[data-testid=family]");
      const small = controls
        .filter((el) => el.matches("button, a[href]"))
        .filter((el) => {
          const r = el.getBoundingClientRect();
          const min = family?.contains(el) ? familyTouch : minTouch;
          return r.width < min - 0.5 || r.height < min - 0.5;
        })
        .map((el) => `${name(el)} ${round(el.getBoundingClientRect())}`);

      // A label's text has one client rect per line it takes (icons beside it are not text).
      const navLinks = [...document.querySelectorAll<HTMLElement>("header a[href]")].filter(visible);
      const wrapped = navLinks
        .filter((el) => {
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          const tops = new Set<number>();
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent?.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
          }
          return tops.size > 1;
        })
        .map(name);
      const nav = [...document.querySelectorAll<HTMLElement>('nav[aria-label="Main"] a')].map((a) => a.dataset.testid ?? "");
      return { viewport: { width, height }, outside, scrolled, small, wrapped, nav };
    },
    48,
    80,
    within,
  );
}

/** Fails, naming every problem, unless the current screen fits the window as a kiosk needs. */
async function expectFits(app: App, size: { width: number; height: number }, screen: string, within = "body"): Promise<void> {
  const shot = await app.screenshot(screen);
  const fit = await measure(app, within);
  assert.deepEqual(fit.viewport, size, `the webview does not fill the ${size.width}×${size.height} screen`);
  const problems = [
    ...fit.outside.map((p) => `out of view: ${p}`),
    ...fit.scrolled.map((p) => `scrolls: ${p}`),
    ...fit.small.map((p) => `touch target too small: ${p}`),
    ...fit.wrapped.map((p) => `top-bar label wraps: ${p}`),
  ];
  assert.deepEqual(problems, [], `${screen} does not fit ${size.width}×${size.height} (see ${shot})`);
  assert.ok(!fit.nav.includes("nav-setup"), `the enrolled kiosk's top bar offers Setup (${fit.nav.join(", ")})`);
}

describe("kiosk screens", () => {
  const api = new CentralApi("kiosk-screens", "sunrise-north.facilityadmin1");
  before(() => api.start(), { timeout: 120_000 });
  after(() => api.stop());

  for (const { nurse, ...size } of SIZES) {
    const label = `${size.width}x${size.height}`;
    test(`kiosk screens fit ${label} without scrolling`, { timeout: 240_000 }, async (t) => {
      const display = await startXvfb(size.width, size.height, { windowManager: true });
      t.after(() => display.stop());
      const reader = await lockVirtualReader();
      t.after(() => new Promise<void>((r) => reader.close(() => r())));
      const machine = fakeMachine();
      t.after(() => rmSync(machine, { recursive: true, force: true }));
      const app = await launchApp({
        name: `kiosk-${label}`,
        profile: "kiosk",
        env: { DISPLAY: display.name, TEND_DEBUG_IDENTITY_ROOT: machine, TEND_IDLE_LOCK_SECS: String(IDLE_LOCK_SECS) },
      });
      t.after(() => app.close());

      // The fullscreen window really is the panel's size (openbox honours the request).
      await app.browser.waitUntil(
        async () => {
          const w = appWindow(app.appPid, display.name);
          return w !== null && w.width === size.width && w.height === size.height;
        },
        { timeout: 10_000, interval: 100, timeoutMsg: `the kiosk window is ${JSON.stringify(appWindow(app.appPid, display.name))}` },
      );

      await enroll(app, api);
      await waitForReader(app, "connected");
      await app.waitForText("reader-status", "Badge reader connected");
      await expectFits(app, size, "lock");

      await app.testId("use-password").click();
      await app.waitFor("password-form");
      await expectFits(app, size, "password");
      await app.testId("use-badge").click();
      await waitForPhase(app, "signed_out");

      // Her first badge login: the policy asks for the PIN.
      await tapBadge(nurse.badge);
      await app.waitFor("pin-pad");
      await waitForPhase(app, "pin_required");
      await expectFits(app, size, "pin");

      await enterPin(app, nurse.pin);
      await waitForHash(app, "#/home", "the nurse did not reach her home screen");
      await app.waitFor("idle-warning", IDLE_LOCK_SECS * 1000);
      // A dialog over the nurse's home, which may scroll behind it: the dialog must fit.
      await expectFits(app, size, "idle-warning", "[data-testid=idle-warning]");
      await app.testId("idle-lock").click();
      await waitForHash(app, "#/lock", "Lock now did not lock");
      await waitForPhase(app, "locked");
      await expectFits(app, size, "locked");

      await app.goto("family");
      await app.waitFor("family-visit");
      await expectFits(app, size, "family-welcome");
      await app.testId("family-visit").click();
      await app.waitFor("family-key-1");
      await expectFits(app, size, "family-code");
      // A refused code adds its explanation under the keypad; it still fits.
      for (const digit of "12345678") await app.testId(`family-key-${digit}`).click();
      await app.testId("family-submit").click();
      await app.waitFor("family-code-error", 30_000);
      await expectFits(app, size, "family-code-refused");
    });
  }
});
