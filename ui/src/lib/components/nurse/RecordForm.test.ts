import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import RecordForm from "./RecordForm.svelte";

describe("RecordForm in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("labels vital signs with their units and checks them in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    render(RecordForm, { patientId: 12, kind: "vital_signs", onwritten: () => undefined });
    expect(screen.getByText("Escriba lo que midió; deje vacío lo demás.")).toBeInTheDocument();
    expect(screen.getByLabelText("Temperatura (°C)")).toBeInTheDocument();
    expect(screen.getByLabelText("Respiración (resp./min)")).toBeInTheDocument();
    expect(screen.getByLabelText("Nivel de dolor (0–10)")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Guardar signos vitales" }));
    expect(await screen.findByTestId("error-body")).toHaveTextContent("Escriba al menos un signo vital");

    await user.type(screen.getByLabelText("Pulso (lpm)"), "300");
    expect(screen.getByTestId("error-body.pulse_bpm")).toHaveTextContent("300 lpm no es un valor posible; se espera 20–250 lpm");
  });

  it("labels a PRN dose and asks for what is required in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    render(RecordForm, { patientId: 12, kind: "prn_administration", onwritten: () => undefined, oncancel: () => undefined });
    expect(screen.getByText("De 15 a 240 minutos")).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "Por boca" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Cancelar" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Guardar dosis PRN" }));
    expect(await screen.findByTestId("error-body.medication")).toHaveTextContent("Obligatorio");
    expect(screen.getByLabelText("Medicamento")).toHaveFocus();
    expect(screen.getByLabelText("Dosis")).toHaveAttribute("aria-invalid", "true");
  });
});
