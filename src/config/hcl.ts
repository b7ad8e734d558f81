// HCL is parsed by @cdktf/hcl2json, which boots a Go WebAssembly runtime when imported
// (~60 MB RSS and a noticeable slice of start-up). Most agents never read HCL, so the
// module is loaded only on the first HCL document.

type HclParse = (filename: string, text: string) => Promise<unknown>;

let parser: Promise<HclParse> | undefined;

export async function parseHcl(filename: string, text: string): Promise<unknown> {
  parser ??= import("@cdktf/hcl2json").then((m) => m.parse as HclParse);
  return (await parser)(filename, text);
}
