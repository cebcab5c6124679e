import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminUser, BadgeSummary_Serialize, StaffMember_Serialize } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { mockCommands, reject, Rejection } from "../../../test/ipc";
import PeopleSection from "./PeopleSection.svelte";

const ADMIN: AdminUser = {
  user_id: 7,
  username: "kim",
  full_name: "Kim Admin",
  role: "FACILITY_ADMIN",
  organization_id: 1,
  facility_id: 10,
  server_url: "https://tend.example.org",
  expires_at: "2030-01-01T00:00:00Z",
};

function member(overrides: Partial<StaffMember_Serialize>): StaffMember_Serialize {
  return {
    id: 21,
    facility_id: 10,
    employee_id: "E-100",
    username: "rosa.alvarez",
    full_name: "Rosa Alvarez",
    email: null,
    role: "RN",
    is_active: true,
    created_at: "2026-01-01T00:00:00Z",
    preferred_language: null,
    ...overrides,
  };
}

const ROSA = member({});
const BEN = member({ id: 22, username: "ben.okafor", full_name: "Ben Okafor", employee_id: "E-200", role: "CNA" });
const OLD = member({ id: 23, username: "ann.lee", full_name: "Ann Lee", employee_id: "E-300", is_active: false });
const BOSS = member({ id: 24, username: "org.boss", full_name: "Olga Boss", employee_id: "E-400", role: "ORG_ADMIN" });
const SELF = member({ id: 7, username: "kim", full_name: "Kim Admin", employee_id: "E-007", role: "FACILITY_ADMIN" });

const BADGE: BadgeSummary_Serialize = {
  id: 5,
  user_id: 21,
  label: "main badge",
  is_active: true,
  locked_until: null,
  created_at: new Date(Date.now() - 3_600_000).toISOString(),
  revoked_at: null,
  last_used_at: null,
};

describe("PeopleSection", () => {
  it("lists the active staff, searches, and says when no one matches", async () => {
    const user = userEvent.setup();
    mockCommands({ admin_users: [ROSA, BEN, OLD, BOSS, SELF] });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    const table = await screen.findByTestId("staff-table");
    expect(within(table).getByText("Rosa Alvarez")).toBeInTheDocument();
    expect(within(table).queryByText("Ann Lee")).toBeNull();
    await user.selectOptions(screen.getByLabelText("Status"), "all");
    expect(screen.getByTestId("staff-status-ann.lee")).toHaveTextContent("Deactivated");
    expect(screen.getByTestId("staff-reactivate-ann.lee")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Search staff"), "E-200");
    expect(screen.getByTestId("staff-row-ben.okafor")).toBeInTheDocument();
    expect(screen.queryByTestId("staff-row-rosa.alvarez")).toBeNull();
    await user.type(screen.getByLabelText("Search staff"), " nobody");
    expect(await screen.findByText("No one matches")).toBeInTheDocument();
  });

  it("offers nothing the server would refuse: no higher roles, no changes to a higher account or oneself", async () => {
    const user = userEvent.setup();
    mockCommands({ admin_users: [ROSA, BOSS, SELF] });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    await screen.findByTestId("staff-table");
    expect(screen.queryByTestId("staff-edit-org.boss")).toBeNull();
    expect(screen.queryByTestId("staff-deactivate-kim")).toBeNull();
    expect(screen.getByTestId("staff-edit-kim")).toBeInTheDocument();
    await user.click(screen.getByTestId("staff-add"));
    const roles = within(screen.getByLabelText("Role", { selector: "#staff-role" })).getAllByRole("option").map((o) => o.getAttribute("value"));
    expect(roles).toContain("FACILITY_ADMIN");
    expect(roles).not.toContain("ORG_ADMIN");
    expect(roles).not.toContain("PLATFORM_ADMIN");
  });

  it("creates an account, with a taken username marked on its field", async () => {
    const user = userEvent.setup();
    const sent: { user: Record<string, unknown>; password: unknown }[] = [];
    let answer: unknown = new Rejection({
      code: "CONFLICT",
      message: "this username is taken",
      fields: { username: ["this username is taken"] },
    });
    mockCommands({
      admin_users: [ROSA],
      admin_save_user: (args: Record<string, unknown>) => {
        sent.push({ user: args.user as Record<string, unknown>, password: args.password });
        return answer;
      },
    });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    await user.click(await screen.findByTestId("staff-add"));
    await user.type(screen.getByLabelText("Full name"), "Rosa Alvarez");
    await user.type(screen.getByLabelText("Username"), "rosa.alvarez");
    await user.type(screen.getByLabelText("Employee ID"), "E-900");
    const password = screen.getByLabelText("First password");
    expect(password).toHaveAttribute("type", "password");
    await user.type(password, "a first password for Rosa");
    await user.click(screen.getByTestId("staff-save"));
    expect(await screen.findByTestId("staff-username-error")).toHaveTextContent("this username is taken");
    expect(screen.getByLabelText("Username")).toHaveAttribute("aria-invalid", "true");
    expect(sent[0]).toEqual({
      user: { id: null, facility_id: 10, employee_id: "E-900", username: "rosa.alvarez", full_name: "Rosa Alvarez", email: "", role: "RN", preferred_language: null },
      password: "a first password for Rosa",
    });

    answer = member({ id: 30, username: "rosa.a", full_name: "Rosa Alvarez" });
    await user.clear(screen.getByLabelText("Username"));
    await user.type(screen.getByLabelText("Username"), "rosa.a");
    // Her own language: Tend speaks Spanish to her on any device once she signs in.
    expect(screen.getByLabelText("Language")).toHaveValue("");
    await user.selectOptions(screen.getByLabelText("Language"), "es");
    await user.click(screen.getByTestId("staff-save"));
    await waitFor(() => expect(sent[1]?.user.preferred_language).toBe("es"));
    expect(await screen.findByTestId("staff-notice")).toHaveTextContent("Rosa Alvarez's account is created");
    expect(screen.queryByTestId("staff-form")).toBeNull();
  });

  it("asks before deactivating, and says what it means", async () => {
    const user = userEvent.setup();
    let changed: Record<string, unknown> | undefined;
    mockCommands({
      admin_users: [ROSA],
      admin_set_user_active: (args: Record<string, unknown>) => {
        changed = args;
        return { ...ROSA, is_active: false };
      },
    });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    await user.click(await screen.findByTestId("staff-deactivate-rosa.alvarez"));
    const panel = screen.getByTestId("staff-deactivate-panel");
    expect(panel).toHaveTextContent("can no longer sign in, with a password or a badge");
    expect(screen.getByTestId("staff-deactivate-confirm")).toHaveFocus();
    await user.click(screen.getByTestId("staff-deactivate-cancel"));
    expect(changed).toBeUndefined();
    await user.click(screen.getByTestId("staff-deactivate-rosa.alvarez"));
    await user.click(screen.getByTestId("staff-deactivate-confirm"));
    expect(await screen.findByTestId("staff-notice")).toHaveTextContent("Rosa Alvarez is deactivated");
    expect(changed).toEqual({ userId: 21, active: false });
  });

  it("assigns a badge by its number, sets a masked PIN, and revokes after a confirmation", async () => {
    const user = userEvent.setup();
    let badges: BadgeSummary_Serialize[] = [];
    let assignAnswer: unknown = new Rejection({
      code: "VALIDATION_FAILED",
      message: "some fields are not valid",
      fields: { badge_uid: ["a badge UID is 4, 7 or 10 bytes, this one has 2"] },
    });
    let pinAnswer: unknown = new Rejection({
      code: "VALIDATION_FAILED",
      message: "a PIN must not be a run of consecutive digits",
      fields: { pin: ["a PIN must not be a run of consecutive digits; choose one that is harder to guess"] },
    });
    const revoked: unknown[] = [];
    mockCommands({
      admin_users: [ROSA],
      admin_user_badges: () => badges,
      admin_assign_badge: () => {
        if (assignAnswer instanceof Rejection) return assignAnswer;
        badges = [BADGE];
        return BADGE;
      },
      admin_set_pin: () => pinAnswer,
      admin_revoke_badge: (args: Record<string, unknown>) => {
        revoked.push(args);
        badges = [{ ...BADGE, is_active: false, revoked_at: new Date().toISOString() }];
        return badges[0];
      },
    });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    await user.click(await screen.findByTestId("staff-badges-rosa.alvarez"));
    expect(screen.getByRole("heading", { name: "Badges and PIN of Rosa Alvarez" })).toHaveFocus();
    expect(await screen.findByText("No badge yet")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Tap a badge to assign" })).toBeInTheDocument();

    await user.type(screen.getByLabelText("Badge number"), "04:5A");
    await user.click(screen.getByTestId("badge-assign"));
    expect(await screen.findByTestId("badge-number-error")).toHaveTextContent("4, 7 or 10 bytes");
    assignAnswer = BADGE;
    await user.clear(screen.getByLabelText("Badge number"));
    await user.type(screen.getByLabelText("Badge number"), "04:5A:77:C1:2B:19:80");
    await user.click(screen.getByTestId("badge-assign"));
    expect(await screen.findByTestId("badge-notice")).toHaveTextContent("A badge is assigned to Rosa Alvarez");
    expect(screen.getByLabelText("Badge number")).toHaveValue("");
    expect(await screen.findByTestId("badge-status-5")).toHaveTextContent("Active");
    expect(screen.getByTestId("badge-panel")).not.toHaveTextContent("04:5A:77");

    const pin = screen.getByLabelText("New PIN");
    expect(pin).toHaveAttribute("type", "password");
    expect(pin).toHaveAttribute("inputmode", "numeric");
    expect(screen.getByText(/4 to 8 digits/)).toBeInTheDocument();
    await user.type(pin, "1234");
    await user.click(screen.getByTestId("pin-save"));
    expect(await screen.findByTestId("badge-pin-error")).toHaveTextContent("consecutive digits");
    expect(pin).toHaveValue("");
    pinAnswer = { user_id: 21, pin_set_at: new Date().toISOString() };
    await user.type(pin, "58203947");
    await user.click(screen.getByTestId("pin-save"));
    expect(await screen.findByTestId("badge-notice")).toHaveTextContent("The PIN is set");

    await user.click(screen.getByRole("button", { name: "Revoke main badge" }));
    expect(screen.getByTestId("badge-revoke-panel")).toHaveTextContent("stops signing anyone in");
    await user.click(screen.getByTestId("badge-revoke-confirm"));
    expect(await screen.findByTestId("badge-notice")).toHaveTextContent("The badge is revoked");
    expect(await screen.findByTestId("badge-status-5")).toHaveTextContent("Revoked");
    expect(revoked).toEqual([{ userId: 21, badgeId: 5 }]);
  });

  it("shows the server's refusal in words, and a load failure with a retry", async () => {
    const user = userEvent.setup();
    let users: unknown = reject("UNAVAILABLE", "down");
    mockCommands({
      admin_users: () => users,
      admin_set_user_active: reject("FORBIDDEN", "not allowed"),
    });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    const alert = await screen.findByTestId("staff-load-error");
    expect(alert).toHaveTextContent("The staff list couldn't be loaded");
    users = [ROSA];
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    await user.click(await screen.findByTestId("staff-deactivate-rosa.alvarez"));
    await user.click(screen.getByTestId("staff-deactivate-confirm"));
    expect(await screen.findByTestId("staff-action-error")).toHaveTextContent("You don't have permission to do that");
  });

  it("has an empty state and a loading state", async () => {
    mockCommands({ admin_users: [] });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    expect(await screen.findByText("No staff in this facility yet")).toBeInTheDocument();
  });

  it("says it is loading before the list arrives", async () => {
    mockCommands({ admin_users: () => new Promise(() => {}) });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    expect(await screen.findByText("Loading staff…")).toBeInTheDocument();
  });
});

describe("PeopleSection in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names the columns, roles, statuses and actions in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ admin_users: [ROSA, BEN] });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    const table = await screen.findByTestId("staff-table");
    expect(screen.getByText(/^Cuentas del personal de este centro\./)).toBeInTheDocument();
    expect(screen.getByTestId("staff-add")).toHaveTextContent("Agregar a un miembro del personal");
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Nombre", "ID de empleado", "Rol", "Estado", "Acciones"]);
    expect(within(screen.getByTestId("staff-row-rosa.alvarez")).getByText("Enfermero/a registrado/a (RN)")).toBeInTheDocument();
    expect(within(screen.getByTestId("staff-row-ben.okafor")).getByText("Auxiliar de enfermería (CNA)")).toBeInTheDocument();
    expect(screen.getByTestId("staff-status-rosa.alvarez")).toHaveTextContent("Activa");
    expect(screen.getByRole("button", { name: "Credenciales y PIN de Rosa Alvarez" })).toBeInTheDocument();
    expect(screen.getByLabelText("Buscar personal")).toHaveAttribute("placeholder", "Nombre, usuario, ID de empleado o correo");
  });

  it("follows a change of language while the section is open", async () => {
    const user = userEvent.setup();
    mockCommands({ admin_users: [ROSA], admin_set_user_active: null });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    await user.click(await screen.findByTestId("staff-deactivate-rosa.alvarez"));
    await user.click(screen.getByTestId("staff-deactivate-confirm"));
    expect(await screen.findByTestId("staff-notice")).toHaveTextContent("Rosa Alvarez is deactivated and can no longer sign in.");
    setDeviceLanguage("es");
    expect(await screen.findByText("Rosa Alvarez está desactivado/a y ya no puede iniciar sesión.")).toBeInTheDocument();
    expect(screen.getByText("Todas las cuentas")).toBeInTheDocument();
  });

  it("opens the staff editor with Spanish labels, hints and buttons", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    mockCommands({ admin_users: [ROSA], admin_save_user: reject("UNAVAILABLE", "down") });
    render(PeopleSection, { user: ADMIN, facilityId: 10 });
    await user.click(await screen.findByTestId("staff-add"));
    const form = screen.getByTestId("staff-form");
    expect(within(form).getByRole("heading", { name: "Agregar a un miembro del personal" })).toBeInTheDocument();
    expect(within(form).getByLabelText("Primera contraseña")).toHaveAccessibleDescription(/^Al menos \d+ caracteres\. Désela a la persona en privado\.$/);
    expect(within(form).getByRole("option", { name: "Enfermero/a práctico/a (LPN)" })).toBeInTheDocument();
    expect(screen.getByTestId("staff-cancel")).toHaveTextContent("Cancelar");
    await user.click(screen.getByTestId("staff-save"));
    expect(await screen.findByTestId("staff-error")).toHaveTextContent("No se guardó la cuenta");
  });
});
