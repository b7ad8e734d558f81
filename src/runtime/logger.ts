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
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const ts = now().toISOString();
    if (options.json) {
      const obj: Record<string, unknown> = { "@level": level, "@message": msg, "@module": module, "@timestamp": ts, ...fields };
      options.write(JSON.stringify(obj) + "\n");
      return;
    }
    let line = `${ts} ${LEVEL_TAG[level]}${module ? module + ": " : ""}${msg}`;
    if (fields) {
      const parts = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`);
      if (parts.length) line += `: ${parts.join(" ")}`;
    }
    options.write(line + "\n");
  };
  return {
    named: (m) => createLogger(options, module ? `${module}.${m}` : m),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= min,
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
