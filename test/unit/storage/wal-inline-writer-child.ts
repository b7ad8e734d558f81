import { EntryType } from "../../../src/raft/messages.ts";
import { nodeFileSystem } from "../../../src/storage/file-system.ts";
import { WriteAheadLog } from "../../../src/storage/wal.ts";

// Child of wal-inline.test.ts: appends entries one at a time with `inline` appends and prints
// each index once its append has resolved (acknowledged), until it is killed with SIGKILL.

const dir = process.argv[2];
const { wal } = await WriteAheadLog.open(nodeFileSystem, dir);
for (let index = 1; ; index++) {
  await wal.append([{ term: 1, index, type: EntryType.Normal, data: new TextEncoder().encode(`entry-${index}`) }], { inline: true });
  process.stdout.write(`${index}\n`);
}
