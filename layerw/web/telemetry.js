// Telemetry: the page tells the server how loading went, as one small JSON report.
//
//   new Telemetry(url) .load(fields) .error(fields)
//       POST url (the server's /telemetry) with navigator.sendBeacon, so a report leaves even
//       while the page is closing; fetch with keepalive where beacons are missing. At most one
//       load report and one error report per page; reports never throw and are never retried.
//       The server caps their size and rate (layerw/server/telemetry.py).

const MAX_TEXT = 500;

export class Telemetry {
  constructor(url) {
    this.url = url;
    this.sent = new Set();
  }

  /** First frame drawn: {game, channel, version, renderer, module_from, chunks_fetched,
   *  chunks_cached, bytes_fetched, ms: {manifest, module, first_frame}}. */
  load(fields) { this.send("load", fields); }

  /** The page failed: {game, version, tick, error, error_class, frames: [{offset, function, file, line}]}. */
  error(fields) { this.send("error", { ...fields, error: String(fields.error || "").slice(0, MAX_TEXT) }); }

  send(kind, fields) {
    if (this.sent.has(kind)) return;
    this.sent.add(kind);
    try {
      const body = JSON.stringify({ kind, ...fields });
      if (navigator.sendBeacon && navigator.sendBeacon(this.url, body)) return;
      fetch(this.url, { method: "POST", body, keepalive: true }).catch(() => {});
    } catch {
      // telemetry must never break the page
    }
  }
}
