// Version facts, in a file of their own so light commands (`consulate version`) need not load
// the server to print them.
export const CONSULATE_VERSION = "0.1.0";
/** The Consul version we answer as, so clients that gate features on it behave. */
export const CONSUL_COMPAT_VERSION = "1.20.0";
export const BUILD_DATE = "2026-11-25 00:00:00 +0000 UTC";
export const BUILD_DATE_RFC3339 = "2026-11-25T00:00:00Z";
