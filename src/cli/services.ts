// `consul services register|deregister`: manage services on the local agent from files or flags.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { intFlag, mapFlag, repeatableFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, HTTP_TENANCY_FLAGS } from "./http-client.ts";
import type { ServiceRegistration } from "./service-definition.ts";
import { servicesFromFiles } from "./service-definition.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS, ...HTTP_TENANCY_FLAGS } as const;

const REGISTER_FLAGS = {
  id: stringFlag("ID of the service to register for arg-based registration. If this isn't set, it will default to the -name value."),
  name: stringFlag("Name of the service to register for arg-based registration."),
  address: stringFlag("Address of the service to register for arg-based registration."),
  port: intFlag("Port of the service to register for arg-based registration."),
  socket: stringFlag(
    "Path to the Unix domain socket to register for arg-based registration (conflicts with address and port).",
  ),
  meta: mapFlag(
    "Metadata to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.",
  ),
  tag: repeatableFlag("Tag to add to the service. This flag can be specified multiple times to set multiple tags."),
  "tagged-address": mapFlag(
    "Tagged address to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple addresses.",
  ),
  kind: stringFlag("The services 'kind'"),
  ...HTTP_FLAGS,
} as const;

const REGISTER_HELP = `
Usage: consulate services register [options] [FILE...]

  Register one or more services using the local agent API. Services can
  be registered from standard Consul configuration files (HCL or JSON) or
  using flags. The service is registered and the command returns. The caller
  must remember to call "consulate services deregister" or a similar API to
  deregister the service when complete.

      $ consulate services register web.json

  Additional flags and more advanced use cases are detailed below.
`;

/** api.ParseServiceAddr: "host:port" (IPv6 in brackets). */
function parseServiceAddress(text: string): { Address: string; Port: number } {
  const match = /^(?:\[(.*)\]|(.*)):(\d+)$/.exec(text);
  if (!match) throw new Error(`address ${text}: missing port in address`);
  return { Address: match[1] ?? match[2], Port: Number(match[3]) };
}

/** The registration built from flags, omitting empty fields as Go's `omitempty` does. */
export function registrationFromFlags(flags: {
  id: string;
  name: string;
  address: string;
  port: number;
  socket: string;
  meta: Record<string, string>;
  tag: string[];
  "tagged-address": Record<string, string>;
  kind: string;
}): ServiceRegistration {
  const registration: ServiceRegistration = {};
  if (flags.kind !== "") registration.Kind = flags.kind;
  if (flags.id !== "") registration.ID = flags.id;
  if (flags.name !== "") registration.Name = flags.name;
  if (flags.tag.length > 0) registration.Tags = flags.tag;
  if (flags.port !== 0) registration.Port = flags.port;
  if (flags.address !== "") registration.Address = flags.address;
  if (flags.socket !== "") registration.SocketPath = flags.socket;
  const tagged = Object.entries(flags["tagged-address"]);
  if (tagged.length > 0) {
    registration.TaggedAddresses = Object.fromEntries(tagged.map(([k, v]) => [k, parseServiceAddress(v)]));
  }
  if (Object.keys(flags.meta).length > 0) registration.Meta = flags.meta;
  return registration;
}

async function runRegister(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(REGISTER_FLAGS, REGISTER_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;

  let services: ServiceRegistration[];
  try {
    services = [registrationFromFlags(flags)];
  } catch (err) {
    printLine(io.stderr, `Invalid Tagged Address: ${errorMessage(err)}`);
    return 1;
  }
  if (parsed.args.length === 0 && flags.name === "") {
    printLine(io.stderr, "Service registration requires at least one argument or flags.");
    return 1;
  }
  if (parsed.args.length > 0 && flags.name !== "") {
    printLine(io.stderr, "Service registration requires arguments or -id, not both.");
    return 1;
  }
  if (parsed.args.length > 0) {
    try {
      services = await servicesFromFiles(parsed.args);
    } catch (err) {
      printLine(io.stderr, `Error: ${errorMessage(err)}`);
      return 1;
    }
  }

  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  for (const service of services) {
    const name = String(service.Name ?? "");
    try {
      await client.sendOK({
        method: "PUT",
        path: "/v1/agent/service/register",
        body: JSON.stringify(service),
      });
    } catch (err) {
      printLine(io.stderr, `Error registering service ${JSON.stringify(name)}: ${errorMessage(err)}`);
      return 1;
    }
    printLine(io.stdout, `Registered service: ${name}`);
  }
  return 0;
}

const DEREGISTER_FLAGS = {
  id: stringFlag("ID to delete. This must not be set if arguments are given."),
  ...HTTP_FLAGS,
} as const;

const DEREGISTER_HELP = `
Usage: consulate services deregister [options] [FILE...]

  Deregister one or more services that were previously registered with
  the local agent.

      $ consulate services deregister web.json db.json

  The -id flag may be used to deregister a single service by ID:

      $ consulate services deregister -id=web

  Services are deregistered from the local agent catalog. This command must
  be run against the same agent where the service was registered.
`;

async function runDeregister(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(DEREGISTER_FLAGS, DEREGISTER_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  if (parsed.args.length === 0 && flags.id === "") {
    printLine(io.stderr, "Service deregistration requires at least one argument or -id.");
    return 1;
  }
  if (parsed.args.length > 0 && flags.id !== "") {
    printLine(io.stderr, "Service deregistration requires arguments or -id, not both.");
    return 1;
  }
  let services: ServiceRegistration[] = [{ ID: flags.id }];
  if (parsed.args.length > 0) {
    try {
      services = await servicesFromFiles(parsed.args);
    } catch (err) {
      printLine(io.stderr, `Error: ${errorMessage(err)}`);
      return 1;
    }
  }
  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  for (const service of services) {
    const id = String(service.ID ?? "") || String(service.Name ?? "");
    if (id === "") continue;
    try {
      await client.sendOK({ method: "PUT", path: `/v1/agent/service/deregister/${escapePath(id)}` });
    } catch (err) {
      printLine(io.stderr, `Error deregistering service ${JSON.stringify(String(service.Name ?? ""))}: ${errorMessage(err)}`);
      return 1;
    }
    printLine(io.stdout, `Deregistered service: ${id}`);
  }
  return 0;
}

const SERVICES_HELP = `
Usage: consulate services <subcommand> [options] [args]

  This command has subcommands for interacting with services. The subcommands
  default to working with services registered with the local agent.

  To register a service from a file:

      $ consulate services register web.json

  To deregister that service:

      $ consulate services deregister web.json

  For more examples, ask for subcommand help or view the documentation.
`;

export const servicesCommands: Readonly<Record<string, CommandDefinition>> = {
  services: { synopsis: "Interact with services", help: helpFor(SERVICES_HELP, undefined) },
  "services register": {
    synopsis: "Register services with the local agent",
    help: helpFor(REGISTER_HELP, REGISTER_FLAGS),
    run: runRegister,
  },
  "services deregister": {
    synopsis: "Deregister services with the local agent",
    help: helpFor(DEREGISTER_HELP, DEREGISTER_FLAGS),
    run: runDeregister,
  },
};
