// Every key a Consul agent config file may contain, as data. Decoding, unknown-key detection,
// value checks and merging all walk this one tree, so adding a key is a one-line change here.
// Keys this single-node build does not act on are still listed: real configs must load.

export type LeafKind =
  | "string"
  | "int"
  | "float"
  | "bool"
  /** Go duration string ("10s"); checked while decoding so the error names the file. */
  | "duration"
  /** int port; > 65535 is an error, <= 0 disables (Consul's portVal). */
  | "port"
  /** IP address, space-separated list, unix:// path or go-sockaddr template. */
  | "addrs"
  /** datacenter name: lower-cased, then [a-z0-9_-]+ */
  | "dcName";

export type SchemaNode =
  | { kind: LeafKind }
  | { kind: "list"; item: SchemaNode }
  | { kind: "map"; value: SchemaNode }
  | { kind: "object"; fields: Readonly<Record<string, SchemaNode>>; camelAliases?: boolean; aliases?: Readonly<Record<string, string>> }
  /** Accepted as is, never key-checked (opaque maps such as proxy config, CA config). */
  | { kind: "opaque" };

export type ObjectNode = Extract<SchemaNode, { kind: "object" }>;

const str: SchemaNode = { kind: "string" };
const int: SchemaNode = { kind: "int" };
const float: SchemaNode = { kind: "float" };
const bool: SchemaNode = { kind: "bool" };
const dur: SchemaNode = { kind: "duration" };
const port: SchemaNode = { kind: "port" };
const addrs: SchemaNode = { kind: "addrs" };
const opaque: SchemaNode = { kind: "opaque" };
const strList: SchemaNode = { kind: "list", item: str };
const strMap: SchemaNode = { kind: "map", value: str };
const list = (item: SchemaNode): SchemaNode => ({ kind: "list", item });
const map = (value: SchemaNode): SchemaNode => ({ kind: "map", value });
const obj = (fields: Record<string, SchemaNode>): ObjectNode => ({ kind: "object", fields });
/** Service/check blocks also take the API's CamelCase spelling (ServiceID, TLSSkipVerify…). */
const camelObj = (fields: Record<string, SchemaNode>, aliases: Record<string, string> = {}): ObjectNode => ({
  kind: "object",
  fields,
  camelAliases: true,
  aliases,
});

const enterpriseMeta = { namespace: str, partition: str };

const checkFields: Record<string, SchemaNode> = {
  id: str,
  name: str,
  notes: str,
  service_id: str,
  token: str,
  status: str,
  args: strList,
  http: str,
  header: map(strList),
  method: str,
  body: str,
  disable_redirects: bool,
  output_max_size: int,
  tcp: str,
  tcp_use_tls: bool,
  udp: str,
  os_service: str,
  interval: dur,
  docker_container_id: str,
  shell: str,
  grpc: str,
  grpc_use_tls: bool,
  tls_server_name: str,
  tls_skip_verify: bool,
  alias_node: str,
  alias_service: str,
  timeout: dur,
  ttl: dur,
  h2ping: str,
  h2ping_use_tls: bool,
  success_before_passing: int,
  failures_before_warning: int,
  failures_before_critical: int,
  deregister_critical_service_after: dur,
  ...enterpriseMeta,
};
const checkAliases = { check_id: "id", script_args: "args", scriptargs: "args" };

export const CHECK_SCHEMA: ObjectNode = camelObj(checkFields, checkAliases);

const upstream = camelObj({
  destination_type: str,
  destination_namespace: str,
  destination_partition: str,
  destination_peer: str,
  destination_name: str,
  datacenter: str,
  local_bind_address: str,
  local_bind_port: int,
  local_bind_socket_path: str,
  local_bind_socket_mode: str,
  config: opaque,
  mesh_gateway: opaque,
  centrally_configured: bool,
});

const proxy = camelObj({
  destination_service_name: str,
  destination_service_id: str,
  local_service_address: str,
  local_service_port: int,
  local_service_socket_path: str,
  mode: str,
  transparent_proxy: opaque,
  config: opaque,
  upstreams: list(upstream),
  mesh_gateway: opaque,
  expose: opaque,
  access_logs: opaque,
});

function serviceSchema(depth: number): ObjectNode {
  const fields: Record<string, SchemaNode> = {
    kind: str,
    id: str,
    name: str,
    tags: strList,
    address: str,
    tagged_addresses: map(camelObj({ address: str, port: int })),
    meta: strMap,
    port: int,
    socket_path: str,
    check: CHECK_SCHEMA,
    checks: list(CHECK_SCHEMA),
    token: str,
    weights: camelObj({ passing: int, warning: int }),
    enable_tag_override: bool,
    proxy,
    connect: camelObj({
      native: bool,
      // A sidecar is itself a service definition; one level of nesting is all Consul allows.
      sidecar_service: depth === 0 ? serviceSchema(1) : opaque,
    }),
    locality: opaque,
    ...enterpriseMeta,
  };
  return camelObj(fields);
}

export const SERVICE_SCHEMA: ObjectNode = serviceSchema(0);

const gossip = obj({
  gossip_nodes: int,
  gossip_interval: dur,
  probe_interval: dur,
  probe_timeout: dur,
  suspicion_mult: int,
  retransmit_mult: int,
});

const tlsInterface = {
  ca_file: str,
  ca_path: str,
  cert_file: str,
  key_file: str,
  tls_min_version: str,
  tls_cipher_suites: str,
  verify_incoming: bool,
  verify_outgoing: bool,
};

export const CONFIG_SCHEMA: ObjectNode = obj({
  // Identity, mode, storage
  datacenter: { kind: "dcName" },
  node_name: str,
  node_id: str,
  node_meta: strMap,
  data_dir: str,
  server: bool,
  bootstrap: bool,
  bootstrap_expect: int,
  primary_datacenter: { kind: "dcName" },
  primary_gateways: strList,
  primary_gateways_interval: dur,
  disable_update_check: bool,
  disable_host_node_id: bool,
  disable_remote_exec: bool,
  disable_coordinates: bool,
  sync_coordinate_interval_min: dur,
  sync_coordinate_rate_target: float,
  disable_anonymous_signature: bool,
  leave_on_terminate: bool,
  skip_leave_on_interrupt: bool,
  reconnect_timeout: dur,
  reconnect_timeout_wan: dur,
  advertise_reconnect_timeout: dur,
  rejoin_after_leave: bool,
  pid_file: str,
  session_ttl_min: dur,
  check_update_interval: dur,
  default_query_time: dur,
  max_query_time: dur,
  discovery_max_stale: dur,
  enable_script_checks: bool,
  enable_local_script_checks: bool,
  enable_central_service_config: bool,
  enable_debug: bool,
  raft_protocol: int,
  raft_snapshot_threshold: int,
  raft_snapshot_interval: dur,
  raft_trailing_logs: int,
  protocol: int,
  server_rejoin_age_max: dur,
  read_replica: bool,
  non_voting_server: bool,

  // Addresses and ports
  bind_addr: addrs,
  client_addr: addrs,
  advertise_addr: addrs,
  advertise_addr_ipv4: addrs,
  advertise_addr_ipv6: addrs,
  advertise_addr_wan: addrs,
  advertise_addr_wan_ipv4: addrs,
  advertise_addr_wan_ipv6: addrs,
  serf_lan: addrs,
  serf_wan: addrs,
  serf_lan_allowed_cidrs: strList,
  serf_wan_allowed_cidrs: strList,
  addresses: obj({ dns: addrs, http: addrs, https: addrs, grpc: addrs, grpc_tls: addrs }),
  ports: obj({
    dns: port,
    http: port,
    https: port,
    grpc: port,
    grpc_tls: port,
    serf_lan: port,
    serf_wan: port,
    server: port,
    proxy_min_port: port,
    proxy_max_port: port,
    sidecar_min_port: port,
    sidecar_max_port: port,
    expose_min_port: port,
    expose_max_port: port,
  }),
  translate_wan_addrs: bool,
  tagged_addresses: strMap,
  unix_sockets: obj({ user: str, group: str, mode: str }),

  // Joining
  retry_join: strList,
  retry_interval: dur,
  retry_max: int,
  retry_join_wan: strList,
  retry_interval_wan: dur,
  retry_max_wan: int,
  start_join: strList,
  start_join_wan: strList,

  // Logging / UI
  log_level: str,
  log_json: bool,
  log_file: str,
  log_rotate_duration: dur,
  log_rotate_bytes: int,
  log_rotate_max_files: int,
  enable_syslog: bool,
  syslog_facility: str,
  ui: bool,
  ui_dir: str,
  ui_content_path: str,
  ui_config: obj({
    enabled: bool,
    dir: str,
    content_path: str,
    metrics_provider: str,
    metrics_provider_files: strList,
    metrics_provider_options_json: str,
    metrics_proxy: opaque,
    dashboard_url_templates: strMap,
    hcp_enabled: bool,
  }),

  // ACL (and the pre-1.4 top-level aliases, kept so old configs load)
  acl: obj({
    enabled: bool,
    default_policy: str,
    down_policy: str,
    enable_token_persistence: bool,
    enable_token_replication: bool,
    enable_key_list_policy: bool,
    token_ttl: dur,
    policy_ttl: dur,
    role_ttl: dur,
    msp_disable_bootstrap: bool,
    tokens: obj({
      initial_management: str,
      master: str,
      agent: str,
      agent_recovery: str,
      agent_master: str,
      default: str,
      replication: str,
      config_file_service_registration: str,
      dns: str,
      managed_service_provider: list(obj({ accessor_id: str, secret_id: str })),
    }),
  }),
  acl_datacenter: { kind: "dcName" },
  acl_default_policy: str,
  acl_down_policy: str,
  acl_master_token: str,
  acl_agent_token: str,
  acl_agent_master_token: str,
  acl_token: str,
  acl_ttl: dur,
  acl_replication_token: str,
  acl_enable_key_list_policy: bool,
  acl_enforce_version_8: bool,
  enable_acl_replication: bool,

  // Connect / peering
  connect: obj({
    enabled: bool,
    ca_provider: str,
    ca_config: opaque,
    enable_mesh_gateway_wan_federation: bool,
    enable_serverless_plugin: bool,
    test_ca_leaf_root_change_spread: dur,
  }),
  peering: obj({ enabled: bool, test_allow_peer_registrations: bool }),

  // Gossip encryption and TLS
  encrypt: str,
  encrypt_verify_incoming: bool,
  encrypt_verify_outgoing: bool,
  disable_keyring_file: bool,
  tls: obj({
    defaults: obj(tlsInterface),
    https: obj(tlsInterface),
    grpc: obj({ ...tlsInterface, use_auto_cert: bool }),
    internal_rpc: obj({ ...tlsInterface, verify_server_hostname: bool }),
  }),
  server_name: str,
  ca_file: str,
  ca_path: str,
  cert_file: str,
  key_file: str,
  verify_incoming: bool,
  verify_incoming_rpc: bool,
  verify_incoming_https: bool,
  verify_outgoing: bool,
  verify_server_hostname: bool,
  tls_min_version: str,
  tls_cipher_suites: str,
  tls_prefer_server_cipher_suites: bool,
  auto_encrypt: obj({ tls: bool, dns_san: strList, ip_san: strList, allow_tls: bool }),
  auto_config: opaque,

  // Performance, limits, telemetry, autopilot, gossip
  performance: obj({ raft_multiplier: int, leave_drain_time: dur, rpc_hold_timeout: dur, grpc_keepalive_interval: dur, grpc_keepalive_timeout: dur }),
  limits: obj({
    http_max_conns_per_client: int,
    https_handshake_timeout: dur,
    rpc_handshake_timeout: dur,
    rpc_client_timeout: dur,
    rpc_max_conns_per_client: int,
    rpc_rate: float,
    rpc_max_burst: int,
    kv_max_value_size: int,
    txn_max_req_len: int,
    request_limits: obj({ mode: str, read_rate: float, write_rate: float }),
    // Consulate's own: DNS requests a second per source address (0 = unbounded).
    dns_max_qps_per_client: float,
  }),
  telemetry: obj({
    circonus_api_app: str,
    circonus_api_token: str,
    circonus_api_url: str,
    circonus_broker_id: str,
    circonus_broker_select_tag: str,
    circonus_check_display_name: str,
    circonus_check_force_metric_activation: str,
    circonus_check_id: str,
    circonus_check_instance_id: str,
    circonus_check_search_tag: str,
    circonus_check_tags: str,
    circonus_submission_interval: str,
    circonus_submission_url: str,
    disable_compat_1_9: bool,
    disable_hostname: bool,
    dogstatsd_addr: str,
    dogstatsd_tags: strList,
    enable_host_metrics: bool,
    filter_default: bool,
    prefix_filter: strList,
    metrics_prefix: str,
    prometheus_retention_time: dur,
    retry_failed_connection: bool,
    statsd_address: str,
    statsite_address: str,
  }),
  autopilot: obj({
    cleanup_dead_servers: bool,
    last_contact_threshold: dur,
    max_trailing_logs: int,
    min_quorum: int,
    server_stabilization_time: dur,
    redundancy_zone_tag: str,
    disable_upgrade_migration: bool,
    upgrade_version_tag: str,
  }),
  gossip_lan: gossip,
  gossip_wan: gossip,

  // DNS
  domain: str,
  alt_domain: str,
  recursors: strList,
  dns_config: obj({
    allow_stale: bool,
    a_record_limit: int,
    disable_compression: bool,
    enable_truncate: bool,
    max_stale: dur,
    node_ttl: dur,
    only_passing: bool,
    recursor_strategy: str,
    recursor_timeout: dur,
    service_ttl: map(dur),
    udp_answer_limit: int,
    enable_additional_node_meta_txt: bool,
    soa: obj({ refresh: int, retry: int, expire: int, min_ttl: int }),
    use_cache: bool,
    cache_max_age: dur,
    prefer_namespace: bool,
  }),

  // HTTP
  http_config: obj({
    block_endpoints: strList,
    allow_write_http_from: strList,
    response_headers: strMap,
    use_cache: bool,
    max_header_bytes: int,
  }),
  disable_http_unprintable_char_filter: bool,

  // Services, checks, watches, config entries
  service: SERVICE_SCHEMA,
  services: list(SERVICE_SCHEMA),
  check: CHECK_SCHEMA,
  checks: list(CHECK_SCHEMA),
  watches: list(opaque),
  config_entries: obj({ bootstrap: list(opaque) }),

  // Misc
  cache: obj({ entry_fetch_max_burst: int, entry_fetch_rate: float }),
  rpc: obj({ enable_streaming: bool }),
  use_streaming_backend: bool,
  discard_check_output: bool,
  check_output_max_size: int,
  enable_agent_tls_for_checks: bool,
  raft_boltdb: opaque,
  raft_logstore: opaque,
  segment: str,
  segments: list(opaque),
  partition: str,
  license_path: str,
  audit: opaque,
  auto_reload_config: bool,
  experiments: strList,
  snapshot_agent: opaque,
  xds: obj({ update_max_per_second: float }),
  cloud: opaque,
  reporting: opaque,
  locality: obj({ region: str, zone: str }),
});
