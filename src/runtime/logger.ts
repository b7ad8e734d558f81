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

const LEVEL_INDEX: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
const WHITESPACE = /\s/;

/** `: k=v k2="v 2"` (strings bare unless they hold whitespace, anything else as JSON), or "". */
function formatFields(fields: Record<string, unknown> | undefined): string {
  let out = "";
  // A plain loop: at DEBUG (-dev) every request writes a line, so no per-field arrays.
  for (const k in fields) {
    const v = fields[k];
    out += `${out === "" ? ": " : " "}${k}=${typeof v === "string" && !WHITESPACE.test(v) ? v : String(JSON.stringify(v))}`;
  }
  return out;
}

/** ISO timestamps, formatted once per millisecond rather than once per line. */
function cachedIsoClock(): () => string {
  let lastMs = Number.NaN;
  let lastIso = "";
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}

export function createLogger(options: LoggerOptions, module = ""): Logger {
  const min = LEVEL_INDEX[options.level];
  const injected = options.now;
  const timestamp = injected ? () => injected().toISOString() : cachedIsoClock();
  const hub = options.hub;
  const prefix = module ? module + ": " : "";
  const formatText = (ts: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): string =>
    `${ts} ${LEVEL_TAG[level]}${prefix}${msg}${formatFields(fields)}\n`;
  const formatJson = (ts: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): string => {
    const obj: Record<string, unknown> = { "@level": level, "@message": msg, "@module": module, "@timestamp": ts, ...fields };
    return JSON.stringify(obj) + "\n";
  };
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    const index = LEVEL_INDEX[level];
    const toHub = hub !== undefined && index >= hub.min;
    if (index < min && !toHub) return;
    const ts = timestamp();
    if (index >= min) options.write(options.json ? formatJson(ts, level, msg, fields) : formatText(ts, level, msg, fields));
    if (toHub) hub.publish(index, () => ({ text: formatText(ts, level, msg, fields), json: formatJson(ts, level, msg, fields) }));
  };
  return {
    named: (m) => createLogger(options, module ? `${module}.${m}` : m),
    enabled: (level) => LEVEL_INDEX[level] >= Math.min(min, hub?.min ?? Number.POSITIVE_INFINITY),
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
