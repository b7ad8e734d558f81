// `consul keygen`: a new base64-encoded 32-byte key for gossip encryption (`-encrypt`).
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import { printLine } from "./command-io.ts";
import { keygen } from "../transport/gossip-crypto.ts";

const HELP = `
Usage: consulate keygen

  Generates a new encryption key that can be used to configure the
  agent to encrypt traffic. The output of this command is already
  in the proper format that the agent expects.
`;

export const keygenCommand: CommandDefinition = {
  synopsis: "Generates a new encryption key",
  help: helpFor(HELP, undefined),
  run: async (args, io) => {
    const parsed = parseCommandLine({}, HELP, args, io);
    if (typeof parsed === "number") return parsed;
    printLine(io.stdout, keygen());
    return 0;
  },
};
