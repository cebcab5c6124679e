import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { events } from "$lib/bindings";
import type { HandoffNote } from "$lib/nurse-types";
import { mockCommands, reject } from "../../../test/ipc";
import HandoffNotes from "./HandoffNotes.svelte";

const NOTE: HandoffNote = {
  record_id: "0190a4b2-0000-7000-8000-000000000001",
  patient_id: 12,
  first_name: "Agnes",
  last_name: "Moore",
  room: "104",
  text: "Ate all of breakfast.\nWalked to the garden.",
  author_name: "Ruth Torres",
  written_at: new Date().toISOString(),
  sync_state: "synced",
};

describe("HandoffNotes", () => {
  it("lists colleagues' notes with the resident, the author and a link", async () => {
    mockCommands({ handoff_notes: [NOTE, { ...NOTE, record_id: "2", author_name: null, sync_state: "pending", room: null }] });
    render(HandoffNotes);
    const notes = await screen.findAllByTestId("handoff-note");
    expect(notes).toHaveLength(2);
    expect(notes[0]!).toHaveTextContent("104");
    expect(notes[0]!).toHaveTextContent("Ate all of breakfast.");
    expect(notes[0]!).toHaveTextContent("Ruth Torres");
    expect(within(notes[0]!).getByRole("link", { name: "Agnes Moore" })).toHaveAttribute("href", "#/patients/12");
    expect(notes[1]!).toHaveTextContent("A former colleague");
    expect(notes[1]!).toHaveTextContent("waiting to sync");
  });

  it("says when the last shift left nothing", async () => {
    mockCommands({ handoff_notes: [] });
    render(HandoffNotes);
    expect(await screen.findByText("No notes from the last shift")).toBeInTheDocument();
  });

  it("explains a failure, retries, and reloads when sync reports in", async () => {
    const user = userEvent.setup();
    let answer: unknown = reject("STORAGE_UNAVAILABLE", "EIO");
    const calls = mockCommands({ handoff_notes: () => answer });
    render(HandoffNotes);
    expect(await screen.findByTestId("handoff-error")).toHaveTextContent("Hand-off notes couldn't be loaded");
    answer = [];
    await user.click(within(screen.getByTestId("handoff-error")).getByRole("button"));
    expect(await screen.findByText("No notes from the last shift")).toBeInTheDocument();
    answer = [NOTE];
    const before = calls.filter((c) => c === "handoff_notes").length;
    await events.syncStatusChanged.emit({
      online: true, syncing: false, last_sync: null, pending: 0, oldest_pending_since: null,
      rejected: 0, initial_sync: null, last_error: null, update_needed: false,
    } as never);
    expect(await screen.findByText(/Ate all of breakfast/)).toBeInTheDocument();
    expect(calls.filter((c) => c === "handoff_notes").length).toBeGreaterThan(before);
  });
});
