import type { RuntimeConfig } from "../config/runtime-config.ts";
import { dnsSettingsFromConfig } from "../dns/dns-settings.ts";
import { httpsServerOptions } from "./https-options.ts";
import type { AclWiringOptions } from "./acl-wiring.ts";
import type { AgentRuntimeOptions } from "./start-agent.ts";

/** Maps the resolved configuration onto what the wiring needs. */
export function agentOptionsFromConfig(rc: RuntimeConfig): AgentRuntimeOptions {
  return {
    identity: {
      nodeName: rc.nodeName,
      nodeId: rc.nodeId,
      datacenter: rc.datacenter,
      server: rc.server,
      advertiseAddr: rc.advertiseAddr,
      serverPort: rc.ports.server,
      serfLanPort: rc.ports.serfLan,
      nodeMeta: rc.nodeMeta,
    },
    http: {
      datacenter: rc.datacenter,
      nodeName: rc.nodeName,
      devMode: rc.dev,
      enableDebug: rc.enableDebug,
      kvMaxValueSizeBytes: rc.kvMaxValueSizeBytes,
      txnMaxReqLenBytes: rc.txnMaxReqLenBytes,
      aclDefaultPolicy: rc.aclDefaultPolicy,
      prometheusRetentionTimeMs: rc.prometheusRetentionTimeMs,
      discoveryMaxStaleMs: rc.discoveryMaxStaleMs,
      blockEndpoints: rc.blockEndpoints,
      rpcHoldTimeoutMs: rc.rpcHoldTimeoutMs,
      httpMaxConnsPerClient: rc.httpMaxConnsPerClient,
      ui: rc.uiEnabled ? { contentPath: rc.uiContentPath, dir: rc.uiDir } : undefined,
    },
    httpHost: rc.listenAddrs.http[0] ?? rc.clientAddrs[0] ?? "127.0.0.1",
    httpPort: rc.ports.http,
    https:
      rc.ports.https > 0 && rc.httpsTls?.cert !== undefined
        ? { host: rc.listenAddrs.https[0] ?? rc.clientAddrs[0] ?? "127.0.0.1", port: rc.ports.https, tls: httpsServerOptions(rc.httpsTls, rc.httpsHandshakeTimeoutMs) }
        : rc.ports.https > 0 && rc.autoEncrypt.tls
          ? // The certificate comes from the servers at start (auto-encrypt.ts).
            { host: rc.listenAddrs.https[0] ?? rc.clientAddrs[0] ?? "127.0.0.1", port: rc.ports.https, tls: {}, autoCert: true }
          : undefined,
    dns: { hosts: rc.listenAddrs.dns.length > 0 ? rc.listenAddrs.dns : rc.clientAddrs, port: rc.ports.dns > 0 ? rc.ports.dns : -1, settings: dnsSettingsFromConfig(rc) },
    logLevel: rc.logLevel,
    logJson: rc.logJson,
    runtimeConfig: rc,
    acl: rc.aclEnabled ? aclOptionsFromConfig(rc) : undefined,
  };
}

/** The acl stanza as the ACL wiring takes it (only while acl.enabled). */
export function aclOptionsFromConfig(rc: RuntimeConfig): AclWiringOptions {
  const t = rc.aclTokens;
  return {
    defaultPolicy: rc.aclDefaultPolicy,
    downPolicy: rc.aclDownPolicy,
    tokenTtlMs: rc.aclTokenTtlMs,
    policyTtlMs: rc.aclPolicyTtlMs,
    roleTtlMs: rc.aclRoleTtlMs,
    enableKeyListPolicy: rc.aclEnableKeyListPolicy,
    initialManagement: t.initialManagement,
    defaultToken: t.default,
    agentTokens: {
      agent: t.agent,
      agent_recovery: t.agentRecovery,
      replication: t.replication,
      config_file_service_registration: t.configFileServiceRegistration,
      dns: t.dns,
    },
    enableTokenPersistence: rc.aclEnableTokenPersistence,
    // Where acl-bootstrap-reset and acl-tokens.json live; -dev has one only when -data-dir is given.
    dataDir: rc.dataDir !== "" ? rc.dataDir : undefined,
  };
}
