// The Connect CA as Raft state (Consul's CAConfiguration and CARoot). Signing keys live in the
// rows — replicated like Consul's provider state — and never leave through the HTTP views.

export interface CARoot {
  ID: string;
  Name: string;
  SerialNumber: number;
  SigningKeyID: string;
  ExternalTrustDomain: string;
  NotBefore: string;
  NotAfter: string;
  RootCert: string;
  /** The cross-signed copy of this root (issued by the root it replaced), or none. */
  IntermediateCerts: string[] | null;
  /** Secret: the root's private key PEM. */
  SigningKey: string;
  Active: boolean;
  /** 0 while active; when it stopped being active (pruned 2 × LeafCertTTL later). */
  RotatedOutAtMs: number;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export type CARootFields = Omit<CARoot, "CreateIndex" | "ModifyIndex">;

export interface CAConfiguration {
  ClusterID: string;
  Provider: string;
  /** The provider's configuration as given (API spelling); PrivateKey is secret. */
  Config: Record<string, unknown>;
  ForceWithoutCrossSigning: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

export type CAConfigurationFields = Omit<CAConfiguration, "CreateIndex" | "ModifyIndex">;
