// Consul's hclog line format: `2024-01-02T15:04:05.000Z [INFO]  agent: message: key=value`.
// JSON mode (-log-json) emits `{"@level","@message","@module","@timestamp",...}`.

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  named(module: string): Logger;
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether lines of `level` are written; lets hot paths skip building fields nobody reads. */
  enabled?(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  write: (line: string) => void;
  now?: () => Date;
  /** Live subscribers (GET /v1/agent/monitor): each gets lines at its own level and format. */
  hub?: LogHub;
}

interface LogSubscriber {
  min: number;
  json: boolean;
  write: (line: string) => void;
}

/**
 * Fans log lines out to monitors. A monitor may ask for a finer level than the agent logs at
 * (`consul monitor -log-level=debug` on an agent at info), so loggers consult the hub before
 * dropping a line; with no subscriber that is one comparison.
 */
export class LogHub {
  readonly #subscribers = new Set<LogSubscriber>();
  #min = Number.POSITIVE_INFINITY;

  subscribe(level: LogLevel, json: boolean, write: (line: string) => void): () => void {
    const sub: LogSubscriber = { min: LOG_LEVELS.indexOf(level), json, write };
    this.#subscribers.add(sub);
    this.#recompute();
    return () => {
      this.#subscribers.delete(sub);
      this.#recompute();
    };
  }

  /** The finest level any subscriber wants (an index into LOG_LEVELS); Infinity with none. */
  get min(): number {
    return this.#min;
  }

  publish(levelIndex: number, line: () => { text: string; json: string }): void {
    let formatted: { text: string; json: string } | undefined;
    for (const sub of this.#subscribers) {
      if (levelIndex < sub.min) continue;
      formatted ??= line();
      try {
        sub.write(sub.json ? formatted.json : formatted.text);
      } catch {
        // A subscriber that fails is the monitor's problem, never the logger's caller's.
      }
    }
  }

  #recompute(): void {
    this.#min = Math.min(Number.POSITIVE_INFINITY, ...[...this.#subscribers].map((s) => s.min));
  }
}

const LEVEL_TAG: Record<LogLevel, string> = {
  trace: "[TRACE] ",
  debug: "[DEBUG] ",
  info: "[INFO]  ",
  warn: "[WARN]  ",
  error: "[ERROR] ",
};

export function parseLogLevel(raw: string): LogLevel | undefined {
  const l = raw.toLowerCase() === "err" ? "error" : raw.toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : undefined;
}

export function createLogger(options: LoggerOptions, module = ""): Logger {
  const min = LOG_LEVELS.indexOf(options.level);
  const now = options.now ?? (() => new Date());
  const hub = options.hub;
  const formatText = (ts: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): string => {
    let line = `${ts} ${LEVEL_TAG[level]}${module ? module + ": " : ""}${msg}`;
    if (fields) {
      const parts = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`);
      if (parts.length) line += `: ${parts.join(" ")}`;
    }
    return line + "\n";
  };
  const formatJson = (ts: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): string => {
    const obj: Record<string, unknown> = { "@level": level, "@message": msg, "@module": module, "@timestamp": ts, ...fields };
    return JSON.stringify(obj) + "\n";
  };
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    const index = LOG_LEVELS.indexOf(level);
    const toHub = hub !== undefined && index >= hub.min;
    if (index < min && !toHub) return;
    const ts = now().toISOString();
    if (index >= min) options.write(options.json ? formatJson(ts, level, msg, fields) : formatText(ts, level, msg, fields));
    if (toHub) hub.publish(index, () => ({ text: formatText(ts, level, msg, fields), json: formatJson(ts, level, msg, fields) }));
  };
  return {
    named: (m) => createLogger(options, module ? `${module}.${m}` : m),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= Math.min(min, hub?.min ?? Number.POSITIVE_INFINITY),
    trace: (m, f) => emit("trace", m, f),
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

export const silentLogger: Logger = {
  named: () => silentLogger,
  enabled: () => false,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
