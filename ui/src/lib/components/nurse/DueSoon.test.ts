import { emit } from "@tauri-apps/api/event";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { formatClock } from "$lib/nurse";
import type { DueFollowUp, LocalRecord } from "$lib/nurse-types";
import { mockCommands, reject } from "../../../test/ipc";
import DueSoon from "./DueSoon.svelte";

const MINUTE = 60_000;
const NOW = Date.now();

function due(overrides: Partial<DueFollowUp>): DueFollowUp {
  return {
    administration_id: "0190a1b2-0000-7000-8000-000000000001",
    patient_id: 12,
    first_name: "Agnes",
    last_name: "Moore",
    room: "104B",
    medication: "Acetaminophen",
    dose: "500 mg",
    given_at: new Date(NOW - 90 * MINUTE).toISOString(),
    due_at: new Date(NOW - 30 * MINUTE).toISOString(),
    overdue: true,
    sync_state: "synced",
    ...overrides,
  };
}

const OVERDUE = due({});
const SOON = due({
  administration_id: "0190a1b2-0000-7000-8000-000000000002",
  patient_id: 13,
  first_name: "Bertram",
  last_name: "Ng",
  room: null,
  medication: "Lorazepam",
  dose: "0.5 mg",
  given_at: new Date(NOW - 10 * MINUTE).toISOString(),
  due_at: new Date(NOW + 50 * MINUTE).toISOString(),
  overdue: false,
  sync_state: "pending",
});

describe("DueSoon", () => {
  it("lists due and overdue follow-ups, most urgent first, each linking to its resident", async () => {
    mockCommands({ due_follow_ups: [OVERDUE, SOON] });
    render(DueSoon);
    const items = await screen.findAllByTestId("due-item");
    expect(items).toHaveLength(2);
    const [overdue, soon] = items as [HTMLElement, HTMLElement];
    expect(overdue).toHaveTextContent("104B");
    expect(overdue).toHaveTextContent("PRN Acetaminophen 500 mg");
    expect(overdue).toHaveTextContent(`Effectiveness overdue since ${formatClock(OVERDUE.due_at)}`);
    expect(overdue).toHaveAttribute("data-overdue", "true");
    expect(within(overdue).getByRole("link", { name: "Agnes Moore" })).toHaveAttribute("href", "#/patients/12");
    expect(soon).toHaveTextContent(`Effectiveness due at ${formatClock(SOON.due_at)}`);
    expect(soon).toHaveTextContent("(waiting to sync)");
    expect(soon).toHaveTextContent("—");
    expect(within(soon).getByRole("link", { name: "Bertram Ng" })).toHaveAttribute("href", "#/patients/13");
  });

  it("says when nothing is due", async () => {
    mockCommands({ due_follow_ups: [] });
    render(DueSoon);
    expect(await screen.findByRole("heading", { name: "Nothing due" })).toBeInTheDocument();
  });

  it("shows loading words until the device answers", async () => {
    mockCommands({ due_follow_ups: () => new Promise(() => undefined) });
    render(DueSoon);
    expect(await screen.findByText("Checking what is due…")).toBeInTheDocument();
  });

  it("says when the list can't be read, and tries again on request", async () => {
    let fail = true;
    mockCommands({ due_follow_ups: () => (fail ? reject("STORAGE_UNAVAILABLE", "EIO") : [SOON]) });
    render(DueSoon);
    const alert = await screen.findByTestId("due-error");
    expect(alert).toHaveTextContent("What is due couldn't be loaded");
    expect(alert).toHaveTextContent("can't read or save its data");
    fail = false;
    await userEvent.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("due-item")).toHaveTextContent("Lorazepam");
  });

  it("reloads when sync reports in, so a dose written or synced elsewhere shows up", async () => {
    let answer: DueFollowUp[] = [];
    mockCommands({ due_follow_ups: () => answer });
    render(DueSoon);
    await screen.findByRole("heading", { name: "Nothing due" });
    answer = [SOON];
    await emit("sync-status-changed", { online: false, syncing: false, pending: 1 });
    expect(await screen.findByTestId("due-item")).toHaveTextContent("Lorazepam");
  });

  it("records the effectiveness right here and drops the dose from the list", async () => {
    const writes: Record<string, unknown>[] = [];
    let answer = [OVERDUE, SOON];
    mockCommands({
      due_follow_ups: () => answer,
      write_record: (args: Record<string, unknown>) => {
        writes.push(args);
        answer = [SOON];
        const record: LocalRecord = {
          id: "0190a1b2-0000-7000-8000-0000000000ff",
          patient_id: 12,
          author_user_id: 7,
          recorded_at: new Date().toISOString(),
          occurred_at: null,
          amends: OVERDUE.administration_id,
          correction_reason: null,
          author_name: null,
          body: { kind: "prn_follow_up", effectiveness: "effective", note: null },
          written_here: true,
          sync_state: "pending",
          rejection: null,
        };
        return record;
      },
    });
    render(DueSoon);
    const first = (await screen.findAllByTestId("due-item"))[0]!;
    await userEvent.click(within(first).getByRole("button", { name: "Record effectiveness of Acetaminophen for Agnes Moore" }));
    const form = within(first).getByTestId("form-prn_follow_up");
    await userEvent.click(within(form).getByRole("button", { name: "Save follow-up" }));
    expect(within(form).getByTestId("error-body.effectiveness")).toHaveTextContent("Choose how well it worked");
    expect(writes).toHaveLength(0);
    await userEvent.click(within(form).getByLabelText("Effective"));
    await userEvent.click(within(form).getByRole("button", { name: "Save follow-up" }));

    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]).toEqual({
      patientId: 12,
      amends: OVERDUE.administration_id,
      correctionReason: null,
      body: { kind: "prn_follow_up", effectiveness: "effective", note: null },
    });
    await waitFor(() => expect(screen.getAllByTestId("due-item")).toHaveLength(1));
    expect(screen.getByTestId("due-item")).toHaveTextContent("Lorazepam");
    expect(screen.getByTestId("due-saved")).toHaveTextContent("Effectiveness of Acetaminophen for Agnes Moore saved on this device");
  });

  it("closes the form on cancel without writing anything", async () => {
    const calls = mockCommands({ due_follow_ups: [SOON] });
    render(DueSoon);
    const item = await screen.findByTestId("due-item");
    await userEvent.click(within(item).getByRole("button", { name: /Record effectiveness/ }));
    await userEvent.click(within(item).getByRole("button", { name: "Cancel" }));
    expect(within(item).queryByTestId("form-prn_follow_up")).not.toBeInTheDocument();
    expect(calls).not.toContain("write_record");
  });
});
