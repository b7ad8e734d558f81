// Start-up refuses to run on a bad configuration; this is the one error it throws, with
// Consul's wording so operators can search for the message they already know.

export class ConfigError extends Error {
  readonly code = "ConfigError";
  /** The file (or flag source such as "flags-0.hcl") the problem was found in, when known. */
  readonly source: string | undefined;
  /** The first offending key path (e.g. "ports.http", "services[0].foo"), when known. */
  readonly key: string | undefined;

  constructor(message: string, options: { source?: string; key?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ConfigError";
    this.source = options.source;
    this.key = options.key;
  }
}

/** A problem with one key, collected while decoding or building so all are reported at once. */
export interface KeyProblem {
  key: string;
  message: string;
}

/** hashicorp/go-multierror's text, which Consul prints for collected config errors. */
export function formatMultiError(messages: readonly string[]): string {
  if (messages.length === 1) return `1 error occurred:\n\t* ${messages[0]}\n\n`;
  return `${messages.length} errors occurred:\n\t${messages.map((m) => `* ${m}`).join("\n\t")}\n\n`;
}

/** mitchellh/mapstructure's text for type errors (points are sorted, as it does). */
export function formatDecodingErrors(messages: readonly string[]): string {
  const points = messages.map((m) => `* ${m}`).sort();
  return `${messages.length} error(s) decoding:\n\n${points.join("\n")}`;
}
