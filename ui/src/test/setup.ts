// Runs before every test file: DOM matchers, and a clean Tauri mock and URL per test.
import "@testing-library/jest-dom/vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach } from "vitest";

afterEach(() => {
  clearMocks();
  window.history.replaceState(null, "", "/");
  delete document.documentElement.dataset.profile;
});
