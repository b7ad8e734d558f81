import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// The one import point of @peculiar/x509 (it needs the reflect-metadata polyfill first) with
// Node's WebCrypto as its provider.

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
