import { fileURLToPath } from "node:url";
import { nextMessage, spawnNode, type SpawnedProcess } from "./child-process.ts";

// Runner side of the load generator: a child process that runs one autocannon job at a time.

export interface LoadJob {
  url: string;
  method: "GET" | "PUT" | "POST";
  body?: string;
  connections: number;
  durationSeconds: number;
}

export interface LoadOutcome {
  requestsPerSecond: number;
  /** Response bytes (headers and bodies) received per second. */
  bytesPerSecond: number;
  completed: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const LOAD_WORKER = fileURLToPath(new URL("./load-worker.ts", import.meta.url));

function isLoadOutcome(m: unknown): m is LoadOutcome {
  return typeof m === "object" && m !== null && "requestsPerSecond" in m;
}

export class LoadGenerator {
  readonly #worker: SpawnedProcess;

  constructor() {
    this.#worker = spawnNode(LOAD_WORKER, [], { label: "load", ipc: true, viaTsx: true });
  }

  async run(job: LoadJob): Promise<LoadOutcome> {
    const answer = nextMessage(this.#worker, isLoadOutcome, job.durationSeconds * 1000 + 30_000);
    this.#worker.child.send(job);
    return answer;
  }

  stop(): Promise<void> {
    return this.#worker.stop();
  }
}
