import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FacilitySummary, Resident_Serialize as Resident } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { mockCommands, Rejection } from "../../../test/ipc";
import ResidentsSection from "./ResidentsSection.svelte";

const FACILITIES: FacilitySummary[] = [
  { id: 10, organization_id: 1, name: "Maple Grove SNF", facility_type: "SNF", is_active: true, timezone: "America/New_York" },
  { id: 11, organization_id: 1, name: "Oak Hill ALF", facility_type: "ALF", is_active: true, timezone: "America/Chicago" },
];

const ADA: Resident = {
  id: 5,
  facility_id: 10,
  mrn: "MRN-5",
  first_name: "Ada",
  last_name: "Byrne",
  date_of_birth: "1941-02-03",
  status: "active",
  room: "12B",
  admitted_at: "2026-12-01T05:00:00Z",
  discharged_at: null,
  allergies: "Penicillin",
  code_status: "dnr",
  diet: null,
  fall_risk: "high",
  emergency_contact: { name: "Cora Byrne", relationship: "Daughter", phone: "503 555 0142" },
  version: 3,
};

function show(canTransfer = true) {
  return render(ResidentsSection, { facilityId: 10, facilities: FACILITIES, canTransfer, onunauthorized: vi.fn() });
}

describe("ResidentsSection", () => {
  it("admits a resident with the care details and marks what the server refused", async () => {
    const user = userEvent.setup();
    const sent: Record<string, unknown>[] = [];
    let attempt = 0;
    mockCommands({
      admin_residents: [],
      admin_admit_resident: (args: Record<string, unknown>) => {
        sent.push(args);
        attempt += 1;
        if (attempt === 1) {
          return new Rejection({ code: "VALIDATION_FAILED", message: "invalid", fields: { "emergency_contact.phone": ["must be a telephone number"] } });
        }
        return { ...ADA, id: 6, mrn: "MRN-6" };
      },
    });
    show();
    await user.click(await screen.findByTestId("resident-admit"));
    await user.type(screen.getByLabelText("First name"), "Ada");
    await user.type(screen.getByLabelText("Last name"), "Byrne");
    await user.type(screen.getByLabelText("Medical record number (MRN)"), "MRN-6");
    await user.type(screen.getByLabelText("Date of birth"), "1941-02-03");
    await user.type(screen.getByLabelText(/^Allergies/), "Penicillin");
    await user.selectOptions(screen.getByLabelText("Code status"), "DNR (do not resuscitate)");
    await user.selectOptions(screen.getByLabelText("Fall risk"), "High");
    await user.type(screen.getByLabelText("Name"), "Cora Byrne");
    await user.type(screen.getByLabelText("Telephone"), "call me");
    await user.click(screen.getByTestId("resident-save"));
    expect(await screen.findByTestId("resident-contact-phone-error")).toHaveTextContent("must be a telephone number");
    expect(screen.getByTestId("resident-error-summary")).toHaveTextContent("Nothing was saved");
    const draft = sent[0]!.draft as Record<string, unknown>;
    expect(sent[0]!.facilityId).toBe(10);
    expect(draft).toMatchObject({ first_name: "Ada", code_status: "dnr", fall_risk: "high", allergies: "Penicillin", contact_name: "Cora Byrne" });

    await user.clear(screen.getByLabelText("Telephone"));
    await user.type(screen.getByLabelText("Telephone"), "503 555 0142");
    await user.click(screen.getByTestId("resident-save"));
    expect(await screen.findByTestId("residents-notice")).toHaveTextContent("Ada Byrne is admitted.");
  });

  it("shows both versions after a stale edit and saves the values the person chose", async () => {
    const user = userEvent.setup();
    const edits: Record<string, unknown>[] = [];
    const theirs: Resident = { ...ADA, allergies: "Penicillin, sulfa", version: 4 };
    mockCommands({
      admin_residents: [ADA],
      admin_edit_resident: (args: Record<string, unknown>) => {
        edits.push(args);
        if (edits.length === 1) return { outcome: "conflict", current: theirs };
        return { outcome: "saved", resident: { ...theirs, room: "14A", version: 5 } };
      },
    });
    show();
    await user.click(await screen.findByTestId("resident-edit-MRN-5"));
    const room = screen.getByLabelText("Room (optional)");
    await user.clear(room);
    await user.type(room, "14A");
    await user.click(screen.getByTestId("resident-save"));

    const conflict = await screen.findByTestId("resident-conflict");
    expect(conflict).toHaveTextContent("Someone changed this resident while you were editing");
    // The room (changed here) and the allergies (changed there) differ; nothing else.
    const rows = within(conflict).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getByRole("rowheader").textContent)).toEqual(["Room", "Allergies"]);
    expect(within(screen.getByTestId("resident-conflict-allergies")).getByText("Penicillin, sulfa")).toBeInTheDocument();
    // Keep my room, take their allergies.
    await user.click(screen.getByTestId("resident-keep-theirs-allergies"));
    await user.click(screen.getByTestId("resident-conflict-save"));
    expect(await screen.findByTestId("residents-notice")).toHaveTextContent("Ada Byrne's details are saved.");
    expect(edits[1]).toMatchObject({
      resident: { id: 5, facility_id: 10, version: 4 },
      draft: { room: "14A", allergies: "Penicillin, sulfa" },
    });
  });

  it("discharges on a date and moves a resident to another facility", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({
      admin_residents: [ADA],
      admin_discharge_resident: (args: Record<string, unknown>) => {
        expect(args).toMatchObject({ resident: { id: 5, version: 3 }, departure: "deceased", date: "2026-12-03" });
        return { outcome: "saved", resident: { ...ADA, status: "deceased", version: 4 } };
      },
      admin_transfer_resident: (args: Record<string, unknown>) => {
        expect(args).toMatchObject({ resident: { id: 5 }, facilityId: 11 });
        return { outcome: "saved", resident: { ...ADA, facility_id: 11, version: 5 } };
      },
    });
    show();
    await user.click(await screen.findByTestId("resident-discharge-MRN-5"));
    await user.click(screen.getByTestId("discharge-deceased"));
    const date = screen.getByLabelText("Date of death");
    await user.clear(date);
    await user.type(date, "2026-12-03");
    await user.click(screen.getByTestId("discharge-save"));
    expect(await screen.findByTestId("residents-notice")).toHaveTextContent("Ada Byrne is recorded as deceased.");

    await user.click(await screen.findByTestId("resident-transfer-MRN-5"));
    expect(screen.getByLabelText("Destination facility")).toHaveValue("11");
    await user.click(screen.getByTestId("transfer-save"));
    expect(await screen.findByTestId("residents-notice")).toHaveTextContent("moved to Oak Hill ALF. Both facilities' audit logs show the move.");
    expect(calls).toContain("admin_transfer_resident");
  });

  it("offers moving only to organization administrators and hides discharged residents until asked", async () => {
    const user = userEvent.setup();
    mockCommands({ admin_residents: [ADA, { ...ADA, id: 6, mrn: "MRN-6", first_name: "Bo", status: "discharged" }] });
    show(false);
    await screen.findByTestId("resident-row-MRN-5");
    expect(screen.queryByTestId("resident-transfer-MRN-5")).not.toBeInTheDocument();
    expect(screen.queryByTestId("resident-row-MRN-6")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("residents-show-discharged"));
    expect(screen.getByTestId("resident-row-MRN-6")).toHaveTextContent("Discharged");
    expect(screen.queryByTestId("resident-edit-MRN-6")).not.toBeInTheDocument();
  });
});

describe("ResidentsSection in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names the list's columns, statuses and actions in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ admin_residents: [ADA, { ...ADA, id: 6, mrn: "MRN-6", first_name: "Bo", code_status: null, status: "on_leave" }] });
    show();
    const table = await screen.findByTestId("residents-table");
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual([
      "Nombre",
      "Habitación",
      "MRN",
      "Estado",
      "Estado de reanimación",
      "Acciones",
    ]);
    const ada = screen.getByTestId("resident-row-MRN-5");
    expect(ada).toHaveTextContent("En el centro");
    expect(ada).toHaveTextContent("No reanimar (DNR)");
    expect(screen.getByTestId("resident-row-MRN-6")).toHaveTextContent("De permiso");
    expect(screen.getByTestId("resident-row-MRN-6")).toHaveTextContent("Sin registrar");
    expect(within(ada).getByRole("button", { name: "Dar de alta a Ada Byrne" })).toHaveTextContent("Dar de alta");
    expect(within(ada).getByRole("button", { name: "Trasladar a Ada Byrne a otro centro" })).toHaveTextContent("Trasladar");
    expect(screen.getByTestId("resident-admit")).toHaveTextContent("Ingresar a un residente");
    expect(screen.getByLabelText("Buscar un residente")).toHaveAttribute("placeholder", "Nombre, habitación o MRN");
  });

  it("says in Spanish that a move met someone else's change, and confirms a move", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    let moves = 0;
    mockCommands({
      admin_residents: [ADA],
      admin_transfer_resident: () => {
        moves += 1;
        if (moves === 1) return { outcome: "conflict", current: { ...ADA, version: 4 } };
        return { outcome: "saved", resident: { ...ADA, facility_id: 11, version: 5 } };
      },
    });
    show();
    await user.click(await screen.findByTestId("resident-transfer-MRN-5"));
    expect(screen.getByRole("heading", { name: "Trasladar a Ada Byrne a otro centro" })).toBeInTheDocument();
    expect(screen.getByLabelText("Centro de destino")).toHaveValue("11");
    await user.click(screen.getByTestId("transfer-save"));
    const refused = await screen.findByTestId("transfer-error");
    expect(refused).toHaveTextContent("No se trasladó al residente");
    expect(refused).toHaveTextContent("Alguien cambió los datos de este residente mientras tanto. No se trasladó nada; intente de nuevo.");
    await user.click(screen.getByTestId("transfer-save"));
    expect(await screen.findByTestId("residents-notice")).toHaveTextContent(
      "Ada Byrne se trasladó a Oak Hill ALF. Los registros de auditoría de ambos centros muestran el traslado.",
    );
  });
});
