// TLS on the server RPC port, as Consul multiplexes it (tls.md §5–6): a client writes the
// RPCTLS byte (3), runs the TLS handshake, then writes the inner protocol byte (RPC, Raft…)
// inside TLS. With verify_incoming the server refuses anything else; with
// verify_server_hostname outgoing connections check the server's certificate for
// server.<dc>.<domain>, and Raft connections must present one too.
//
// The handshake runs over a small stream adapter rather than the socket's own handle: the
// first byte was already read from the socket (and on the dialling side written before the
// handshake), so the bytes around it must stay in order.

import { X509Certificate } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { systemClock, type Clock } from "../runtime/clock.ts";
import { connect as tlsConnect, createSecureContext, TLSSocket, type SecureContext } from "node:tls";

export const RPC_TLS_BYTE = 3;
/**
 * Consul's RPCTLSInsecure: TLS in which the server asks for no client certificate. Only a
 * client agent without a certificate yet uses it, and only for AutoEncrypt.Sign.
 */
export const RPC_TLS_INSECURE_BYTE = 7;

export interface ServerPortTlsMaterial {
  ca: string[];
  cert?: string;
  key?: string;
  minVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  ciphers?: string;
}

export interface ServerPortTlsSettings {
  material: ServerPortTlsMaterial;
  verifyIncoming: boolean;
  verifyOutgoing: boolean;
  /** With verify_server_hostname: the name server certificates must carry (server.dc1.consul). */
  serverName: string | undefined;
}

/** An outbound connection to a server port; `readyEvent` fires once it can carry data. */
export interface DialedSocket {
  socket: Socket;
  readyEvent: "connect" | "secureConnect";
}

export type ServerPortDialer = (host: string, port: number) => DialedSocket;

export const plainDialer: ServerPortDialer = (host, port) => ({ socket: createConnection({ host, port }), readyEvent: "connect" });

/** A stream over `socket` that first yields `head` (bytes already read from it). */
function streamOver(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, (err) => callback(err ?? null));
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  if (head.byteLength > 0) stream.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("error", (err) => stream.destroy(err));
  socket.on("close", () => stream.destroy());
  return stream;
}

/** Go's crypto/tls words for the common verification failures, for logs and errors. */
export function tlsFailureReason(err: Error & { code?: string; host?: string; cert?: { subjectaltname?: string } }): string {
  switch (err.code) {
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    case "ERR_TLS_CERT_ALTNAME_INVALID": {
      const names = (err.cert?.subjectaltname ?? "").split(", ").map((n) => n.replace(/^(DNS|IP Address):/, ""));
      return `tls: failed to verify certificate: x509: certificate is valid for ${names.join(", ")}, not ${err.host ?? ""}`;
    }
    case "CERT_HAS_EXPIRED":
      return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
    case "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE":
      return "tls: client didn't provide a certificate";
    case "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED":
      return "remote error: tls: certificate required";
    case "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE":
      return "remote error: tls: bad certificate";
    case "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA":
      return "remote error: tls: unknown certificate authority";
    default:
      return err.message;
  }
}

/** The port's TLS state; `update` (reload) changes what later handshakes use. */
export class ServerPortTls {
  #settings: ServerPortTlsSettings;
  #context: SecureContext;
  /** The CA certificates client certificates are checked against (agent CAs are roots). */
  #cas: X509Certificate[];
  /** With auto_encrypt.allow_tls: the Connect CA roots, which sign the client agents' certificates. */
  #connectRoots: X509Certificate[] = [];

  readonly #clock: Clock;

  constructor(settings: ServerPortTlsSettings, clock: Clock = systemClock) {
    this.#clock = clock;
    this.#settings = settings;
    this.#context = ServerPortTls.#contextFor(settings.material);
    this.#cas = ServerPortTls.#parseCas(settings.material);
  }

  static #parseCas(m: ServerPortTlsMaterial): X509Certificate[] {
    return m.ca.flatMap((bundle) => (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem)));
  }

  static #contextFor(m: ServerPortTlsMaterial): SecureContext {
    return createSecureContext({
      ca: m.ca.length > 0 ? m.ca : undefined,
      cert: m.cert,
      key: m.key,
      minVersion: m.minVersion,
      ...(m.ciphers !== undefined ? { ciphers: m.ciphers } : {}),
    });
  }

  update(settings: ServerPortTlsSettings): void {
    this.#context = ServerPortTls.#contextFor(settings.material);
    this.#cas = ServerPortTls.#parseCas(settings.material);
    this.#settings = settings;
  }

  /** Servers with auto_encrypt.allow_tls: client certificates from these roots are accepted too. */
  setConnectRoots(pems: readonly string[]): void {
    this.#connectRoots = ServerPortTls.#parseCas({ ca: [...pems], minVersion: "TLSv1.2" });
  }

  get settings(): ServerPortTlsSettings {
    return this.#settings;
  }

  /** The configured CA certificates (PEM), as auto_encrypt hands them to client agents. */
  get manualCaPems(): string[] {
    return [...this.#settings.material.ca];
  }

  get verifiesServerHostname(): boolean {
    return this.#settings.serverName !== undefined;
  }

  get verifyIncoming(): boolean {
    return this.#settings.verifyIncoming;
  }

  /** Whether the server can take TLS connections at all (it has a certificate). */
  get accepts(): boolean {
    return this.#settings.material.cert !== undefined;
  }

  /**
   * Runs the server side of the handshake on a connection whose RPCTLS byte was read; calls
   * `onSecure` with the TLS socket, or `onFailure` with the reason the handshake failed.
   */
  accept(socket: Socket, head: Buffer, onSecure: (secure: TLSSocket) => void, onFailure: (reason: string) => void, insecure = false): void {
    const verify = this.#settings.verifyIncoming && !insecure;
    const secure = new TLSSocket(streamOver(socket, head), { isServer: true, secureContext: this.#context, requestCert: verify, rejectUnauthorized: verify });
    let settled = false;
    secure.once("secure", () => {
      settled = true;
      // A TLSSocket outside a tls.Server never checks the client's certificate itself.
      const problem = verify ? this.#clientCertProblem(secure) : undefined;
      if (problem !== undefined) {
        onFailure(problem);
        secure.destroy();
        return;
      }
      onSecure(secure);
    });
    secure.on("error", (err: Error & { code?: string }) => {
      if (!settled) {
        settled = true;
        onFailure(tlsFailureReason(err));
      }
      secure.destroy();
    });
    // A Node client that rejects our certificate closes without an alert.
    secure.once("close", () => {
      if (!settled) {
        settled = true;
        onFailure("EOF (the client closed the connection during the handshake; it may not trust this server's certificate)");
      }
    });
  }

  /** The client's certificate must be signed by one of our CAs and be valid now. */
  #clientCertProblem(secure: TLSSocket): string | undefined {
    const peer = secure.getPeerX509Certificate();
    if (peer === undefined) return "tls: client didn't provide a certificate";
    const now = this.#clock.now();
    if (Date.parse(peer.validTo) < now || Date.parse(peer.validFrom) > now) return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
    const signed = [...this.#cas, ...this.#connectRoots].some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey));
    return signed ? undefined : "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  }

  /**
   * Raft connections carry the cluster's state: with verify_incoming and
   * verify_server_hostname they must come from a certificate valid for the server name.
   */
  serverConnProblem(secure: Socket): string | undefined {
    const name = this.#settings.serverName;
    if (!this.#settings.verifyIncoming || name === undefined) return undefined;
    const cert = secure instanceof TLSSocket ? secure.getPeerX509Certificate() : undefined;
    if (cert === undefined) return `AuthorizeServerConn failed certificate validation for certificate with a SAN.DNSName of ${name}: no certificate`;
    if (cert.checkHost(name) === undefined) {
      return `AuthorizeServerConn failed certificate validation for certificate with a SAN.DNSName of ${name}: x509: certificate is valid for ${cert.subjectAltName ?? cert.subject}, not ${name}`;
    }
    return undefined;
  }

  /** Outgoing connections: TLS when verify_outgoing, else plain. */
  readonly dial: ServerPortDialer = (host, port) => this.#dial(host, port, this.#settings.serverName);

  /**
   * Outgoing connections to servers of another datacenter: with verify_server_hostname their
   * certificate must name `server.<that dc>.<domain>` (Consul's per-datacenter server name).
   */
  dialerForDatacenter(datacenter: string, domain: string): ServerPortDialer {
    return (host, port) => this.#dial(host, port, this.#settings.serverName === undefined ? undefined : `server.${datacenter}.${domain}`);
  }

  #dial(host: string, port: number, name: string | undefined): DialedSocket {
    if (!this.#settings.verifyOutgoing) return plainDialer(host, port);
    return this.#dialTls(host, port, RPC_TLS_BYTE, name);
  }

  /**
   * auto_encrypt's first call: TLS without a client certificate (RPCTLSInsecure). The server's
   * certificate is still checked against the configured CA (and name).
   */
  readonly dialInsecure: ServerPortDialer = (host, port) => this.#dialTls(host, port, RPC_TLS_INSECURE_BYTE, this.#settings.serverName);

  #dialTls(host: string, port: number, byte: number, name: string | undefined): DialedSocket {
    const raw = createConnection({ host, port });
    raw.setNoDelay(true);
    raw.write(Buffer.of(byte));
    const secure = tlsConnect({
      socket: streamOver(raw, Buffer.alloc(0)),
      secureContext: this.#context,
      rejectUnauthorized: true,
      ...(name !== undefined ? { servername: name } : { checkServerIdentity: () => undefined }),
    });
    // Errors on the raw connection (refused, reset) surface on the TLS socket the caller holds.
    raw.on("error", (err) => secure.destroy(err));
    return { socket: secure, readyEvent: "secureConnect" };
  }
}
