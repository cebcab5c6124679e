import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { mockCommands, reject } from "../../../test/ipc";
import AdminSignIn from "./AdminSignIn.svelte";

describe("AdminSignIn in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("asks for both fields, says a wrong password plainly, and follows a change of language", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    const onsignedin = vi.fn();
    mockCommands({ admin_login: reject("UNAUTHORIZED", "bad credentials") });
    render(AdminSignIn, { onsignedin });
    expect(screen.getByRole("heading", { name: "Inicio de sesión de administrador" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Iniciar sesión" }));
    expect(await screen.findByTestId("admin-signin-error")).toHaveTextContent("Escriba su nombre de usuario y contraseña.");

    await user.type(screen.getByLabelText("Nombre de usuario"), "kim");
    await user.type(screen.getByLabelText("Contraseña"), "wrong password");
    await user.click(screen.getByRole("button", { name: "Iniciar sesión" }));
    const error = await screen.findByText("Nombre de usuario o contraseña incorrectos");
    expect(screen.getByTestId("admin-signin-error")).toHaveTextContent("Las contraseñas distinguen mayúsculas y minúsculas.");
    expect(error).toBeInTheDocument();
    setDeviceLanguage("en");
    expect(await screen.findByText("Wrong username or password")).toBeInTheDocument();
    expect(screen.getByTestId("admin-signin-error")).toHaveTextContent("Passwords are case-sensitive.");
    expect(onsignedin).not.toHaveBeenCalled();
  });
});
