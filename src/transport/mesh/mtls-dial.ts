// Dials one mesh instance with mutual TLS: our leaf as client certificate, the server's chain
// verified against the current roots, and — instead of a host-name check — the caller's check
// of the server certificate's SPIFFE ID.
import tls from "node:tls";
import type { PeerCertificate } from "node:tls";

export interface MtlsDialOptions {
  host: string;
  port: number;
  secureContext: tls.SecureContext;
  /** SNI to send (Consul's `<svc>.default.<dc>.internal.<trust-domain>`); the server does not depend on it. */
  servername?: string;
  /** Returns an Error when the server's (chain-verified) certificate is not the expected identity. */
  verifyPeer: (cert: PeerCertificate) => Error | undefined;
  timeoutMs: number;
  /** A TLS session from an earlier connection to the same server, to resume (skips the
   * certificate exchange: the server already verified us, and we it, when it was made). */
  session?: Buffer;
  /** Receives session tickets the server sends, for a later dial to resume. */
  onSession?: (session: Buffer) => void;
}

/** TLSSocket.setSession: present on Node's TLSSocket since early versions but left out of the docs and @types/node. */
type ResumableSocket = tls.TLSSocket & { setSession?: (session: Buffer) => void };

export function dialMtls(opts: MtlsDialOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      host: opts.host,
      port: opts.port,
      secureContext: opts.secureContext,
      servername: opts.servername,
      rejectUnauthorized: true,
      allowHalfOpen: true,
      checkServerIdentity: (_host, cert) => opts.verifyPeer(cert),
    };
    const canSetLater = typeof (tls.TLSSocket.prototype as ResumableSocket).setSession === "function";
    if (!canSetLater) options.session = opts.session;
    // allowHalfOpen (missing from @types/node's ConnectionOptions, honoured by tls.connect)
    // lets a client's FIN through while the server still answers.
    const socket: ResumableSocket = tls.connect(options);
    // Set here rather than as the `session` option: Node 20's tls.connect decodes an option
    // session twice (in the socket's init and again after it), and decoding one means parsing
    // the peer certificate it holds, which OpenSSL 3.0 makes the dearest step of a resumption.
    // The handshake starts once TCP connects, so the session is in place for the ClientHello.
    if (canSetLater && opts.session) socket.setSession?.(opts.session);
    socket.setNoDelay(true);
    const onSession = opts.onSession;
    if (onSession) socket.on("session", (session: Buffer) => onSession(session));
    // The socket's idle timer bounds connect + handshake (no bytes move while stuck).
    socket.setTimeout(opts.timeoutMs);
    const onTimeout = (): void => void socket.destroy(new Error(`dial tcp ${opts.host}:${opts.port}: i/o timeout after ${opts.timeoutMs} ms`));
    socket.once("timeout", onTimeout);
    const onError = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once("error", onError);
    socket.once("secureConnect", () => {
      socket.setTimeout(0);
      socket.off("timeout", onTimeout);
      socket.off("error", onError);
      resolve(socket);
    });
  });
}
