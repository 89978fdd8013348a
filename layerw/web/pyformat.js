// Python's formatting of floats, strings and lists, so that the browser's GPU stream errors read
// exactly as the native host's (gpucheck.py, gpustream.py): one message per error on every host.

/** Python's repr() of a float. */
export function pyFloat(v) {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = v.toExponential().split("e"); // the shortest digits that round-trip, as repr's
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  const text = v.toFixed(Math.max(0, mantissa.replace("-", "").replace(".", "").length - 1 - e));
  return text.includes(".") ? text : `${text}.0`;
}

/** Python's repr() of a str. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = [...text].map((c) => {
    const u = c.codePointAt(0) ?? 0;
    if (c === "\\" || c === quote) return `\\${c}`;
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    if (u < 0x20 || (u >= 0x7f && u < 0xa1) || u === 0xad) return `\\x${u.toString(16).padStart(2, "0")}`;
    return c;
  }).join("");
  return quote + escaped + quote;
}

/** Python's repr() of a list of strs or ints. */
export function pyList(items) {
  return `[${items.map((v) => (typeof v === "string" ? pyRepr(v) : String(v))).join(", ")}]`;
}
