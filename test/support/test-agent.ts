import assert from "node:assert/strict";
import { startAgent, type AgentRuntimeOptions, type RunningAgent } from "../../src/launch/start-agent.ts";
import { silentLogger } from "../../src/runtime/logger.ts";

export interface TestAgent {
  running: RunningAgent;
  /** e.g. "http://127.0.0.1:40123" */
  base: string;
  stop(): Promise<void>;
}

/** The HTTP settings a test agent runs with: Consul's defaults (512 KiB KV values and txn bodies, default-allow ACLs). */
export function testHttpSettings(nodeName: string): AgentRuntimeOptions["http"] {
  return {
    datacenter: "dc1",
    nodeName,
    devMode: false,
    kvMaxValueSizeBytes: 524288,
    txnMaxReqLenBytes: 524288,
    aclDefaultPolicy: "allow",
    prometheusRetentionTimeMs: 0,
    discoveryMaxStaleMs: 0,
    blockEndpoints: [],
  };
}

/** An in-process agent on a free port with quiet logs, for handler-level tests. */
export async function startTestAgent(
  overrides: Partial<AgentRuntimeOptions["http"]> = {},
  extra: { identity?: Partial<AgentRuntimeOptions["identity"]>; consensus?: AgentRuntimeOptions["consensus"]; acl?: AgentRuntimeOptions["acl"]; dns?: AgentRuntimeOptions["dns"]; preparedQueryRemote?: AgentRuntimeOptions["preparedQueryRemote"] } = {},
): Promise<TestAgent> {
  const running = await startAgent(
    {
      identity: {
        nodeName: "test-node",
        nodeId: "11111111-2222-3333-4444-555555555555",
        datacenter: overrides.datacenter ?? "dc1",
        server: true,
        advertiseAddr: "127.0.0.1",
        serverPort: 8300,
        serfLanPort: 8301,
        nodeMeta: {},
        ...extra.identity,
      },
      http: { ...testHttpSettings("test-node"), ...overrides },
      httpHost: "127.0.0.1",
      httpPort: 0,
      logLevel: "error",
      logJson: false,
      consensus: extra.consensus,
      acl: extra.acl,
      dns: extra.dns,
      preparedQueryRemote: extra.preparedQueryRemote,
    },
    { logger: silentLogger },
  );
  return { running, base: `http://127.0.0.1:${running.http.address.port}`, stop: () => running.stop() };
}

/** PUT /v1/catalog/register on `agent`, asserting the 200 (the body text is the failure message). */
export async function registerInCatalog(agent: TestAgent, body: unknown): Promise<void> {
  const res = await fetch(`${agent.base}/v1/catalog/register`, { method: "PUT", body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.text());
}
