import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import * as asn1 from "@peculiar/asn1-schema";
import * as asn1X509 from "@peculiar/asn1-x509";
import * as asn1Csr from "@peculiar/asn1-csr";
import * as asn1Pkcs9 from "@peculiar/asn1-pkcs9";

// The one import point of @peculiar/x509 (it needs the reflect-metadata polyfill first) with
// Node's WebCrypto as its provider, and of the ASN.1 schemas it is built on: the leaf hot path
// (CSR on the agent, leaf on the leader) encodes through the schemas directly and signs with
// node:crypto, skipping the library's re-parsing and WebCrypto key imports.

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509, asn1, asn1X509, asn1Csr, asn1Pkcs9 };
