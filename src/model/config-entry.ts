// A config entry as stored (Consul's ConfigEntry kinds): the entry's own fields in Consul's
// JSON spelling; Kind and Name identify it. Stored rows add the Raft indexes.

export interface ConfigEntryFields {
  Kind: string;
  Name: string;
  [field: string]: unknown;
}

export interface ConfigEntry extends ConfigEntryFields {
  CreateIndex: number;
  ModifyIndex: number;
}
