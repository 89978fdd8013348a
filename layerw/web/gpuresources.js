// GpuTable: the GPU resources a game has declared, as the checker sees them (the same rules and
// messages as layerw/gfx/gpuresources.py; descriptions only, no WebGPU objects).
//
// Handles are the game's own small integers, one namespace per kind (abi.js GPU_KINDS). The table
// bounds what one game may hold: GPU_LIMITS.MAX_RESOURCES resources and MAX_MEMORY_BYTES of buffers
// and textures. A frame is checked against a copy, which replaces the table only when the whole
// frame passes.

import { GPU_KINDS, GPU_LIMITS, GPU_TEXEL_BYTES, GPU_TEXTURE_FORMATS } from "./abi.js";
import { GpuStreamError } from "./errors.js";

export const KIND_NAMES = Object.freeze(Object.fromEntries(Object.entries(GPU_KINDS).map(([k, v]) => [v, k.toLowerCase().replace("_", " ")])));
export const { BUFFER, TEXTURE, SAMPLER, SHADER, LAYOUT, BIND_GROUP, PIPELINE } = GPU_KINDS;
export const FRAME_FORMAT = "rgba8unorm"; // the frame's colour target (GPU_FRAME)

/** Bytes per texel of a format name (0: a depth format). */
export function texelBytes(format) { return GPU_TEXEL_BYTES[GPU_TEXTURE_FORMATS.indexOf(format)]; }

export class Buffer {
  constructor(size, usage) { this.size = size; this.usage = usage; this.memory = size; }
}

export class Texture {
  constructor(width, height, format, usage, mipLevels = 1) {
    this.width = width;
    this.height = height;
    this.format = format;
    this.usage = usage;
    this.mipLevels = mipLevels;
    this.depth = texelBytes(format) === 0;
    let texels = 0;
    for (let level = 0; level < mipLevels; level++) {
      const [w, h] = this.levelSize(level);
      texels += w * h;
    }
    this.memory = texels * Math.max(4, texelBytes(format));
  }

  /** Width and height of mip level `level`. @param {number} level @returns {[number, number]} */
  levelSize(level) {
    return [Math.max(1, this.width >> level), Math.max(1, this.height >> level)];
  }
}

export class Sampler {
  constructor(comparison) { this.comparison = comparison; this.memory = 0; }
}

export class Shader {
  constructor() { this.memory = 0; }
}

export class Layout {
  /** @param {Map<number, string>} types binding -> GPU_BINDING_TYPES name */
  constructor(types) { this.types = types; this.memory = 0; }
}

/** A pipeline's vertex buffer slot: `extent` is the bytes the last element reads. */
export class VertexSlot {
  constructor(stride, step, extent) { this.stride = stride; this.step = step; this.extent = extent; }
}

export class Pipeline {
  /** @param {number[]} layouts bind group layout handles; empty: auto @param {string[]} colors
   *  @param {string | null} depth @param {VertexSlot[]} slots */
  constructor(layouts, colors, depth, slots, compute = false) {
    this.layouts = layouts;
    this.colors = colors;
    this.depth = depth;
    this.slots = slots;
    this.memory = 0;
    this.compute = compute; // a compute pipeline (no colours, depth or slots)
  }

  get auto() { return this.layouts.length === 0; }
}

export class BindGroup {
  /** @param {number} layout 0: auto @param {number} pipeline auto: whose layout @param {number} group
   *  @param {Set<number>} uses key(kind, handle) of every resource it binds */
  constructor(layout, pipeline, group, uses) {
    this.layout = layout;
    this.pipeline = pipeline;
    this.group = group;
    this.uses = uses;
    this.memory = 0;
  }
}

const KIND_SLOTS = 8; // above every LW_GPU_KIND_*

/** The table's key of (kind, handle): a small integer for every handle a game can create (V8 keeps
 *  it unboxed, which a per-draw lookup notices), and one of its own for any u32 handle. */
export function key(kind, handle) { return handle * KIND_SLOTS + kind; }

/** The kind and handle of a table key. @returns {[number, number]} */
export function unkey(k) { return [k % KIND_SLOTS, Math.floor(k / KIND_SLOTS)]; }

/** (kind, handle) -> resource, with the memory they hold. */
export class GpuTable {
  /** @param {Map<number, any>} resources */
  constructor(resources = new Map(), memory = 0) {
    this.resources = resources;
    this.memory = memory;
  }

  copy() { return new GpuTable(new Map(this.resources), this.memory); }

  get(kind, handle, what) {
    const found = this.resources.get(key(kind, handle));
    if (found === undefined) {
      throw new GpuStreamError(`${what}: no ${KIND_NAMES[kind]} ${handle} (create it first, or after a `
        + "restore declare it again when lw_gpu_fresh is true)");
    }
    return found;
  }

  add(kind, handle, resource, what) {
    if (!(handle > 0 && handle < GPU_LIMITS.MAX_HANDLE)) {
      throw new GpuStreamError(`${what}: handle ${handle} is outside 1 .. ${GPU_LIMITS.MAX_HANDLE - 1}`);
    }
    if (this.resources.has(key(kind, handle))) {
      throw new GpuStreamError(`${what}: ${KIND_NAMES[kind]} ${handle} exists already; destroy it first`);
    }
    if (this.resources.size >= GPU_LIMITS.MAX_RESOURCES) {
      throw new GpuStreamError(`${what}: over the limit of ${GPU_LIMITS.MAX_RESOURCES} GPU resources`);
    }
    if (this.memory + resource.memory > GPU_LIMITS.MAX_MEMORY_BYTES) {
      throw new GpuStreamError(`${what}: ${resource.memory} more bytes would put the game's GPU memory over `
        + `${GPU_LIMITS.MAX_MEMORY_BYTES}`);
    }
    this.resources.set(key(kind, handle), resource);
    this.memory += resource.memory;
  }

  remove(kind, handle, what) {
    const resource = this.get(kind, handle, what);
    const k = key(kind, handle);
    for (const [other, r] of this.resources) {
      if (r instanceof BindGroup && r.uses.has(k)) {
        throw new GpuStreamError(`${what}: bind group ${unkey(other)[1]} still uses ${KIND_NAMES[kind]} ${handle}; destroy it first`);
      }
    }
    this.resources.delete(k);
    this.memory -= resource.memory;
  }

  clear() {
    this.resources.clear();
    this.memory = 0;
  }
}
