// Entry point: mounts the app shell into index.html's #app.
import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";

const target = document.getElementById("app");
if (!target) throw new Error("index.html is missing the #app element");

export default mount(App, { target });
