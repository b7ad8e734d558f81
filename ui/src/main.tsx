import { render } from "preact";
import { App } from "./app.tsx";
import { readUiConfig } from "./config.ts";
import { startNavigation } from "./navigation.ts";
import { site } from "./site.ts";
import "./styles.css";

const config = readUiConfig(document);
site.base = config.ContentPath;
site.localDc = config.LocalDatacenter;
startNavigation();
const root = document.getElementById("app");
if (root) render(<App />, root);
