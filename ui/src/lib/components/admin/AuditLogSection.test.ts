import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type {
  AuditChainLine_Serialize as AuditChainLine,
  AuditChainSummary_Serialize as AuditChainSummary,
  FacilitySummary,
} from "$lib/bindings";
import { chainVerdict } from "$lib/audit";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import { mockCommands, reject } from "../../../test/ipc";
import AuditLogSection from "./AuditLogSection.svelte";

const FACILITIES: FacilitySummary[] = [{ id: 10, organization_id: 1, name: "Maple Grove SNF", facility_type: "SNF", is_active: true, timezone: "America/New_York" }];

const INTACT: AuditChainLine = {
  organization_id: 1,
  verified_at: "2026-12-05T03:17:00Z",
  intact: true,
  events_checked: 1204,
  last_event_id: 5521,
  broken_event_id: null,
  broken_seq: null,
  problem: null,
  from_console: false,
};

const BROKEN: AuditChainLine = {
  ...INTACT,
  intact: false,
  events_checked: 40,
  last_event_id: 88,
  broken_event_id: 91,
  broken_seq: 41,
  problem: "the event's content does not match its hash (edited or swapped)",
  from_console: true,
};

function mount(extra: Record<string, unknown> = {}) {
  const onunauthorized = vi.fn(() => false);
  const calls = mockCommands({
    admin_audit_log: { items: [], next_cursor: null },
    admin_audit_chain: { chains: [INTACT], can_verify: false } satisfies AuditChainSummary,
    ...extra,
  });
  render(AuditLogSection, { facilityId: 10, facilities: FACILITIES, canSeeAllFacilities: true, onunauthorized });
  return { calls, onunauthorized };
}

describe("AuditLogSection: tamper check and export", () => {
  it("says when the chain was last checked and that it was intact", async () => {
    mount();
    const line = await screen.findByTestId("audit-chain-line");
    expect(line).toHaveTextContent("intact, 1,204 events checked through event #5521");
    expect(line).toHaveAttribute("data-intact", "true");
    // A facility administrator may look but not start a check.
    expect(screen.queryByTestId("audit-chain-verify")).toBeNull();
    expect(within(screen.getByTestId("audit-chain")).getByRole("heading", { name: "Tamper check" })).toBeInTheDocument();
  });

  it("runs a check on request and names the first broken event", async () => {
    const user = userEvent.setup();
    const { calls } = mount({
      admin_audit_chain: { chains: [], can_verify: true },
      admin_verify_audit_chain: { chains: [BROKEN], can_verify: true },
    });
    expect(await screen.findByTestId("audit-chain-never")).toHaveTextContent("has not been checked");
    await user.click(screen.getByRole("button", { name: "Check now" }));
    const line = await screen.findByTestId("audit-chain-line");
    expect(line).toHaveAttribute("data-intact", "false");
    expect(line).toHaveTextContent("broken at event #91: the event's content does not match its hash");
    expect(line).toHaveTextContent("from the console");
    expect(calls).toContain("admin_verify_audit_chain");
  });

  it("words a deleted event by its position", () => {
    expect(chainVerdict({ ...BROKEN, broken_event_id: null, broken_seq: 7, problem: "events are missing" })).toBe(
      "broken at a missing event (position 7): events are missing",
    );
    expect(chainVerdict({ ...INTACT, events_checked: 1, last_event_id: null })).toBe("intact, 1 event checked");
  });

  it("saves the filtered log as CSV and says where", async () => {
    const user = userEvent.setup();
    const queries: unknown[] = [];
    mount({
      admin_export_audit_csv: (args: Record<string, unknown>) => {
        queries.push(args.query);
        return { path: "/home/admin/Downloads/tend-audit-all-20261205-031700.csv", truncated: true };
      },
    });
    await screen.findByTestId("audit-chain-line");
    await user.selectOptions(screen.getByTestId("audit-scope"), "all");
    await user.selectOptions(screen.getByTestId("audit-family"), "auth.");
    await user.click(screen.getByRole("button", { name: "Download CSV for an auditor" }));
    const status = await screen.findByText(/Saved these events to/);
    expect(status).toHaveTextContent("/home/admin/Downloads/tend-audit-all-20261205-031700.csv");
    expect(status).toHaveTextContent("stopped at 10,000 events");
    expect(screen.getByTestId("audit-export-status")).toHaveAttribute("role", "status");
    expect(queries).toEqual([
      { facility_id: null, actor_user_id: null, action_prefix: "auth.", cross_facility_only: false, cursor: null },
    ]);
  });

  it("explains a failed export and offers to try again", async () => {
    const user = userEvent.setup();
    mount({ admin_export_audit_csv: reject("OFFLINE", "the server can't be reached") });
    await screen.findByTestId("audit-chain-line");
    await user.click(screen.getByTestId("audit-export"));
    expect(await screen.findByTestId("audit-export-error")).toHaveTextContent("The CSV couldn't be saved");
  });
});

describe("AuditLogSection in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("words the filters, the events and their times in Spanish, in the facility's time zone, keeping the raw action code", async () => {
    setDeviceLanguage("es");
    setTimeZone("America/New_York");
    mount({
      admin_audit_log: {
        items: [
          {
            id: 1,
            at: "2026-12-05T03:17:00Z",
            actor_user_id: null,
            actor_name: null,
            actor_device_id: 4,
            facility_id: null,
            facility_name: null,
            action: "facility.census.update",
            resource_type: "facility",
            resource_id: 10,
            denied: true,
            cross_facility: true,
            reason: null,
          },
        ],
        next_cursor: null,
      },
    });
    expect(await screen.findByRole("heading", { name: "Control de alteraciones" })).toBeInTheDocument();
    // 03:17 UTC is 10:17 PM the evening before in New York.
    expect(await screen.findByTestId("audit-chain-line")).toHaveTextContent(
      "Última revisión: 4 dic, 10:17 p.m. — intacta, 1,204 eventos verificados hasta el evento n.º 5521",
    );
    expect(screen.getByLabelText("Qué")).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "Inicios y cierres de sesión" })).toBeInTheDocument();
    const row = await screen.findByTestId("audit-row");
    expect(within(row).getAllByRole("cell")[0]).toHaveTextContent("4 dic, 10:17 p.m.");
    expect(row).toHaveTextContent("Actualizó el censo");
    expect(row).toHaveTextContent("facility.census.update · facility #10");
    expect(row).toHaveTextContent("Dispositivo n.º 4");
    expect(row).toHaveTextContent("Rechazado");
    expect(row).toHaveTextContent("Toda la organización");
    expect(within(row).getByTestId("cross-facility-tag")).toHaveTextContent("Acceso entre centros");
    expect(screen.getByRole("button", { name: "Descargar CSV para un auditor" })).toBeInTheDocument();
  });
});
