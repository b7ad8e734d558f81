import { hrefOf, type Route } from "./routes.ts";

// Where the app is mounted (the agent's ui_config.content_path) and its datacenter, set once
// at start from the index page's config.

export const site = { base: "/ui/", localDc: "dc1" };

export const href = (route: Route): string => hrefOf(route, site.base);
