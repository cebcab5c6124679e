import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { SessionState } from "$lib/bindings";
import { mockCommands } from "../test/ipc";
import HomeScreen from "./HomeScreen.svelte";

const ACTIVE: SessionState = {
  phase: "active",
  idle_warning: false,
  user: { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" },
  failure: null,
  idle_lock_ms: 120_000,
};

describe("HomeScreen", () => {
  it("shows who is signed in and locks on request", async () => {
    const calls = mockCommands({
      session_state: ACTIVE,
      reader_status: "connected",
      lock_now: { ...ACTIVE, phase: "locked" },
    });
    render(HomeScreen);
    expect(await screen.findByTestId("home-signed-in")).toHaveTextContent("Ada Nightingale");
    await userEvent.click(screen.getByTestId("home-lock"));
    await waitFor(() => expect(calls).toContain("lock_now"));
    expect(await screen.findByTestId("home-signed-out")).toBeInTheDocument();
  });

  it("signs out", async () => {
    const calls = mockCommands({
      session_state: ACTIVE,
      reader_status: "connected",
      logout: { phase: "signed_out", user: null, failure: null, idle_lock_ms: 120_000 },
    });
    render(HomeScreen);
    await userEvent.click(await screen.findByTestId("home-logout"));
    await waitFor(() => expect(calls).toContain("logout"));
  });
});
