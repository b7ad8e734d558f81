// A typed description of the fields a filter may select, standing in for the Go struct types
// go-bexpr reflects over. It decides, at compile time, which selectors exist, which operators
// each accepts and how a literal is coerced — so a bad filter fails before any item is read.

export type ScalarSchema =
  | { readonly kind: "string" }
  | { readonly kind: "bool" }
  /** Go signed integers (int, int64, time.Duration…). */
  | { readonly kind: "int" }
  /** Go unsigned integers (uint8…uint64); a negative literal fails to coerce. */
  | { readonly kind: "uint" }
  | { readonly kind: "float" };

export type ListSchema = { readonly kind: "list"; readonly element: FieldSchema };

/** String-keyed map. Without `value`, the map supports only emptiness and key presence. */
export type MapSchema = { readonly kind: "map"; readonly value?: FieldSchema };

export type StructSchema = {
  readonly kind: "struct";
  readonly fields: Readonly<Record<string, FieldSchema>>;
};

export type FieldSchema = ScalarSchema | ListSchema | MapSchema | StructSchema;

/** The shape of one filtered item (the element of the response list/map). */
export type FilterSchema = StructSchema;

export const Field = {
  string: { kind: "string" },
  bool: { kind: "bool" },
  int: { kind: "int" },
  uint: { kind: "uint" },
  float: { kind: "float" },
  list: (element: FieldSchema): ListSchema => ({ kind: "list", element }),
  map: (value?: FieldSchema): MapSchema => (value === undefined ? { kind: "map" } : { kind: "map", value }),
  struct: (fields: Record<string, FieldSchema>): StructSchema => ({ kind: "struct", fields }),
} as const satisfies Record<string, FieldSchema | ((arg: never) => FieldSchema)>;

export function isScalar(schema: FieldSchema): schema is ScalarSchema {
  return schema.kind !== "list" && schema.kind !== "map" && schema.kind !== "struct";
}
