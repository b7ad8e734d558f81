// Go time.ParseDuration / Duration.String, since Consul's bodies, query strings and configs
// carry Go durations and clients read them back in that form.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GROUP = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Parses a Go duration string into milliseconds (fractional allowed). Throws on bad input. */
export function parseGoDuration(input: string): number {
  let s = input;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new Error(`time: invalid duration "${input}"`);
  let total = 0;
  while (s.length > 0) {
    const m = GROUP.exec(s);
    if (!m) {
      if (/^\d+\.?\d*$/.test(s)) throw new Error(`time: missing unit in duration "${input}"`);
      throw new Error(`time: invalid duration "${input}"`);
    }
    total += Number(m[1]) * UNIT_MS[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Accepts a Go duration string or a JSON number of nanoseconds; returns milliseconds. */
export function parseDurationField(value: unknown): number {
  if (typeof value === "number") return value / 1e6;
  if (typeof value === "bigint") return Number(value) / 1e6;
  if (typeof value === "string") return parseGoDuration(value);
  if (value === null || value === undefined) return 0;
  throw new Error(`invalid duration: ${JSON.stringify(value)}`);
}

function trimFloat(n: number): string {
  // Go prints the shortest representation without trailing zeros.
  return Number(n.toFixed(9)).toString();
}

/** Go's Duration.String() for a millisecond count. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    if (rest < 1e-3) out = `${Math.round(rest * 1e6)}ns`;
    else if (rest < 1) out = `${trimFloat(rest * 1e3)}µs`;
    else out = `${trimFloat(rest)}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const sec = `${trimFloat(rest / 1000)}s`;
    if (h > 0) out = `${h}h${m}m${sec}`;
    else if (m > 0) out = `${m}m${sec}`;
    else out = sec;
  }
  return neg ? `-${out}` : out;
}
