// A failed HTTPS handshake, in the words Go's crypto/tls uses in Consul's log line
// `http: TLS handshake error from <addr>: <reason>`, instead of OpenSSL's internals.

const REASONS: Record<string, string> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "tls: client didn't provide a certificate",
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: "tls: failed to verify certificate: x509: certificate signed by unknown authority",
  ERR_SSL_HTTP_REQUEST: "client sent an HTTP request to an HTTPS server",
  ERR_SSL_WRONG_VERSION_NUMBER: "tls: first record does not look like a TLS handshake",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "tls: client offered only unsupported versions",
  ERR_SSL_NO_SHARED_CIPHER: "tls: no cipher suite supported by both client and server",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "remote error: tls: bad certificate",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "remote error: tls: unknown certificate authority",
  ECONNRESET: "read: connection reset by peer",
};

export function tlsHandshakeReason(err: Error & { code?: string }): string {
  if (err.code !== undefined && REASONS[err.code] !== undefined) return REASONS[err.code];
  // OpenSSL messages end in "…:routines:reason:file:line:"; keep the reason.
  const parts = err.message.split(":");
  return parts.length > 5 ? parts[parts.length - 3] || err.message : err.message;
}
