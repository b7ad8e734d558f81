import type { ApiDispatcher, RawApiResponse } from "../http/dispatch-request.ts";
import { RpcError, RpcErrorCode, type RpcHandler } from "../transport/rpc.ts";
import { CONNECT_DISABLED, type SignedLeaf } from "./connect-ca.ts";

// AutoEncrypt.Sign (Consul's agent/consul/auto_encrypt_endpoint.go): a client agent that has
// no certificate yet sends a CSR for its agent SPIFFE ID and gets back a certificate signed by
// the Connect CA, the Connect roots, the server's own (manually configured) CA and whether it
// checks server hostnames. Signing goes through the ordinary internal route, so a follower
// passes it to the leader and the ACL check (node:write) is the one every request gets.

export const AUTO_ENCRYPT_SIGN = "AutoEncrypt.Sign";
export const AUTO_ENCRYPT_NOT_ALLOWED = "AutoEncrypt.AllowTLS must be enabled in order to use this endpoint";

export interface AutoEncryptSignArgs {
  Datacenter: string;
  CSR: string;
  /** The client's agent token (acl.tokens.agent), for node:write on its node name. */
  Token: string;
}

export interface AutoEncryptSignReply {
  IssuedCert: SignedLeaf;
  ConnectCARoots: { ActiveRootID: string; TrustDomain: string; Roots: { ID: string; RootCert: string; Active: boolean }[] };
  ManualCARoots: string[];
  VerifyServerHostname: boolean;
}

export interface AutoEncryptEndpointDeps {
  dispatcher: ApiDispatcher;
  datacenter: string;
  connectEnabled: boolean;
  allowTls: boolean;
  /** The server's configured CA PEMs and verify_server_hostname, read per call (reload may change them). */
  manualCaPems: () => string[];
  verifyServerHostname: () => boolean;
}

function signArgs(args: unknown): AutoEncryptSignArgs {
  const a = args as Partial<AutoEncryptSignArgs> | undefined;
  if (!a || typeof a.CSR !== "string" || typeof a.Datacenter !== "string") throw new RpcError(RpcErrorCode.Failed, "rpc: AutoEncrypt.Sign needs a Datacenter and a CSR");
  return { Datacenter: a.Datacenter, CSR: a.CSR, Token: typeof a.Token === "string" ? a.Token : "" };
}

function failure(answer: RawApiResponse): RpcError {
  const text = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
  return new RpcError(RpcErrorCode.Failed, text.trim() === "" ? `request failed with status ${answer.status}` : text.trim());
}

export function autoEncryptSignHandler(deps: AutoEncryptEndpointDeps): RpcHandler {
  return async (raw, call): Promise<AutoEncryptSignReply> => {
    if (!deps.connectEnabled) throw new RpcError(RpcErrorCode.Failed, CONNECT_DISABLED);
    if (!deps.allowTls) throw new RpcError(RpcErrorCode.Failed, AUTO_ENCRYPT_NOT_ALLOWED);
    const args = signArgs(raw);
    if (args.Datacenter !== deps.datacenter) {
      throw new RpcError(
        RpcErrorCode.Failed,
        `mismatched datacenter (client_dc='${args.Datacenter}' server_dc='${deps.datacenter}'); check client has same datacenter set as servers`,
      );
    }
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (args.Token !== "") headers["x-consul-token"] = args.Token;
    const signal = () => call.signal;
    const rootsAnswer = await deps.dispatcher.dispatch({ method: "GET", path: "/v1/connect/ca/roots", rawQuery: "stale", headers, body: undefined, remoteAddress: call.remoteAddress }, { signal });
    if (rootsAnswer.status !== 200) throw failure(rootsAnswer);
    const signed = await deps.dispatcher.dispatch(
      {
        method: "POST",
        path: "/v1/internal/consulate/connect-ca/sign",
        rawQuery: "",
        headers,
        body: Buffer.from(JSON.stringify({ CSR: args.CSR })),
        remoteAddress: call.remoteAddress,
      },
      { signal },
    );
    if (signed.status !== 200) throw failure(signed);
    return {
      IssuedCert: JSON.parse(signed.body.toString()) as SignedLeaf,
      ConnectCARoots: JSON.parse(rootsAnswer.body.toString()) as AutoEncryptSignReply["ConnectCARoots"],
      ManualCARoots: deps.manualCaPems(),
      VerifyServerHostname: deps.verifyServerHostname(),
    };
  };
}
