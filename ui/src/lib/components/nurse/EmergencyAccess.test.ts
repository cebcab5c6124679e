import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { EmergencyAccess_Serialize as Access, EmergencyChart_Serialize as EmergencyChart } from "$lib/bindings";
import { mockCommands, reject } from "../../../test/ipc";
import EmergencyAccess from "./EmergencyAccess.svelte";

const NOW = new Date("2026-12-05T10:00:00Z");

const GRANT: Access = {
  grant_id: 7,
  resident: {
    id: 41,
    mrn: "MRN-7",
    first_name: "Ada",
    last_name: "Lovelace",
    date_of_birth: "1940-02-03",
    status: "active",
    room: "12B",
  },
  facility_name: "North Campus",
  reason: "Found on our floor after a fall",
  granted_at: "2026-12-05T10:00:00Z",
  expires_at: "2026-12-05T11:00:00Z",
};

const CHART: EmergencyChart = {
  resident: GRANT.resident,
  records: [
    {
      id: "0193a1b2-0000-7000-8000-000000000001",
      author_user_id: 3,
      occurred_at: "2026-12-05T09:30:00Z",
      amends: null,
      body: { kind: "care_note", text: "Allergic to penicillin" },
    },
  ],
};

const FACILITIES = [{ id: 3, name: "North Campus" }];

async function fill(user: ReturnType<typeof userEvent.setup>, reason: string) {
  await user.type(await screen.findByLabelText("Resident's MRN"), "MRN-7");
  await user.type(screen.getByLabelText("Why you need access now"), reason);
  await user.click(screen.getByTestId("emergency-open"));
}

describe("EmergencyAccess", () => {
  it("checks the reason before asking the server", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({ emergency_facilities: FACILITIES });
    render(EmergencyAccess, { now: () => NOW });
    await fill(user, "urgent");
    expect(screen.getByText(/State why you need access, in 10 to 500 characters/)).toBeInTheDocument();
    expect(screen.getByLabelText("Why you need access now")).toHaveAttribute("aria-invalid", "true");
    expect(calls).not.toContain("open_emergency_access");
  });

  it("opens the resident with a banner, counts down, and shows the records from the server", async () => {
    const user = userEvent.setup();
    const asked: Record<string, unknown>[] = [];
    const calls = mockCommands({
      emergency_facilities: FACILITIES,
      open_emergency_access: (args: Record<string, unknown>) => {
        asked.push(args);
        return GRANT;
      },
      emergency_chart: CHART,
    });
    render(EmergencyAccess, { now: () => NOW });
    await fill(user, "Found on our floor after a fall");
    expect(asked).toEqual([{ facilityId: 3, mrn: "MRN-7", reason: "Found on our floor after a fall" }]);
    const banner = await screen.findByTestId("emergency-banner");
    expect(banner).toHaveAttribute("role", "status");
    expect(banner).toHaveTextContent(/Emergency access — ends at \d\d:\d\d, audited/);
    expect(screen.getByTestId("emergency-countdown")).toHaveTextContent("1:00:00");
    expect(screen.getByRole("heading", { name: "Ada Lovelace" })).toBeInTheDocument();
    expect(await screen.findByTestId("emergency-records")).toHaveTextContent("Allergic to penicillin");
    expect(calls).toContain("emergency_chart");
  });

  it("closes with a message when access has ended", async () => {
    const user = userEvent.setup();
    mockCommands({
      emergency_facilities: FACILITIES,
      open_emergency_access: GRANT,
      emergency_chart: reject("NOT_FOUND", "not found"),
    });
    render(EmergencyAccess, { now: () => NOW });
    await fill(user, "Found on our floor after a fall");
    expect(await screen.findByTestId("emergency-ended")).toHaveTextContent("Emergency access has ended");
    expect(screen.queryByTestId("emergency-banner")).not.toBeInTheDocument();
    expect(screen.queryByText("Ada Lovelace")).not.toBeInTheDocument();
  });

  it("says so when there is no such resident, without naming other organizations", async () => {
    const user = userEvent.setup();
    mockCommands({
      emergency_facilities: FACILITIES,
      open_emergency_access: reject("NOT_FOUND", "not found"),
    });
    render(EmergencyAccess, { now: () => NOW });
    await fill(user, "Found on our floor after a fall");
    expect(await screen.findByTestId("emergency-error")).toHaveTextContent("No resident with this MRN in that facility");
  });
});
