export const SESSION_BEHAVIORS = ["release", "delete"] as const;
export type SessionBehavior = (typeof SESSION_BEHAVIORS)[number];

export interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number; // nanoseconds, as Consul serializes it
  Behavior: SessionBehavior;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string; Namespace?: string }[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}
