// Character codes of JSON's structural characters, for the scanners that walk JSON text
// without parsing it (nesting depth, the sliced parser's container search).
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const ZERO = 0x30;
export const NINE = 0x39;
