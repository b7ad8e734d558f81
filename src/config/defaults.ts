// Every default in one place, in the config-file shape (snake_case, Go durations) so it merges
// like any other source and shows up verbatim in /v1/agent/self DebugConfig. Values follow
// Consul's DefaultSource (agent/config/default.go); the dev profile overrides a few fields,
// as DevSource does.

import type { RawConfig } from "./decode.ts";

export const DEFAULT_CONFIG: RawConfig = {
  datacenter: "dc1",
  // node_name: hostname, node_id: random UUID — both filled in when the runtime config is built.
  server: false,
  bootstrap: false,
  bootstrap_expect: 0,
  bind_addr: "0.0.0.0",
  client_addr: "127.0.0.1",
  domain: "consul.",
  log_level: "INFO",
  log_json: false,
  log_rotate_duration: "24h",
  log_rotate_max_files: 0,
  syslog_facility: "LOCAL0",
  protocol: 2,
  raft_protocol: 3,
  raft_snapshot_threshold: 16384,
  raft_snapshot_interval: "30s",
  raft_trailing_logs: 10240,
  // reconnect_timeout has a documented floor of 8h (enforced when building).
  reconnect_timeout: "72h",
  reconnect_timeout_wan: "72h",
  retry_interval: "30s",
  retry_interval_wan: "30s",
  retry_max: 0, // 0 = retry forever
  retry_max_wan: 0,
  session_ttl_min: "10s",
  check_update_interval: "5m",
  check_output_max_size: 4096,
  // Blocking queries: ?wait defaults to default_query_time and is clamped to max_query_time.
  default_query_time: "300s",
  max_query_time: "600s",
  discovery_max_stale: "0s",
  disable_host_node_id: true,
  disable_remote_exec: true,
  disable_coordinates: false,
  sync_coordinate_interval_min: "15s",
  sync_coordinate_rate_target: 64,
  disable_update_check: false,
  enable_central_service_config: true,
  enable_debug: false,
  enable_script_checks: false,
  // enable_local_script_checks defaults to enable_script_checks (resolved when building).
  encrypt_verify_incoming: true,
  encrypt_verify_outgoing: true,
  primary_gateways_interval: "30s",
  server_rejoin_age_max: "168h",
  use_streaming_backend: true,
  acl: {
    enabled: false,
    default_policy: "allow",
    down_policy: "extend-cache",
    enable_token_persistence: false,
    token_ttl: "30s",
    policy_ttl: "30s",
    role_ttl: "30s",
  },
  // The docs say false; Consul's recent default.go says true. -dev turns it on either way.
  connect: { enabled: false, ca_provider: "consul" },
  peering: { enabled: true },
  ports: {
    dns: 8600,
    http: 8500,
    https: -1, // -1 disables a listener
    grpc: -1,
    // grpc_tls: 8503 on servers, -1 on clients (resolved when building).
    serf_lan: 8301,
    serf_wan: 8302,
    server: 8300,
    sidecar_min_port: 21000,
    sidecar_max_port: 21255,
    expose_min_port: 21500,
    expose_max_port: 21755,
  },
  ui_config: { enabled: false, content_path: "/ui/" },
  performance: { raft_multiplier: 5, leave_drain_time: "5s", rpc_hold_timeout: "7s" },
  limits: {
    http_max_conns_per_client: 200,
    https_handshake_timeout: "5s",
    rpc_handshake_timeout: "5s",
    rpc_max_conns_per_client: 100,
    rpc_rate: -1, // unlimited
    rpc_max_burst: 1000,
    // PUT /v1/kv bodies above this answer 413; /v1/txn bodies get the larger of the two.
    kv_max_value_size: 524288,
    txn_max_req_len: 524288,
    request_limits: { mode: "disabled", read_rate: -1, write_rate: -1 },
    // Consulate's own (Consul has none): DNS requests a second per source address, in bursts
    // of one second's worth; 0 or less = unbounded. One source may take about an eighth of
    // what one agent answers a second (BENCHMARKS.md), so others are still answered.
    dns_max_qps_per_client: 10000,
  },
  telemetry: {
    prometheus_retention_time: "0s", // 0 = Prometheus format disabled
    disable_hostname: false,
    metrics_prefix: "consul",
    filter_default: true,
  },
  autopilot: {
    cleanup_dead_servers: true,
    last_contact_threshold: "200ms",
    max_trailing_logs: 250,
    min_quorum: 0,
    server_stabilization_time: "10s",
  },
  gossip_lan: {
    gossip_nodes: 3,
    gossip_interval: "200ms",
    probe_interval: "1s",
    probe_timeout: "500ms",
    retransmit_mult: 4,
    suspicion_mult: 4,
  },
  gossip_wan: {
    gossip_nodes: 4,
    gossip_interval: "500ms",
    probe_interval: "5s",
    probe_timeout: "3s",
    retransmit_mult: 4,
    suspicion_mult: 6,
  },
  dns_config: {
    allow_stale: true,
    max_stale: "87600h",
    node_ttl: "0s",
    enable_truncate: false,
    only_passing: false,
    udp_answer_limit: 3,
    a_record_limit: 0,
    recursor_strategy: "sequential",
    recursor_timeout: "2s",
    disable_compression: false,
    enable_additional_node_meta_txt: true,
    soa: { refresh: 3600, retry: 600, expire: 86400, min_ttl: 0 },
    use_cache: false,
    cache_max_age: "0s",
  },
  http_config: { use_cache: true, max_header_bytes: 0 },
  cache: { entry_fetch_max_burst: 2, entry_fetch_rate: Number.MAX_VALUE },
  rpc: { enable_streaming: true },
  tls: { defaults: { tls_min_version: "TLSv1_2", verify_incoming: false, verify_outgoing: false } },
  xds: { update_max_per_second: 250 },
};

/** `-dev`: one in-memory server on loopback with fast gossip; user files still override it. */
export const DEV_CONFIG: RawConfig = {
  bind_addr: "127.0.0.1",
  disable_anonymous_signature: true,
  disable_keyring_file: true,
  enable_debug: true,
  ui_config: { enabled: true },
  log_level: "DEBUG",
  server: true,
  gossip_lan: { gossip_interval: "100ms", probe_interval: "100ms", probe_timeout: "100ms", suspicion_mult: 3 },
  gossip_wan: { gossip_interval: "100ms", probe_interval: "100ms", probe_timeout: "100ms", suspicion_mult: 3 },
  connect: { enabled: true },
  peering: { enabled: true },
  performance: { raft_multiplier: 1 },
  ports: { grpc: 8502 },
};

/** Internal timings that are not user-settable (Consul's NonUserSource / DevConsulSource). */
export const INTERNAL_TIMINGS = {
  /** Anti-entropy full-sync interval. */
  aeIntervalMs: 60_000,
  checkReapIntervalMs: 30_000,
  /** Raft timings at raft_multiplier = 1; scaled by the multiplier. */
  raftElectionTimeoutMs: 1000,
  raftHeartbeatTimeoutMs: 1000,
  raftLeaderLeaseTimeoutMs: 500,
  coordinateUpdatePeriodMs: 5000,
} as const;

export const DEV_INTERNAL_TIMINGS = {
  aeIntervalMs: 60_000,
  checkReapIntervalMs: 30_000,
  raftElectionTimeoutMs: 52,
  raftHeartbeatTimeoutMs: 35,
  raftLeaderLeaseTimeoutMs: 20,
  coordinateUpdatePeriodMs: 100,
} as const;
