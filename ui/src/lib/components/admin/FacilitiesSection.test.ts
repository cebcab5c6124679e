import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DOMAIN_RULES,
  type AdminUser,
  type AppError,
  type FacilitySummary,
  type OrganizationDetail_Serialize,
} from "$lib/bindings";
import { DEFAULT_POLICY, mockCommands, reject, Rejection } from "../../../test/ipc";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { facilityDetail } from "../../../test/fixtures";
import FacilitiesSection from "./FacilitiesSection.svelte";

function admin(role: AdminUser["role"]): AdminUser {
  return {
    user_id: 7,
    username: "kim",
    full_name: "Kim Admin",
    role,
    organization_id: 1,
    facility_id: 10,
    server_url: "https://tend.example.org",
    expires_at: "2030-01-01T00:00:00Z",
  };
}

const ORG: OrganizationDetail_Serialize = {
  id: 1,
  name: "Sunrise Senior Living Inc",
  organization_type: "ALF_OPERATOR",
  npi: "1542013375",
  tax_id: "41-2938471",
  state_license_number: null,
  license_state: "MN",
  is_active: true,
  facility_count: null,
};

const FACILITIES: FacilitySummary[] = [
  { id: 10, organization_id: 1, name: "Sunrise ALF - North Campus", facility_type: "ALF", is_active: true, timezone: "America/Chicago" },
];

const NORTH = facilityDetail({
  medicare_provider_number: "245001",
  address: "1200 County Road E",
  features: { family_portal: true, future_feature: true },
  policy: DEFAULT_POLICY,
});

/** A refusal naming fields, the way Rust's AppError carries them. */
function fieldsError(code: AppError["code"], fields: Record<string, string[]>): Rejection {
  return new Rejection({ code, message: "some fields are not valid", fields });
}

describe("FacilitiesSection", () => {
  it("shows an organization administrator their organization read-only and lets them add a facility", async () => {
    const user = userEvent.setup();
    const saved: Record<string, unknown>[] = [];
    let answer: unknown = fieldsError("VALIDATION_FAILED", { timezone: ["must be an IANA time zone such as America/Chicago"] });
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_save_facility: (args: Record<string, unknown>) => {
        saved.push(args.facility as Record<string, unknown>);
        return answer;
      },
    });
    const onchanged = vi.fn();
    render(FacilitiesSection, { user: admin("ORG_ADMIN"), onchanged });
    const own = await screen.findByTestId("own-organization");
    expect(own).toHaveTextContent("Sunrise Senior Living Inc");
    expect(own).toHaveTextContent("41-2938471");
    expect(screen.getByRole("button", { name: "Edit organization details" })).toBeInTheDocument();
    expect(screen.queryByTestId("organization-add")).toBeNull();
    expect(screen.getByTestId("facility-row-10")).toHaveTextContent("Assisted living");

    await user.click(screen.getByTestId("facility-add"));
    expect(screen.getByRole("heading", { name: "Add a facility" })).toHaveFocus();
    await user.type(screen.getByLabelText("Facility name"), "Maple Memory Care");
    await user.selectOptions(screen.getByLabelText("Type of care"), "MEMORY_CARE");
    await user.type(screen.getByLabelText(/Licensed beds/), "24");
    await user.clear(screen.getByLabelText(/Time zone/));
    await user.type(screen.getByLabelText(/Time zone/), "Chicago");
    await user.click(screen.getByLabelText("Wandering alerts"));
    expect(screen.getByText(/wandering and exit-seeking/)).toBeInTheDocument();
    await user.click(screen.getByTestId("facility-save"));

    // The server's message sits beside the time zone; nothing else claims success.
    const error = await screen.findByTestId("facility-timezone-error");
    expect(error).toHaveTextContent("IANA time zone");
    expect(screen.getByLabelText(/Time zone/)).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText(/Time zone/).getAttribute("aria-describedby")).toContain("facility-timezone-error");
    expect(screen.getByTestId("facility-error-summary")).toHaveTextContent("Nothing was saved");
    expect(screen.queryByTestId("directory-notice")).toBeNull();
    expect(saved[0]).toMatchObject({
      id: null,
      organization_id: null,
      name: "Maple Memory Care",
      facility_type: "MEMORY_CARE",
      licensed_beds: "24",
      timezone: "Chicago",
      features: { wandering_alerts: true },
      is_active: null,
    });

    answer = { ...NORTH, id: 12, name: "Maple Memory Care", facility_type: "MEMORY_CARE" };
    await user.clear(screen.getByLabelText(/Time zone/));
    await user.type(screen.getByLabelText(/Time zone/), "America/Chicago");
    await user.click(screen.getByTestId("facility-save"));
    expect(await screen.findByTestId("directory-notice")).toHaveTextContent("“Maple Memory Care” is saved.");
    expect(screen.queryByTestId("facility-form")).toBeNull();
    expect(onchanged).toHaveBeenCalledOnce();
  });

  it("edits a facility from its details and keeps features the form doesn't list", async () => {
    const user = userEvent.setup();
    let sent: Record<string, unknown> | undefined;
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_facility_detail: NORTH,
      admin_save_facility: (args: Record<string, unknown>) => {
        sent = args.facility as Record<string, unknown>;
        return { ...NORTH, name: "North Campus" };
      },
    });
    render(FacilitiesSection, { user: admin("ORG_ADMIN") });
    await user.click(await screen.findByRole("button", { name: "Edit Sunrise ALF - North Campus" }));
    const name = await screen.findByLabelText("Facility name");
    expect(name).toHaveValue("Sunrise ALF - North Campus");
    expect(screen.getByLabelText(/Licensed beds/)).toHaveValue("32");
    expect(screen.getByLabelText("Family portal")).toBeChecked();
    expect(screen.getByLabelText("Encrypted (default)")).toBeChecked();
    await user.click(screen.getByLabelText("Key never on the device's disk alone"));
    await user.clear(name);
    await user.type(name, "North Campus");
    await user.clear(screen.getByLabelText(/Medicare/));
    await user.click(screen.getByLabelText("Facility is open"));
    await user.click(screen.getByTestId("facility-save"));
    await screen.findByTestId("directory-notice");
    expect(sent).toMatchObject({
      id: 10,
      name: "North Campus",
      medicare_provider_number: "",
      licensed_beds: "32",
      is_active: false,
      features: { family_portal: true, future_feature: true },
      device_protection_minimum: "off_disk",
    });
  });

  it("shows a facility administrator everything read-only but their own facility's policy", async () => {
    const others: FacilitySummary[] = [
      ...FACILITIES,
      { id: 11, organization_id: 1, name: "Sunrise ALF - South Campus", facility_type: "ALF", is_active: true, timezone: "America/Chicago" },
    ];
    mockCommands({ admin_organizations: [ORG], admin_facilities: others });
    render(FacilitiesSection, { user: admin("FACILITY_ADMIN") });
    await screen.findByTestId("facility-row-10");
    expect(screen.queryByTestId("facility-add")).toBeNull();
    expect(screen.queryByRole("button", { name: /^Edit Sunrise/ })).toBeNull();
    expect(screen.getByRole("button", { name: "Edit policy of Sunrise ALF - North Campus" })).toHaveTextContent("Edit policy");
    expect(screen.queryByTestId("facility-policy-edit-11")).toBeNull();
    expect(screen.getByTestId("facilities-read-only")).toHaveTextContent("You can change your facility's policy.");
    expect(screen.getByTestId("organization-read-only")).toHaveTextContent("Only your organization's administrator");
    expect(screen.queryByRole("button", { name: "Edit organization details" })).toBeNull();
  });

  it("lets a facility administrator save their facility's policy alone, with a notice", async () => {
    const user = userEvent.setup();
    let sent: Record<string, unknown> | undefined;
    const calls = mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_facility_detail: NORTH,
      admin_save_facility_policy: (args: Record<string, unknown>) => {
        sent = args;
        return { ...NORTH, policy: { ...DEFAULT_POLICY, idle_lock_desktop_secs: 60 } };
      },
    });
    render(FacilitiesSection, { user: admin("FACILITY_ADMIN") });
    await user.click(await screen.findByTestId("facility-policy-edit-10"));
    const form = await screen.findByTestId("facility-policy-form");
    expect(within(form).getByRole("heading", { name: "Policy of “Sunrise ALF - North Campus”" })).toHaveFocus();
    // The policy part alone: nothing else of the facility is offered.
    expect(within(form).queryByLabelText("Facility name")).toBeNull();
    expect(within(form).queryByLabelText("Family portal")).toBeNull();
    const desktop = within(form).getByLabelText("Idle lock on desktops (seconds)");
    expect(desktop).toHaveValue(String(DEFAULT_POLICY.idle_lock_desktop_secs));
    await user.clear(desktop);
    await user.type(desktop, "60");
    await user.click(screen.getByTestId("policy-save"));
    expect(await screen.findByTestId("directory-notice")).toHaveTextContent(
      "The policy of “Sunrise ALF - North Campus” is saved. Its devices apply it at their next sync.",
    );
    expect(screen.queryByTestId("facility-policy-form")).toBeNull();
    expect(sent?.facilityId).toBe(10);
    expect(sent?.policy).toMatchObject({ idle_lock_desktop_secs: "60", idle_lock_kiosk_secs: String(DEFAULT_POLICY.idle_lock_kiosk_secs) });
    expect(Object.keys(sent?.policy as object).sort()).toEqual(Object.keys(DOMAIN_RULES.facility_policy).sort());
    expect(calls).not.toContain("admin_save_facility");
  });

  it("marks a policy number out of range on its field, saves nothing and says so", async () => {
    const user = userEvent.setup();
    let tries = 0;
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_facility_detail: NORTH,
      // What the command answers for a number out of range, before any call to the server.
      admin_save_facility_policy: () => {
        tries += 1;
        return fieldsError("VALIDATION_FAILED", { "policy.idle_lock_desktop_secs": ["must be from 60 to 7200"] });
      },
    });
    render(FacilitiesSection, { user: admin("FACILITY_ADMIN") });
    await user.click(await screen.findByTestId("facility-policy-edit-10"));
    const desktop = await screen.findByLabelText("Idle lock on desktops (seconds)");
    await user.clear(desktop);
    await user.type(desktop, "30");
    await user.click(screen.getByTestId("policy-save"));
    expect(await screen.findByTestId("policy-idle_lock_desktop_secs-error")).toHaveTextContent("must be from 60 to 7200");
    expect(desktop).toHaveAttribute("aria-invalid", "true");
    expect(desktop.getAttribute("aria-describedby")).toContain("policy-idle_lock_desktop_secs-error");
    expect(screen.getByTestId("policy-error-summary")).toHaveTextContent("Nothing was saved");
    expect(screen.queryByTestId("directory-notice")).toBeNull();
    expect(screen.getByTestId("facility-policy-form")).toBeInTheDocument();
    expect(tries).toBe(1);
  });

  it("keeps the full editor for an organization administrator", async () => {
    mockCommands({ admin_organizations: [ORG], admin_facilities: FACILITIES });
    render(FacilitiesSection, { user: admin("ORG_ADMIN") });
    expect(await screen.findByTestId("facility-edit-10")).toHaveTextContent("Edit");
    expect(screen.queryByTestId("facility-policy-edit-10")).toBeNull();
  });

  it("lets an organization administrator edit their organization's details, but not close it", async () => {
    const user = userEvent.setup();
    let sent: Record<string, unknown> | undefined;
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_save_organization: (args: Record<string, unknown>) => {
        sent = args.organization as Record<string, unknown>;
        return { ...ORG, name: "Sunrise Senior Living" };
      },
    });
    render(FacilitiesSection, { user: admin("ORG_ADMIN") });
    await user.click(await screen.findByRole("button", { name: "Edit organization details" }));
    const name = screen.getByLabelText("Organization name");
    expect(name).toHaveValue("Sunrise Senior Living Inc");
    expect(screen.queryByLabelText("Organization is active")).toBeNull();
    await user.clear(name);
    await user.type(name, "Sunrise Senior Living");
    await user.click(screen.getByTestId("organization-save"));
    expect(await screen.findByTestId("directory-notice")).toHaveTextContent("“Sunrise Senior Living” is saved.");
    expect(sent).toEqual({
      id: 1,
      name: "Sunrise Senior Living",
      organization_type: "ALF_OPERATOR",
      npi: "1542013375",
      tax_id: "41-2938471",
      state_license_number: "",
      license_state: "MN",
      is_active: null,
    });
  });

  it("lets a platform administrator add an organization, with the NPI check beside its field", async () => {
    const user = userEvent.setup();
    let answer: unknown = fieldsError("VALIDATION_FAILED", { npi: ["the NPI's check digit does not match (mistyped digit?)"] });
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_save_organization: () => answer,
    });
    render(FacilitiesSection, { user: admin("PLATFORM_ADMIN") });
    const table = await screen.findByTestId("organizations-table");
    expect(within(table).getByText("Sunrise Senior Living Inc")).toBeInTheDocument();
    await user.click(screen.getByTestId("organization-add"));
    await user.type(screen.getByLabelText("Organization name"), "Cedar Health");
    await user.type(screen.getByLabelText(/NPI/), "1234567890");
    await user.click(screen.getByTestId("organization-save"));
    expect(await screen.findByTestId("organization-npi-error")).toHaveTextContent("check digit");
    answer = reject("FORBIDDEN", "this needs a platform administrator");
    await user.click(screen.getByTestId("organization-save"));
    expect(await screen.findByTestId("organization-error")).toHaveTextContent("You don't have permission to do that");
  });

  it("says when nothing could be loaded, and offers to try again", async () => {
    const user = userEvent.setup();
    let organizations: unknown = reject("UNAVAILABLE", "down");
    mockCommands({ admin_organizations: () => organizations, admin_facilities: [] });
    render(FacilitiesSection, { user: admin("ORG_ADMIN") });
    const alert = await screen.findByTestId("directory-load-error");
    expect(alert).toHaveTextContent("couldn't be loaded");
    expect(await screen.findByText("No facilities yet")).toBeInTheDocument();
    organizations = [ORG];
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("own-organization")).toBeInTheDocument();
    expect(screen.queryByTestId("directory-load-error")).toBeNull();
  });

  it("shows a loading state first", async () => {
    mockCommands({ admin_organizations: () => new Promise(() => {}), admin_facilities: () => new Promise(() => {}) });
    render(FacilitiesSection, { user: admin("ORG_ADMIN") });
    expect(await screen.findByText("Loading organizations…")).toBeInTheDocument();
    expect(screen.getByText("Loading facilities…")).toBeInTheDocument();
  });
});

describe("FacilitiesSection in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("lists the facilities and says why a time zone was refused, in Spanish", async () => {
    const user = userEvent.setup();
    setDeviceLanguage("es");
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_save_facility: fieldsError("VALIDATION_FAILED", { timezone: ["must be an IANA time zone such as America/Chicago"] }),
    });
    render(FacilitiesSection, { user: admin("ORG_ADMIN") });
    expect(await screen.findByRole("heading", { name: "Su organización" })).toBeInTheDocument();
    expect(screen.getByTestId("own-organization")).toHaveTextContent("Operador de vivienda asistida");
    const row = screen.getByTestId("facility-row-10");
    expect(row).toHaveTextContent("Vivienda asistida (ALF)");
    expect(row).toHaveTextContent("Abierto");
    expect(within(screen.getByTestId("facilities-table")).getByRole("columnheader", { name: "Tipo de atención" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Agregar un centro" }));
    expect(screen.getByRole("heading", { name: "Agregar un centro" })).toHaveFocus();
    await user.type(screen.getByLabelText("Nombre del centro"), "Maple");
    await user.clear(screen.getByLabelText("Zona horaria"));
    await user.type(screen.getByLabelText("Zona horaria"), "Chicago");
    await user.click(screen.getByTestId("facility-save"));
    expect(await screen.findByTestId("facility-timezone-error")).toHaveTextContent(
      "debe ser una zona horaria IANA, como America/Chicago",
    );
    expect(screen.getByLabelText("Zona horaria")).toHaveAttribute("aria-invalid", "true");
  });

  it("lets a facility administrator change the policy in Spanish", async () => {
    const user = userEvent.setup();
    setDeviceLanguage("es");
    mockCommands({
      admin_organizations: [ORG],
      admin_facilities: FACILITIES,
      admin_facility_detail: NORTH,
      admin_save_facility_policy: { ...NORTH, policy: { ...DEFAULT_POLICY, handoff_hours: 8 } },
    });
    render(FacilitiesSection, { user: admin("FACILITY_ADMIN") });
    const edit = await screen.findByRole("button", { name: "Editar normas de Sunrise ALF - North Campus" });
    expect(screen.getByTestId("facilities-read-only")).toHaveTextContent("Usted puede cambiar las normas de su centro.");
    expect(edit).toHaveTextContent("Editar normas");
    await user.click(edit);
    expect(await screen.findByRole("heading", { name: "Normas de «Sunrise ALF - North Campus»" })).toHaveFocus();
    const form = screen.getByTestId("facility-policy-form");
    expect(within(form).getByRole("group", { name: "Normas" })).toBeInTheDocument();
    expect(within(form).getByLabelText("Bloqueo por inactividad en quioscos de pared (segundos)")).toHaveValue(
      String(DEFAULT_POLICY.idle_lock_kiosk_secs),
    );
    await user.click(within(form).getByRole("button", { name: "Guardar normas" }));
    expect(await screen.findByTestId("directory-notice")).toHaveTextContent(
      "Las normas de «Sunrise ALF - North Campus» están guardadas. Sus dispositivos las aplican en su próxima sincronización.",
    );
  });
});
