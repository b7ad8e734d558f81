// HCL is parsed by @cdktf/hcl2json, which boots a Go WebAssembly runtime when imported
// (~60 MB RSS and a noticeable slice of start-up). Most agents never read HCL, so the
// module is loaded only on the first HCL document.

type HclParse = (filename: string, text: string) => Promise<unknown>;

let parser: Promise<HclParse> | undefined;

export async function parseHcl(filename: string, text: string): Promise<unknown> {
  parser ??= import("@cdktf/hcl2json").then((m) => m.parse as HclParse);
  try {
    return await (await parser)(filename, text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const hint = nestedBlockInObjectHint(message, text);
    if (hint === undefined) throw err;
    throw new Error(`${message} ${hint}`, { cause: err });
  }
}

/**
 * Consul reads HCL with HCL1, which also takes a nested block inside an object in a list
 * (`bootstrap = [ { Kind = "proxy-defaults" Config { … } } ]`); HCL2 takes only `key = value`
 * there. We do not guess at the HCL1 meaning: the error says what to write instead.
 */
function nestedBlockInObjectHint(message: string, text: string): string | undefined {
  if (!message.includes("Missing key/value separator")) return undefined;
  const at = /:(\d+),(\d+)-/.exec(message);
  const line = at ? text.split("\n")[Number(at[1]) - 1] : undefined;
  const name = line?.slice(0, Number(at?.[2] ?? 1) - 1).match(/([A-Za-z_][\w-]*)\s*$/)?.[1];
  if (name === undefined || !line?.slice(Number(at?.[2] ?? 1) - 1).trimStart().startsWith("{")) return undefined;
  return `(inside an object in a list, HCL2 needs an equals sign: write \`${name} = { ... }\`; the HCL1 nested-block form \`${name} { ... }\` is not supported there)`;
}
