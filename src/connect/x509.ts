import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import * as asn1 from "@peculiar/asn1-schema";
import * as asn1js from "asn1js";
import * as asn1X509 from "@peculiar/asn1-x509";
import * as asn1Csr from "@peculiar/asn1-csr";
import * as asn1Pkcs9 from "@peculiar/asn1-pkcs9";

// The one import point of @peculiar/x509 (it needs the reflect-metadata polyfill first) with
// Node's WebCrypto as its provider, and of the ASN.1 schemas it is built on: the leaf hot path
// (CSR on the agent, leaf on the leader) encodes through the schemas directly and signs with
// node:crypto, skipping the library's re-parsing and WebCrypto key imports.

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509, asn1, asn1X509, asn1Csr, asn1Pkcs9 };

/**
 * An element the schemas already encoded, written out as those bytes wherever asn1js asks
 * for it. Encoding through the schemas is pure JS and the leaf hot path's main cost, so what
 * every leaf shares (the issuer's name, algorithm identifiers, constant extensions) is encoded
 * once, and a certificate or CSR embeds its signed part as the DER that was signed instead
 * of encoding it a second time. No byte here is written by hand.
 */
class EncodedElement extends asn1js.BaseBlock {
  readonly #der: ArrayBuffer;

  constructor(der: ArrayBuffer) {
    super();
    this.#der = der;
  }

  override toBER(_sizeOnly?: boolean, writer?: asn1js.ViewWriter): ArrayBuffer {
    if (!writer) return this.#der.slice(0);
    writer.write(this.#der);
    return new ArrayBuffer(0);
  }
}

/**
 * A value for a schema field of type T that serializes as `der` (which the schemas or
 * node:crypto produced for that very type). asn1-schema takes any object with toASN/fromASN
 * as already converted; this one is only ever serialized.
 */
export function preEncoded<T>(der: ArrayBuffer | Uint8Array): T {
  const bytes = der instanceof ArrayBuffer ? der : new Uint8Array(der).buffer;
  const element = new EncodedElement(bytes);
  const convertible = {
    toASN: (): asn1js.BaseBlock => element,
    fromASN: (): never => {
      throw new Error("a pre-encoded element is only serialized");
    },
  };
  return convertible as unknown as T;
}

/** The DER of a schema object (an ArrayBuffer the caller may keep). */
export function derOf(value: unknown): ArrayBuffer {
  return asn1.AsnConvert.serialize(value);
}
