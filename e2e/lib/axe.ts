// Accessibility checks in the real app window: axe-core (the engine behind most
// WCAG audits) injected into the WebKitGTK page and run against WCAG 2.0–2.2 A/AA
// rules, including colour contrast, which only a real renderer can compute. A
// violation fails the journey with the rule, its impact and the offending elements.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { App } from "./app.ts";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The WCAG levels Tend commits to (2.2 AA and everything below it). */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Runs axe on the current screen; fails with a readable list of violations. */
export async function expectAccessible(app: App, screen: string): Promise<void> {
  // The app's CSP forbids eval, so axe is injected as a WebDriver script of its own
  // (the automation evaluates it, not the page).
  const loaded = await app.browser.execute(() => "axe" in window);
  if (!loaded) await app.browser.execute(axeSource);
  const violations = (await app.browser.executeAsync((tags: string[], done: (v: unknown) => void) => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: unknown[] }> } }).axe;
    axe
      .run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] })
      .then((r) => done(r.violations))
      .catch((e: Error) => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));
  }, WCAG_TAGS)) as Violation[];
  const report = violations
    .map((v) => `- ${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary ?? ""}`).join("\n")}`)
    .join("\n");
  assert.equal(violations.length, 0, `accessibility violations on ${screen}:\n${report}`);
}

/**
 * WCAG 1.4.4: text resized to 200 % must stay readable without horizontal scrolling.
 * Doubles the root font size, checks nothing overflows the window sideways, restores it.
 */
export async function expectReadableAt200Percent(app: App, screen: string): Promise<void> {
  const overflow = await app.browser.execute(() => {
    const root = document.documentElement;
    const before = root.style.fontSize;
    root.style.fontSize = "200%";
    const width = window.innerWidth;
    // Data tables may scroll inside their own box (WCAG 1.4.10 exempts two-dimensional
    // content); the page itself must not.
    const contained = (el: HTMLElement): boolean => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const overflow = getComputedStyle(a).overflowX;
        if ((overflow === "auto" || overflow === "scroll" || overflow === "hidden") && a.getBoundingClientRect().right <= width + 1) return true;
      }
      return false;
    };
    const offenders = [...document.querySelectorAll<HTMLElement>("body *")]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > width + 1 && getComputedStyle(el).position !== "fixed" && !contained(el);
      })
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : ""}.${el.className}`);
    const scrolls = root.scrollWidth > root.clientWidth + 1;
    if (scrolls && offenders.length === 0) {
      // Name the widest boxes, so a failure says where to look.
      offenders.push(
        `page ${root.scrollWidth}px wide in a ${root.clientWidth}px window;`,
        ...[...document.querySelectorAll<HTMLElement>("body *")]
          .filter((el) => Math.abs(el.getBoundingClientRect().right - root.scrollWidth) < 4)
          .slice(0, 4)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className} (right ${Math.round(el.getBoundingClientRect().right)}px)`),
      );
    }
    root.style.fontSize = before;
    return { scrolls, offenders };
  });
  assert.ok(!overflow.scrolls && overflow.offenders.length === 0, `${screen} at 200 % text overflows sideways: ${overflow.offenders.join(", ")}`);
}
