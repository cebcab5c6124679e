import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DOMAIN_RULES } from "$lib/bindings";
import { POLICY_GROUPS } from "$lib/admin-directory";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { DEFAULT_POLICY, mockCommands, Rejection } from "../../../test/ipc";
import { facilityDetail } from "../../../test/fixtures";
import FacilityEditor from "./FacilityEditor.svelte";

const NORTH = facilityDetail();

describe("FacilityEditor policy", () => {
  it("shows every policy number with its unit and range in words, from the facility", () => {
    mockCommands({});
    render(FacilityEditor, { facility: NORTH, onsaved: vi.fn(), oncancel: vi.fn() });
    const policy = screen.getByTestId("facility-policy");
    expect(screen.getByRole("group", { name: "Policy" })).toBe(policy);
    expect(within(policy).getByRole("group", { name: "Screen lock" })).toBeInTheDocument();
    const kiosk = within(policy).getByLabelText("Idle lock on wall kiosks (seconds)");
    expect(kiosk).toHaveValue("90");
    const range = DOMAIN_RULES.facility_policy.idle_lock_kiosk_secs;
    expect(kiosk.getAttribute("aria-describedby")).toBe("policy-idle_lock_kiosk_secs-hint");
    expect(screen.getByText(new RegExp(`From ${range.min} to ${range.max} seconds \\(default ${range.default}\\)`))).toBeInTheDocument();
    expect(within(policy).getByLabelText("Shortest PIN (digits)")).toHaveValue("6");
    expect(within(policy).getByLabelText("Badge-only period (hours)")).toHaveValue(String(DEFAULT_POLICY.badge_grace_hours));
    expect(within(policy).getByLabelText("Family session length (seconds)")).toHaveValue("60");
    const shown = POLICY_GROUPS.flatMap((g) => g.fields.map((f) => f.key)).sort();
    expect(shown).toEqual(Object.keys(DOMAIN_RULES.facility_policy).sort());
  });

  it("starts a new facility at the defaults and sends the policy as typed", async () => {
    const user = userEvent.setup();
    let sent: Record<string, unknown> | undefined;
    mockCommands({
      admin_save_facility: (args: Record<string, unknown>) => {
        sent = args.facility as Record<string, unknown>;
        return NORTH;
      },
    });
    const onsaved = vi.fn();
    render(FacilityEditor, { facility: null, onsaved, oncancel: vi.fn() });
    expect(screen.getByLabelText("Idle lock on desktops (seconds)")).toHaveValue("600");
    await user.type(screen.getByLabelText("Facility name"), "Maple");
    const kiosk = screen.getByLabelText("Idle lock on wall kiosks (seconds)");
    await user.clear(kiosk);
    await user.type(kiosk, "60");
    await user.click(screen.getByTestId("facility-save"));
    await vi.waitFor(() => expect(onsaved).toHaveBeenCalledOnce());
    expect(sent?.policy).toMatchObject({ idle_lock_kiosk_secs: "60", idle_lock_desktop_secs: "600", due_soon_minutes: "120" });
  });

  it("shows the server's refusal next to the policy field it names", async () => {
    const user = userEvent.setup();
    mockCommands({
      admin_save_facility: new Rejection({
        code: "VALIDATION_FAILED",
        message: "some fields are not valid",
        fields: { "policy.idle_lock_kiosk_secs": ["must be from 60 to 3600"] },
      }),
    });
    const onsaved = vi.fn();
    render(FacilityEditor, { facility: NORTH, onsaved, oncancel: vi.fn() });
    const kiosk = screen.getByLabelText("Idle lock on wall kiosks (seconds)");
    await user.clear(kiosk);
    await user.type(kiosk, "5");
    await user.click(screen.getByTestId("facility-save"));
    const error = await screen.findByTestId("policy-idle_lock_kiosk_secs-error");
    expect(error).toHaveTextContent("must be from 60 to 3600");
    expect(kiosk).toHaveAttribute("aria-invalid", "true");
    expect(kiosk.getAttribute("aria-describedby")).toContain("policy-idle_lock_kiosk_secs-error");
    expect(screen.getByTestId("facility-error-summary")).toHaveTextContent("Nothing was saved");
    expect(onsaved).not.toHaveBeenCalled();
  });

  it("no longer offers switches without behaviour behind them", () => {
    mockCommands({});
    render(FacilityEditor, { facility: NORTH, onsaved: vi.fn(), oncancel: vi.fn() });
    for (const gone of ["Medication room workflow", "Comfort care plans", "Visit routing"]) {
      expect(screen.queryByLabelText(gone)).toBeNull();
    }
    expect(screen.getByLabelText("Family portal")).toBeChecked();
  });
});

describe("FacilityEditor in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names the fields, the care settings and the policy with its units and ranges in Spanish", () => {
    setDeviceLanguage("es");
    render(FacilityEditor, { facility: NORTH, onsaved: vi.fn(), oncancel: vi.fn() });
    expect(screen.getByRole("heading", { name: "Editar «Sunrise ALF - North Campus»" })).toBeInTheDocument();
    expect(screen.getByLabelText("Nombre del centro")).toHaveValue("Sunrise ALF - North Campus");
    expect(screen.getByRole("option", { name: "Vivienda asistida (ALF)" })).toBeInTheDocument();
    expect(screen.getByLabelText("Zona horaria")).toHaveAccessibleDescription(/La hora local del centro/);
    expect(screen.getByLabelText("Portal para familiares")).toBeChecked();
    const policy = screen.getByTestId("facility-policy");
    expect(within(policy).getByRole("group", { name: "Bloqueo de pantalla" })).toBeInTheDocument();
    const kiosk = within(policy).getByLabelText("Bloqueo por inactividad en quioscos de pared (segundos)");
    expect(kiosk).toHaveValue("90");
    const range = DOMAIN_RULES.facility_policy.idle_lock_kiosk_secs;
    expect(kiosk).toHaveAccessibleDescription(new RegExp(`De ${range.min} a ${range.max} segundos \\(predeterminado: ${range.default}\\)`));
    expect(within(policy).getByLabelText("PIN más corto (dígitos)")).toHaveValue("6");
    expect(within(policy).getByLabelText("Duración de la sesión de familiares (segundos)")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Guardar cambios" })).toBeInTheDocument();
  });
});
