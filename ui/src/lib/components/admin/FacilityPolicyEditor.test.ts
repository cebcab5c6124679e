import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { POLICY_GROUPS } from "$lib/admin-directory";
import { mockCommands, reject } from "../../../test/ipc";
import { facilityDetail } from "../../../test/fixtures";
import FacilityPolicyEditor from "./FacilityPolicyEditor.svelte";

const NORTH = facilityDetail();

describe("FacilityPolicyEditor", () => {
  it("shows the full editor's policy part, every number from the facility, and nothing else", () => {
    mockCommands({});
    render(FacilityPolicyEditor, { facility: NORTH, onsaved: vi.fn(), oncancel: vi.fn() });
    const policy = screen.getByTestId("facility-policy");
    expect(screen.getByRole("group", { name: "Policy" })).toBe(policy);
    for (const group of POLICY_GROUPS) {
      expect(within(policy).getByRole("group", { name: group.title })).toBeInTheDocument();
      for (const field of group.fields) {
        expect(within(policy).getByLabelText(`${field.label} (${field.unit})`)).toHaveValue(String(NORTH.policy[field.key]));
      }
    }
    expect(within(policy).getByLabelText("Idle lock on wall kiosks (seconds)")).toHaveAccessibleDescription(/From 60 to 3600 seconds/);
    expect(screen.queryByLabelText("Facility name")).toBeNull();
    expect(screen.queryByTestId("facility-protection")).toBeNull();
  });

  it("says in words when the server refuses the save, and keeps the numbers typed", async () => {
    const user = userEvent.setup();
    mockCommands({ admin_save_facility_policy: reject("FORBIDDEN", "this needs an administrator of the facility") });
    const onsaved = vi.fn();
    render(FacilityPolicyEditor, { facility: NORTH, onsaved, oncancel: vi.fn() });
    const handoff = screen.getByLabelText("Hand-off window (hours)");
    await user.clear(handoff);
    await user.type(handoff, "8");
    await user.click(screen.getByTestId("policy-save"));
    const alert = await screen.findByTestId("policy-error");
    expect(alert).toHaveTextContent("The policy wasn't saved");
    expect(alert).toHaveTextContent("You don't have permission to do that");
    expect(handoff).toHaveValue("8");
    expect(onsaved).not.toHaveBeenCalled();
  });

  it("cancels without saving", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({});
    const oncancel = vi.fn();
    render(FacilityPolicyEditor, { facility: NORTH, onsaved: vi.fn(), oncancel });
    await user.click(screen.getByTestId("policy-cancel"));
    expect(oncancel).toHaveBeenCalledOnce();
    expect(calls).toEqual([]);
  });
});
