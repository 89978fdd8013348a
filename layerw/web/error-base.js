// The behaviour every error class in errors.js shares. errors.js itself is generated from
// layerw/errors.py (`make codegen`) and holds only the tree: names, parents and each class's
// `fields` (Python's keyword-only arguments, camelCased, with their defaults).
//
//   new GameCrashed("hostile at tick 3 in lw_tick: trapped: unreachable", { game, tick, trapCode, cause })
//
// A field the class does not declare is a TypeError, as an unknown keyword argument is in Python.

export class ErrorBase extends Error {
  static fields = Object.freeze({});

  /**
   * @param {string} message
   * @param {{cause?: unknown, [field: string]: unknown}} [fields]
   */
  constructor(message, { cause, ...given } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    const fields = new.target.fields;
    const unknown = Object.keys(given).filter((key) => !Object.hasOwn(fields, key));
    if (unknown.length) {
      const known = Object.keys(fields).join(", ") || "none";
      throw new TypeError(`${new.target.name} has no field ${unknown.join(", ")} (its fields: ${known})`);
    }
    for (const [key, value] of Object.entries(fields)) {
      this[key] = Object.hasOwn(given, key) ? given[key] : (Array.isArray(value) ? [...value] : value);
    }
  }

  get name() { return this.constructor.name; }
}
