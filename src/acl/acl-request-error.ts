import { ConsulError, type ErrorCode } from "../errors/catalog.ts";

// Refusals of an ACL write, with Consul's texts. Consul answers most of them 500 (they come
// back as RPC errors); spec/acl.md asks 400 for invalid input, which is what these are.

export function invalidAclRequest(message: string): ConsulError {
  return new ConsulError("BadRequest", message);
}

export function aclWriteFailed(message: string, code: ErrorCode = "Internal"): ConsulError {
  return new ConsulError(code, message);
}
