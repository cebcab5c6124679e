import { afterEach, describe, expect, it } from "vitest";
import { HashRouter } from "./router.svelte";

describe("HashRouter.replaceFrom", () => {
  afterEach(() => window.history.replaceState(null, "", "#/"));

  it("redirects from the start page", () => {
    window.history.replaceState(null, "", "#/");
    const router = new HashRouter();
    expect(router.replaceFrom("/", "/setup")).toBe(true);
    expect(router.path).toBe("/setup");
    expect(window.location.hash).toBe("#/setup");
    router.destroy();
  });

  it("leaves a navigation already made alone, even before its hashchange is handled", () => {
    window.history.replaceState(null, "", "#/");
    const router = new HashRouter();
    // Someone went to About; the hashchange event has not reached the router yet.
    window.history.replaceState(null, "", "#/about");
    expect(router.path).toBe("/");
    expect(router.replaceFrom("/", "/setup")).toBe(false);
    expect(router.path).toBe("/about");
    expect(window.location.hash).toBe("#/about");
    router.destroy();
  });
});
