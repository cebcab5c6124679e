import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BreakGlassReview_Serialize as BreakGlassReview } from "$lib/bindings";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import { mockCommands, reject } from "../../../test/ipc";
import BreakGlassReviewSection from "./BreakGlassReviewSection.svelte";

const GRANT: BreakGlassReview = {
  id: 7,
  facility_id: 3,
  facility_name: "North Campus",
  resident: "Lovelace, Ada (MRN-7)",
  user_name: "Rosa Alvarez",
  user_facility_name: "South Campus",
  reason: "Found on our floor after a fall",
  granted_at: "2026-12-05T10:00:00Z",
  expires_at: "2026-12-05T11:00:00Z",
  active: false,
  reviewed_at: null,
  review_note: null,
};

describe("BreakGlassReviewSection", () => {
  it("lists what waits for review and marks one reviewed with a note", async () => {
    const user = userEvent.setup();
    const onreviewed = vi.fn();
    const asked: Record<string, unknown>[] = [];
    mockCommands({
      admin_break_glass_grants: [GRANT],
      admin_review_break_glass: (args: Record<string, unknown>) => {
        asked.push(args);
        return { ...GRANT, reviewed_at: "2026-12-05T12:00:00Z", review_note: "Justified" };
      },
    });
    render(BreakGlassReviewSection, { onunauthorized: vi.fn(), onreviewed });
    const item = await screen.findByTestId("break-glass-grant");
    expect(item).toHaveTextContent("Rosa Alvarez (South Campus) opened Lovelace, Ada (MRN-7) of North Campus");
    expect(item).toHaveTextContent("Reason: “Found on our floor after a fall”");
    await user.type(screen.getByLabelText("Review note (optional)"), "Justified");
    await user.click(screen.getByTestId("break-glass-mark-reviewed"));
    expect(asked).toEqual([{ grantId: 7, note: "Justified" }]);
    expect(await screen.findByRole("status")).toHaveTextContent("Rosa Alvarez's access marked reviewed.");
    expect(screen.queryByTestId("break-glass-grant")).not.toBeInTheDocument();
    expect(onreviewed).toHaveBeenCalled();
  });

  it("says when nothing waits, and hands an ended session to the console", async () => {
    mockCommands({ admin_break_glass_grants: [] });
    render(BreakGlassReviewSection, { onunauthorized: vi.fn() });
    expect(await screen.findByText("Nothing to review")).toBeInTheDocument();

    const onunauthorized = vi.fn();
    mockCommands({ admin_break_glass_grants: reject("UNAUTHORIZED", "signed out") });
    render(BreakGlassReviewSection, { onunauthorized });
    await vi.waitFor(() => expect(onunauthorized).toHaveBeenCalled());
  });
});

describe("BreakGlassReviewSection in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("shows who opened whom, when and until when at the facility, in Spanish", async () => {
    setDeviceLanguage("es");
    setTimeZone("America/Chicago");
    const user = userEvent.setup();
    mockCommands({
      admin_break_glass_grants: [GRANT, { ...GRANT, id: 8, active: true, resident: null }],
      admin_review_break_glass: { ...GRANT, reviewed_at: "2026-12-05T12:00:00Z" },
    });
    render(BreakGlassReviewSection, { onunauthorized: vi.fn() });
    const [ended, open] = await screen.findAllByTestId("break-glass-grant");
    expect(screen.getByTestId("break-glass-count")).toHaveTextContent("2 accesos de emergencia para revisar");
    // 10:00 UTC is 4:00 in the morning in Chicago.
    expect(ended).toHaveTextContent(
      "Rosa Alvarez (South Campus) abrió el expediente de Lovelace, Ada (MRN-7) de North Campus — 5 dic, 4:00 a.m., terminado.",
    );
    expect(open).toHaveTextContent("abrió el expediente de un residente de North Campus — 5 dic, 4:00 a.m., hasta 5 dic, 5:00 a.m.");
    expect(ended).toHaveTextContent("Motivo: “Found on our floor after a fall”");
    expect(screen.getAllByLabelText("Nota de revisión (opcional)")).toHaveLength(2);
    await user.click(screen.getAllByRole("button", { name: "Marcar como revisado" })[0]!);
    expect(await screen.findByText("El acceso de Rosa Alvarez quedó marcado como revisado.")).toBeInTheDocument();
    expect(screen.getByTestId("break-glass-count")).toHaveTextContent("1 acceso de emergencia para revisar");
  });

  it("says when nothing waits, in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ admin_break_glass_grants: [] });
    render(BreakGlassReviewSection, { onunauthorized: vi.fn() });
    expect(await screen.findByText("Nada que revisar")).toBeInTheDocument();
  });
});
