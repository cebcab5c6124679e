import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import type { FamilyCorner_Serialize as FamilyCorner } from "$lib/bindings";
import type { LocalRecord } from "$lib/nurse-types";
import { mockCommands, Rejection, reject } from "../../../test/ipc";
import FamilyPanel from "./FamilyPanel.svelte";

const EMPTY: FamilyCorner = { codes: [], shared: [], messages: [] };
const CODE = {
  id: 3,
  code_hint: "37",
  visitor_name: "Ana Hernández",
  relationship: "daughter",
  expires_at: "2027-01-04T12:00:00Z",
  last_used_at: null,
  revoked_at: null,
};

const NOTE: LocalRecord = {
  id: "0190a1b2-0000-7000-8000-000000000001",
  patient_id: 12,
  author_user_id: 7,
  recorded_at: new Date().toISOString(),
  occurred_at: null,
  amends: null,
  correction_reason: null,
  author_name: null,
  body: { kind: "care_note", text: "Enjoyed the music group and sang along." },
  written_here: true,
  sync_state: "pending",
  rejection: null,
};

describe("FamilyPanel", () => {
  it("issues a visitor code and shows it large once, with print", async () => {
    const user = userEvent.setup();
    const asked: Record<string, unknown>[] = [];
    mockCommands({
      family_corner: EMPTY,
      issue_visitor_code: (args: Record<string, unknown>) => {
        asked.push(args);
        return { code: "4821 0937", summary: CODE };
      },
    });
    render(FamilyPanel, { patientId: 12, firstName: "Agnes", records: [] });
    await user.type(await screen.findByLabelText("Visitor's name"), "Ana Hernández");
    await user.type(screen.getByLabelText("Relationship (optional)"), "daughter");
    await user.click(screen.getByTestId("visitor-code-issue"));
    expect(await screen.findByTestId("visitor-code")).toHaveTextContent("4821 0937");
    expect(screen.getByTestId("visitor-code-card")).toHaveTextContent("This is the only time the code is shown.");
    expect(screen.getByTestId("visitor-code-print")).toBeInTheDocument();
    expect(asked).toEqual([{ patientId: 12, visitorName: "Ana Hernández", relationship: "daughter", expiresInDays: 30 }]);
    await user.click(screen.getByTestId("visitor-code-done"));
    expect(screen.queryByTestId("visitor-code")).not.toBeInTheDocument();
  });

  it("shares an update started from today's note, and marks an empty one", async () => {
    const user = userEvent.setup();
    const shared: Record<string, unknown>[] = [];
    mockCommands({
      family_corner: EMPTY,
      share_with_family: (args: Record<string, unknown>) => {
        shared.push(args);
        if (!(args.body as string).trim()) return new Rejection({ code: "VALIDATION_FAILED", message: "body: write what to share", fields: { body: ["write what to share"] } });
        return { id: 9, kind: args.kind, body: args.body, created_at: new Date().toISOString() };
      },
    });
    render(FamilyPanel, { patientId: 12, firstName: "Agnes", records: [NOTE] });
    await user.click(await screen.findByTestId("family-share"));
    expect(await screen.findByText("write what to share")).toBeInTheDocument();

    await user.click(screen.getByTestId("family-kind-activity"));
    await user.selectOptions(screen.getByLabelText("Start from one of today's notes (optional)"), NOTE.id);
    expect(screen.getByLabelText("What the family reads")).toHaveValue("Enjoyed the music group and sang along.");
    await user.type(screen.getByLabelText("What the family reads"), " 🎶");
    await user.click(screen.getByTestId("family-share"));
    expect(await screen.findByTestId("family-notice")).toHaveTextContent("Shared.");
    expect(shared[1]).toEqual({ patientId: 12, kind: "activity", body: "Enjoyed the music group and sang along. 🎶" });
  });

  it("lists family's messages and sends an answer; revokes a code", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({
      family_corner: {
        codes: [CODE],
        shared: [],
        messages: [{ id: 5, visitor_name: "Ana Hernández", relationship: "daughter", body: "Does she need warmer socks?", created_at: new Date().toISOString() }],
      },
      share_with_family: (args: Record<string, unknown>) => {
        expect(args).toEqual({ patientId: 12, kind: "message", body: "Yes please, size M." });
        return { id: 10, kind: "message", body: args.body, created_at: new Date().toISOString() };
      },
      revoke_visitor_code: { ...CODE, revoked_at: new Date().toISOString() },
    });
    render(FamilyPanel, { patientId: 12, firstName: "Agnes", records: [] });
    const messages = await screen.findByTestId("family-messages");
    expect(messages).toHaveTextContent("Does she need warmer socks?");
    await user.click(within(messages).getByTestId("family-answer-5"));
    await user.type(screen.getByLabelText("Your answer to Ana Hernández"), "Yes please, size M.");
    await user.click(screen.getByTestId("family-answer-send"));
    expect(await screen.findByTestId("family-notice")).toHaveTextContent("Your answer to Ana Hernández is on the kiosk.");

    await user.click(screen.getByRole("button", { name: "Revoke Ana Hernández's code" }));
    expect(await screen.findByTestId("family-notice")).toHaveTextContent("Ana Hernández's code no longer works.");
    expect(calls).toContain("revoke_visitor_code");
  });

  it("says when the portal cannot be reached", async () => {
    mockCommands({ family_corner: reject("OFFLINE", "the family portal needs the server") });
    render(FamilyPanel, { patientId: 12, firstName: "Agnes", records: [] });
    expect(await screen.findByTestId("family-error")).toHaveTextContent("The family portal couldn't be loaded");
  });
});

describe("FamilyPanel in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("issues a visitor code with Spanish headings, buttons and dates", async () => {
    setDeviceLanguage("es");
    setTimeZone("America/Chicago");
    const user = userEvent.setup();
    mockCommands({
      family_corner: { ...EMPTY, messages: [{ id: 5, visitor_name: "Ana Hernández", relationship: "hija", body: "¿Necesita calcetines?", created_at: "2026-12-01T18:00:00Z" }] },
      issue_visitor_code: () => ({ code: "4821 0937", summary: CODE }),
    });
    render(FamilyPanel, { patientId: 12, firstName: "Agnes", records: [] });
    expect(screen.getByRole("heading", { level: 2, name: "Portal familiar" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "Códigos de visita" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Mensajes de la familia" })).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "30 días" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Cómo fue el día" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Compartir con la familia" })).toBeInTheDocument();
    expect(screen.getByTestId("family-messages")).toHaveTextContent("Ana Hernández (hija), 1 dic, 12:00:");

    await user.type(screen.getByLabelText("Nombre del visitante"), "Ana Hernández");
    await user.click(screen.getByRole("button", { name: "Crear un código de visita" }));
    const card = await screen.findByTestId("visitor-code-card");
    expect(card).toHaveTextContent("Código de visita para que Ana Hernández vea las noticias de Agnes en el quiosco familiar:");
    // Noon UTC on 4 January is 06:00 at the facility.
    expect(card).toHaveTextContent("Válido hasta 4 ene, 06:00. Esta es la única vez que se muestra el código.");
    expect(screen.getByRole("button", { name: "Imprimir" })).toBeInTheDocument();
    expect(screen.getByTestId("visitor-code")).toHaveAccessibleName("Código de visita 4 8 2 1 0 9 3 7");
  });
});
