// dns-packet's decoder also returns the header's RCODE and OPCODE names; @types/dns-packet omits them.
import "dns-packet";

declare module "dns-packet" {
  interface DecodedPacket {
    rcode: string;
    opcode: string;
  }
}
