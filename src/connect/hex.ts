/** Lowercase colon-separated hex bytes, as Consul prints fingerprints, key IDs and serials. */
export function colonHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** A non-negative serial number as Consul encodes a leaf's (big-endian bytes, no leading zero byte). */
export function serialColonHex(serial: number): string {
  let hex = serial.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return colonHex(Buffer.from(hex, "hex"));
}

/** The same serial as a hex string for a certificate generator (a leading 00 keeps it positive). */
export function serialHex(serial: number): string {
  let hex = serial.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Number.parseInt(hex.slice(0, 2), 16) >= 0x80 ? `00${hex}` : hex;
}
