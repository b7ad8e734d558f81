import { ConfigError } from "../config/config-error.ts";
import type { HttpSettings } from "../http/context.ts";
import { UiSite } from "../http/ui-site.ts";
import type { Logger } from "../runtime/logger.ts";
import { builtUiDir, readUiFiles } from "../storage/ui-assets.ts";

/**
 * The web UI for ui_config: ui_config.dir when set (a missing directory refuses start), else
 * the bundle `npm ci`/`npm run build` put in dist/ui. A source checkout that was never built
 * still starts, answering UI paths with a hint rather than failing every -dev agent.
 */
export async function loadUiSite(
  ui: NonNullable<HttpSettings["ui"]>,
  cluster: { datacenter: string; primaryDatacenter: string; aclsEnabled: boolean },
  logger: Logger,
): Promise<UiSite | undefined> {
  const config = { contentPath: ui.contentPath, ...cluster };
  if (ui.dir !== "") {
    try {
      return new UiSite(await readUiFiles(ui.dir), config, { builtIn: false });
    } catch (err) {
      throw new ConfigError(`ui_config.dir: cannot read ${ui.dir}: ${err instanceof Error ? err.message : String(err)}`, { key: "ui_config.dir" });
    }
  }
  const dir = await builtUiDir();
  if (!dir) {
    logger.warn("web UI is enabled but not built (run `npm run build`); serving the API only");
    return undefined;
  }
  return new UiSite(await readUiFiles(dir), config, { builtIn: true });
}
