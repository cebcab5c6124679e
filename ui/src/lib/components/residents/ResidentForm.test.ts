import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { Departure } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { emptyDraft } from "$lib/residents";
import DischargeForm from "./DischargeForm.svelte";
import ResidentForm from "./ResidentForm.svelte";

const never = () => new Promise<never>(() => undefined);

describe("ResidentForm in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("labels the admission form and its code status and fall risk choices", async () => {
    setDeviceLanguage("es");
    render(ResidentForm, { initial: emptyDraft(), version: null, timeZone: "America/Chicago", save: never, onsaved: () => undefined, oncancel: () => undefined });
    expect(screen.getByRole("heading", { name: "Ingresar a un residente" })).toBeInTheDocument();
    expect(screen.getByLabelText("Nombre")).toBeInTheDocument();
    expect(screen.getByLabelText("Apellido")).toBeInTheDocument();
    expect(screen.getByLabelText("Número de expediente médico (MRN)")).toBeInTheDocument();
    expect(screen.getByLabelText("Fecha de ingreso")).toHaveAccessibleDescription("Déjelo vacío para hoy.");
    expect(screen.getByRole("group", { name: "Contacto de emergencia" })).toBeInTheDocument();

    const codeStatus = screen.getByLabelText("Estado de reanimación");
    expect(within(codeStatus).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Sin registrar",
      "Reanimación completa",
      "No reanimar (DNR)",
      "No reanimar ni intubar (DNR/DNI)",
      "Solo medidas de confort",
    ]);
    const fallRisk = screen.getByLabelText("Riesgo de caídas");
    expect(within(fallRisk).getAllByRole("option").map((o) => o.textContent)).toEqual(["Sin evaluar", "Bajo", "Moderado", "Alto"]);
    expect(screen.getByRole("button", { name: "Ingresar residente" })).toBeInTheDocument();
  });

  it("keeps the English wording in English", () => {
    render(ResidentForm, { initial: { ...emptyDraft(), first_name: "Agnes", last_name: "Moore" }, version: 3, timeZone: "UTC", save: never, onsaved: () => undefined, oncancel: () => undefined });
    expect(screen.getByRole("heading", { name: "Edit Agnes Moore" })).toBeInTheDocument();
    expect(within(screen.getByLabelText("Code status")).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Not recorded",
      "Full code",
      "DNR (do not resuscitate)",
      "DNR / DNI (do not resuscitate, do not intubate)",
      "Comfort measures only",
    ]);
    expect(screen.getByRole("button", { name: "Save changes" })).toBeInTheDocument();
  });
});

describe("DischargeForm in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("asks for the reason and the day in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    const save = (_departure: Departure, _date: string, _version: number) => never();
    render(DischargeForm, { name: "Agnes Moore", version: 2, timeZone: "America/Chicago", save, onsaved: () => undefined, oncancel: () => undefined });
    expect(screen.getByRole("heading", { name: "Dar de alta a Agnes Moore" })).toBeInTheDocument();
    expect(screen.getByLabelText("Fecha de alta")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Dar de alta" })).toBeInTheDocument();
    await user.click(screen.getByLabelText("Fallecido"));
    expect(screen.getByLabelText("Fecha de fallecimiento")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Registrar fallecimiento" })).toBeInTheDocument();
  });
});
