// DevOverlay: the page's list of dev-check findings (?dev=1), so a problem is seen where the game is,
// not only on the console: each problem once, with its tick, its kind, the game's source line where
// the check found it inside a host call, and a button that dismisses it (another dismisses them all).
//
//   new DevOverlay(parent) ; overlay.add(problem) -> entry ; entry.locate(frames) ; overlay.close()
//
// The source line comes from the build's symbols (symbols.js): the innermost frame in the game's own
// code, skipping the inlined helpers of layerw.h; a problem found after a call (render-state,
// unknown-texture, source-rect, guard-write, missing-glyph) names no line.

const HEADERS = /(^|\/)layerw(_gpu)?\.h$/;

/**
 * The innermost frame in the game's own sources, or null.
 * @param {{function: string, file: string, line: number}[]} frames
 */
export function gameFrame(frames) {
  return frames.find((f) => f.file && f.line && !HEADERS.test(f.file)) || null;
}

/** One row of the overlay. */
class Entry {
  /**
   * @param {DevOverlay} overlay
   * @param {import("./devchecks.js").Problem & {source?: string}} problem
   */
  constructor(overlay, problem) {
    this.problem = problem;
    this.row = document.createElement("li");
    this.row.dataset.kind = problem.kind;
    const head = document.createElement("div");
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.textContent = `tick ${problem.tick}`;
    const kind = document.createElement("b");
    kind.textContent = problem.kind;
    this.where = document.createElement("span");
    this.where.className = "where";
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "dismiss";
    dismiss.title = "dismiss";
    dismiss.setAttribute("aria-label", `dismiss ${problem.kind} at tick ${problem.tick}`);
    dismiss.textContent = "\u00d7";
    dismiss.addEventListener("click", () => overlay.dismiss(this));
    head.append(tick, " ", kind, " ", this.where, dismiss);
    const message = document.createElement("div");
    message.className = "message";
    message.textContent = problem.message;
    this.row.append(head, message);
  }

  /**
   * Name the game's source line among `frames` (symbols.js sourceFrames); the problem keeps it as `source`.
   * @param {{function: string, file: string, line: number}[]} frames
   */
  locate(frames) {
    const frame = gameFrame(frames);
    if (!frame) return;
    this.problem.source = `${frame.file}:${frame.line}`;
    this.where.textContent = `at ${frame.function} (${this.problem.source})`;
  }
}

export class DevOverlay {
  /** @param {HTMLElement} parent */
  constructor(parent) {
    this.box = document.createElement("aside");
    this.box.id = "dev-problems";
    this.box.setAttribute("role", "log");
    this.box.setAttribute("aria-label", "dev checks");
    this.box.hidden = true;
    const title = document.createElement("header");
    const all = document.createElement("button");
    all.type = "button";
    all.className = "dismiss-all";
    all.textContent = "dismiss all";
    all.addEventListener("click", () => { for (const entry of [...this.entries]) this.dismiss(entry); });
    title.append("dev checks ", all);
    this.list = document.createElement("ol");
    this.box.append(title, this.list);
    parent.append(this.box);
    /** @type {Entry[]} */
    this.entries = [];
    this.dismissed = 0;
  }

  /** @param {import("./devchecks.js").Problem} problem */
  add(problem) {
    const entry = new Entry(this, problem);
    this.entries.push(entry);
    this.list.append(entry.row);
    this.box.hidden = false;
    return entry;
  }

  /** @param {Entry} entry */
  dismiss(entry) {
    const at = this.entries.indexOf(entry);
    if (at < 0) return;
    this.entries.splice(at, 1);
    entry.row.remove();
    this.dismissed += 1;
    this.box.hidden = this.entries.length === 0;
  }

  close() {
    this.box.remove();
    this.entries = [];
  }
}
