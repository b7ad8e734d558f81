// `consul tls ca create` and `consul tls cert create`: the agent CA and server/client/cli
// certificates, written to the current directory under Consul's file names.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, intFlag, repeatableFlag, stringFlag } from "./go-flags.ts";
import type { CertKind } from "./tls-certs.ts";

/** Loaded lazily: the X.509 library is only worth its start-up cost for these commands. */
const certs = () => import("./tls-certs.ts");

/** Where files land; tests run the command in-process, so the directory is injectable. */
export interface TlsCommandEnv {
  cwd: () => string;
  now: () => Date;
}

const DEFAULT_ENV: TlsCommandEnv = { cwd: () => process.cwd(), now: () => new Date() };

const TLS_HELP = `
Usage: consulate tls <subcommand> [options] [filename-prefix]

  This command has subcommands for interacting with Consul TLS.

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  Create a CA

    $ consulate tls ca create

  Create a server certificate

    $ consulate tls cert create -server

  Create a client certificate

    $ consulate tls cert create -client

  For more examples, ask for subcommand help or view the documentation.
`;

const CA_HELP = `
Usage: consulate tls ca <subcommand> [options] filename-prefix

  This command has subcommands for interacting with Consul TLS
  Certificate Authorities.

  Create a CA

    $ consulate tls ca create
`;

const CERT_HELP = `
Usage: consulate tls cert <subcommand> [options] [filename-prefix]

  This command has subcommands for interacting with certificates

  Create a server certificate

    $ consulate tls cert create -server

  Create a client certificate

    $ consulate tls cert create -client
`;

const CA_CREATE_FLAGS = {
  days: intFlag("Provide number of days the CA is valid for from now on. Defaults to 5 years.", 1825),
  domain: stringFlag("Domain of consul cluster. Only used in combination with -name-constraint. Defaults to consul.", "consul"),
  "common-name": stringFlag("Common Name of CA. Defaults to Consul Agent CA."),
} as const;

const CA_CREATE_HELP = `
Usage: consulate tls ca create [options]

  Create a new consul CA:

  $ consulate tls ca create
  ==> Saved consul-agent-ca.pem
  ==> Saved consul-agent-ca-key.pem
`;

const CERT_CREATE_FLAGS = {
  ca: stringFlag("Provide path to the ca. Defaults to #DOMAIN#-agent-ca.pem.", "#DOMAIN#-agent-ca.pem"),
  key: stringFlag("Provide path to the key. Defaults to #DOMAIN#-agent-ca-key.pem.", "#DOMAIN#-agent-ca-key.pem"),
  server: boolFlag("Generate server certificate."),
  client: boolFlag("Generate client certificate."),
  cli: boolFlag("Generate cli certificate."),
  node: stringFlag(
    "When generating a server cert and this is set an additional dns name is included of the form <node>.server.<datacenter>.<domain>.",
  ),
  days: intFlag("Provide number of days the certificate is valid for from now on. Defaults to 1 year.", 365),
  dc: stringFlag("Provide the datacenter. Matters only for -server certificates. Defaults to dc1.", "dc1"),
  domain: stringFlag("Provide the domain. Matters only for -server certificates.", "consul"),
  "additional-dnsname": repeatableFlag(
    "Provide an additional dnsname for Subject Alternative Names. localhost is always included. This flag may be provided multiple times.",
  ),
  "additional-ipaddress": repeatableFlag(
    "Provide an additional ipaddress for Subject Alternative Names. 127.0.0.1 is always included. This flag may be provided multiple times.",
  ),
} as const;

const CERT_CREATE_HELP = `
Usage: consulate tls cert create [options]

  Create a new certificate

  $ consulate tls cert create -server
  ==> WARNING: Server Certificates grants authority to become a
      server and access all state in the cluster including root keys
      and all ACL tokens. Do not distribute them to production hosts
      that are not server nodes. Store them as securely as CA keys.
  ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
  ==> Saved dc1-server-consul-0.pem
  ==> Saved dc1-server-consul-0-key.pem
  $ consulate tls cert create -client
  ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
  ==> Saved dc1-client-consul-0.pem
  ==> Saved dc1-client-consul-0-key.pem
`;

const SERVER_WARNING = `==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys.`;

function goReadError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `open ${path}: no such file or directory`;
  if (code === "EACCES") return `open ${path}: permission denied`;
  if (code === "EISDIR") return `read ${path}: is a directory`;
  return err instanceof Error ? err.message : String(err);
}

export function makeCaCreate(env: TlsCommandEnv = DEFAULT_ENV) {
  return async function runCaCreate(args: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandLine(CA_CREATE_FLAGS, CA_CREATE_HELP, args, io);
    if (typeof parsed === "number") return parsed;
    const { days, domain } = parsed.values;
    const certFile = `${domain}-agent-ca.pem`;
    const keyFile = `${domain}-agent-ca-key.pem`;
    for (const f of [certFile, keyFile]) {
      if (existsSync(resolve(env.cwd(), f))) {
        printLine(io.stderr, `${f} already exists.`);
        return 1;
      }
    }
    const { generateCa } = await certs();
    const pair = await generateCa({ days, now: env.now(), commonName: parsed.values["common-name"] || undefined });
    await writeFile(resolve(env.cwd(), certFile), pair.certPem, { mode: 0o666, flag: "wx" });
    printLine(io.stdout, `==> Saved ${certFile}`);
    await writeFile(resolve(env.cwd(), keyFile), pair.keyPem, { mode: 0o600, flag: "wx" });
    printLine(io.stdout, `==> Saved ${keyFile}`);
    return 0;
  };
}

export function makeCertCreate(env: TlsCommandEnv = DEFAULT_ENV) {
  return async function runCertCreate(args: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandLine(CERT_CREATE_FLAGS, CERT_CREATE_HELP, args, io);
    if (typeof parsed === "number") return parsed;
    const v = parsed.values;
    if (v.ca === "") return fail(io, "Please provide the ca");
    if (v.key === "") return fail(io, "Please provide the key");
    const kinds = (["server", "client", "cli"] as const).filter((k) => v[k]);
    if (kinds.length !== 1) return fail(io, "Please provide either -server, -client, or -cli");
    const kind: CertKind = kinds[0];
    if (v.node !== "" && kind !== "server") return fail(io, "-node requires -server");

    const filePrefix = `${v.dc}-${kind}-${v.domain}`;
    let certFile = "";
    let keyFile = "";
    for (let i = 0; i <= 10_000; i++) {
      const c = `${filePrefix}-${i}.pem`;
      const k = `${filePrefix}-${i}-key.pem`;
      if (!existsSync(resolve(env.cwd(), c)) && !existsSync(resolve(env.cwd(), k))) {
        certFile = c;
        keyFile = k;
        break;
      }
    }
    if (certFile === "") return fail(io, "Could not find a filename that doesn't already exist");

    const caFile = v.ca.replace("#DOMAIN#", v.domain);
    const caKeyFile = v.key.replace("#DOMAIN#", v.domain);
    let caPem: string;
    let caKeyPem: string;
    try {
      caPem = await readFile(resolve(env.cwd(), caFile), "utf8");
    } catch (err) {
      return fail(io, `Error reading CA: ${goReadError(caFile, err)}`);
    }
    try {
      caKeyPem = await readFile(resolve(env.cwd(), caKeyFile), "utf8");
    } catch (err) {
      return fail(io, `Error reading CA key: ${goReadError(caKeyFile, err)}`);
    }
    if (kind === "server") printLine(io.stdout, SERVER_WARNING);
    printLine(io.stdout, `==> Using ${caFile} and ${caKeyFile}`);

    const { generateCert } = await certs();
    let pair;
    try {
      pair = await generateCert({
        kind,
        caPem,
        caKeyPem,
        datacenter: v.dc,
        domain: v.domain,
        days: v.days,
        now: env.now(),
        node: v.node,
        additionalDnsNames: v["additional-dnsname"],
        additionalIps: v["additional-ipaddress"],
      });
    } catch (err) {
      return fail(io, err instanceof Error ? err.message : String(err));
    }
    await writeFile(resolve(env.cwd(), certFile), pair.certPem, { mode: 0o666 });
    printLine(io.stdout, `==> Saved ${certFile}`);
    await writeFile(resolve(env.cwd(), keyFile), pair.keyPem, { mode: 0o600 });
    printLine(io.stdout, `==> Saved ${keyFile}`);
    return 0;
  };
}

function fail(io: CommandIO, message: string): number {
  printLine(io.stderr, message);
  return 1;
}

export const tlsCommands: Readonly<Record<string, CommandDefinition>> = {
  tls: { synopsis: "Builtin helpers for creating CAs and certificates", help: helpFor(TLS_HELP, undefined) },
  "tls ca": { synopsis: "Helpers for CAs", help: helpFor(CA_HELP, undefined) },
  "tls ca create": { synopsis: "Create a new consul CA", help: helpFor(CA_CREATE_HELP, CA_CREATE_FLAGS), run: makeCaCreate() },
  "tls cert": { synopsis: "Helpers for certificates", help: helpFor(CERT_HELP, undefined) },
  "tls cert create": { synopsis: "Create a new certificate", help: helpFor(CERT_CREATE_HELP, CERT_CREATE_FLAGS), run: makeCertCreate() },
};
