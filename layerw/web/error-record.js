// ErrorRecord: an error as a game worker posts it to the page (game-worker.js, worker-client.js).
// A structured clone of an Error keeps neither its class nor its fields, so the worker sends the
// class name, message, fields and stacks, and the page makes the same class from errors.js again,
// so a worker's game fails with the same typed error as a game on the page.

import * as errors from "./errors.js";
import { ErrorBase } from "./error-base.js";

/**
 * The cloneable record of `e`.
 * @param {any} e
 * @returns {{name: string, message: string, fields: Record<string, unknown>, stack: string, causeStack: string | null}}
 */
export function errorRecord(e) {
  const error = e instanceof Error ? e : new Error(String(e));
  const fields = error instanceof ErrorBase
    ? Object.fromEntries(Object.keys(/** @type {any} */ (error.constructor).fields).map((k) => [k, /** @type {any} */ (error)[k]]))
    : {};
  const cause = /** @type {any} */ (error).cause;
  return { name: error.name, message: error.message, fields: cloneable(fields), stack: error.stack || "",
    causeStack: cause instanceof Error ? cause.stack || "" : null };
}

/**
 * The error a record describes: its errors.js class where it names one, else an Error of that name.
 * @param {ReturnType<typeof errorRecord>} record
 * @returns {Error}
 */
export function reviveError(record) {
  const Class = /** @type {any} */ (errors)[record.name];
  const cause = record.causeStack === null ? undefined : Object.assign(new Error("in the game worker"), { stack: record.causeStack });
  if (typeof Class === "function" && Class.prototype instanceof ErrorBase) {
    const error = new Class(record.message, { ...record.fields, cause });
    error.stack = record.stack;
    return error;
  }
  const error = new Error(record.message, cause ? { cause } : undefined);
  error.name = record.name;
  error.stack = record.stack;
  return error;
}

/**
 * Fields a structured clone takes (functions and class instances dropped to their text).
 * @param {Record<string, unknown>} fields
 * @returns {Record<string, unknown>}
 */
function cloneable(fields) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [k, v] of Object.entries(fields)) {
    try {
      structuredClone(v);
      out[k] = v;
    } catch {
      out[k] = String(v);
    }
  }
  return out;
}
