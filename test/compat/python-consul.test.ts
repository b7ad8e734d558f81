import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// python-consul (the Debian package python3-consul, 0.7.x), unchanged, against a real
// `consulate agent -dev`: register with a TTL check, pass it, find the service passing.
// The client is a CI prerequisite (.ci/run installs it): when it is missing this fails loudly.

const PYTHONS = ["/usr/bin/python3", "python3"];

function pythonWithConsul(): string {
  for (const python of PYTHONS) {
    const probe = spawnSync(python, ["-c", "import consul"], { encoding: "utf8" });
    if (probe.status === 0) return python;
  }
  throw new Error(
    "python-consul is not installed: `import consul` failed for " + PYTHONS.join(" and ") + ". Install it with `apt-get install -y python3-consul`.",
  );
}

let agent: AgentProcess;
before(async () => {
  agent = await spawnDevAgent();
});
after(async () => {
  await agent?.kill();
});

const SCRIPT = `
import json, sys, consul
c = consul.Consul(host="127.0.0.1", port=int(sys.argv[1]))
out = {}
c.agent.service.register("py-web", service_id="py-web-1", address="127.0.0.1", port=8080, tags=["py"], check=consul.Check.ttl("30s"))
_, before = c.health.service("py-web", passing=True)
out["before"] = [e["Service"]["ID"] for e in before]
# python-consul 0.7 sends ttl_pass as GET, which Consul 1.x answers with 405 (the client returns
# False); the same call through the client's own HTTP layer with PUT is what newer clients send.
out["ttl_pass_get"] = c.agent.check.ttl_pass("service:py-web-1", "alive")
out["ttl_pass_put"] = c.http.put(consul.base.CB.bool(), "/v1/agent/check/pass/service:py-web-1", params={"note": "alive"})
index, after = c.health.service("py-web", passing=True)
out["after"] = [e["Service"]["ID"] for e in after]
out["output"] = [ch["Output"] for e in after for ch in e["Checks"] if ch["CheckID"] == "service:py-web-1"]
out["index"] = index
out["checks"] = sorted(c.agent.checks().keys())
# deregister is also a GET in python-consul 0.7; PUT through the client's HTTP layer.
c.http.put(consul.base.CB.bool(), "/v1/agent/service/deregister/py-web-1")
_, gone = c.health.service("py-web")
out["gone"] = gone
print(json.dumps(out))
`;

test("python-consul - register with a TTL check, pass it, find the service passing", () => {
  const python = pythonWithConsul();
  const run = spawnSync(python, ["-c", SCRIPT, String(agent.httpPort)], { encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 0, `python-consul script failed:\n${run.stderr}`);
  const out = JSON.parse(run.stdout) as { ttl_pass_get: boolean; ttl_pass_put: boolean; before: string[]; after: string[]; output: string[]; index: string; checks: string[]; gone: unknown[] };
  assert.deepEqual(out.before, [], "a TTL check starts critical");
  assert.equal(out.ttl_pass_get, false, "GET on /v1/agent/check/pass is 405, as Consul 1.x answers");
  assert.equal(out.ttl_pass_put, true);
  assert.deepEqual(out.after, ["py-web-1"]);
  assert.deepEqual(out.output, ["alive"]);
  assert.ok(Number(out.index) > 0);
  assert.deepEqual(out.checks, ["service:py-web-1"]);
  assert.deepEqual(out.gone, []);
});
