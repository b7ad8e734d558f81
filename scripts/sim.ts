// Runs the deterministic simulator over a range of seeds:
//   npm run sim -- raft --seeds 1..500 [--jobs 2] [--trace] [--fault-ms 3000] [--heal-ms 1500]
//   npm run sim -- gossip --seeds 1..100   (dispatched to scripts/sim-gossip.ts)
// Exits non-zero if any seed fails, printing SEED=<n> and the command that replays it.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runSeed } from "../test/sim/cluster.ts";
import type { SimOptions } from "../test/sim/cluster.ts";

interface Args {
  target: string;
  from: number;
  to: number;
  jobs: number;
  trace: boolean;
  faultMs: number;
  healMs: number;
  worker: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { target: "", from: 1, to: 100, jobs: 2, trace: false, faultMs: 3000, healMs: 1500, worker: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--seeds") {
      const m = /^(\d+)(?:\.\.(\d+))?$/.exec(value());
      if (!m) throw new Error("--seeds takes N or A..B");
      args.from = Number(m[1]);
      args.to = Number(m[2] ?? m[1]);
    } else if (a === "--jobs") args.jobs = Math.max(1, Number(value()));
    else if (a === "--trace") args.trace = true;
    else if (a === "--fault-ms") args.faultMs = Number(value());
    else if (a === "--heal-ms") args.healMs = Number(value());
    else if (a === "--worker") args.worker = true;
    else if (!a.startsWith("-") && args.target === "") args.target = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (args.target !== "raft") throw new Error(`unknown simulation "${args.target}" (known: raft, gossip)`);
  return args;
}

interface SeedReport {
  seed: number;
  ok: boolean;
  error?: string;
  params: string;
  ms: number;
}

function runRange(args: Args, seeds: number[], report: (r: SeedReport) => void): void {
  const opts: SimOptions = { faultMs: args.faultMs, healMs: args.healMs };
  if (args.trace) opts.trace = (line) => console.log(line);
  for (const seed of seeds) {
    const t0 = performance.now();
    const res = runSeed(seed, opts);
    report({ seed, ok: res.ok, error: res.error, params: res.params, ms: performance.now() - t0 });
  }
}

function replayCommand(args: Args, seed: number): string {
  const extra = args.faultMs !== 3000 || args.healMs !== 1500 ? ` --fault-ms ${args.faultMs} --heal-ms ${args.healMs}` : "";
  return `npm run sim -- raft --seeds ${seed} --trace${extra}`;
}

/** Other simulators live in their own entry (scripts/sim-<name>.ts); run it with the same arguments. */
function dispatch(name: string, argv: string[]): Promise<number> {
  const script = fileURLToPath(new URL(`./sim-${name}.ts`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(script, argv, { execArgv: process.execArgv, stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === "gossip") return dispatch("gossip", argv.slice(1));
  const args = parseArgs(argv);
  const seeds: number[] = [];
  for (let s = args.from; s <= args.to; s++) seeds.push(s);

  if (args.worker) {
    runRange(args, seeds.filter((_, i) => i % args.jobs === Number(process.env.SIM_WORKER_INDEX ?? 0)), (r) => process.send?.(r));
    return 0;
  }

  const t0 = performance.now();
  const failures: SeedReport[] = [];
  let done = 0;
  const onReport = (r: SeedReport): void => {
    done++;
    if (!r.ok) {
      failures.push(r);
      console.error(`FAIL SEED=${r.seed} ${r.error}\n  params ${r.params}\n  replay: ${replayCommand(args, r.seed)}`);
    }
  };
  if (args.jobs === 1 || seeds.length === 1 || args.trace) {
    runRange(args, seeds, onReport);
  } else {
    const script = fileURLToPath(import.meta.url);
    await Promise.all(
      Array.from({ length: Math.min(args.jobs, seeds.length) }, (_, index) => {
        return new Promise<void>((resolve, reject) => {
          const child = fork(script, [...process.argv.slice(2), "--worker"], {
            env: { ...process.env, SIM_WORKER_INDEX: String(index) },
            execArgv: process.execArgv,
          });
          child.on("message", (r) => onReport(r as SeedReport));
          child.on("error", reject);
          child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sim worker ${index} exited with ${code}`))));
        });
      }),
    );
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (done !== seeds.length) {
    console.error(`only ${done} of ${seeds.length} seeds reported`);
    return 1;
  }
  if (failures.length > 0) {
    console.error(`${failures.length} of ${seeds.length} seeds failed in ${secs}s: ${failures.map((f) => `SEED=${f.seed}`).join(" ")}`);
    return 1;
  }
  console.log(`raft sim: ${seeds.length} seeds (${args.from}..${args.to}) passed in ${secs}s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
