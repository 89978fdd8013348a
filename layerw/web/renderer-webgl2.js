// WebGL2Renderer: the command list drawn with WebGL2 (GLSL ES 3.0; ANGLE underneath in Chrome),
// batched like the native wgpu renderer: one instance upload per frame, one instanced draw per
// batch, the same quad shader (a GLSL port of layerw/gfx/shaders.wgsl's vs_quad/fs_quad), a
// scissor per viewport, the game's sampling filter. Frames render into an offscreen RGBA8 target at the
// game's resolution and are blitted to the canvas, so they can be read back at any time.
// A lost context (a GPU reset, the browser reclaiming it; WEBGL_lose_context in tests) is taken
// back: the game keeps ticking while frames are skipped, and when the context is restored the
// programs, buffers, target and every texture (from the images the renderer kept) are made again
// and a fresh frame is drawn (onGpuLost). `recovery.stats` counts {losses, recoveries}.

import {
  BATCH_WORDS, FONT_TEXTURE, Frame, INSTANCE_WORDS, Pipeline, TRANSFORM_WORDS, VERTEX_WORDS,
} from "./commands.js";
import { RenderError } from "./errors.js";
import { loadImage, scissor } from "./renderer.js";

const COMMON = `#version 300 es
precision highp float;
precision highp int;
uniform vec4 u_m;     // a, b, c, d of x' = a*x + c*y + tx, y' = b*x + d*y + ty
uniform vec2 u_t;     // tx, ty
uniform vec2 u_size;  // render target size in pixels (= game resolution)
uniform highp sampler2D u_tex;
vec4 to_clip(vec2 p) {
  vec2 q = vec2(u_m.x * p.x + u_m.z * p.y, u_m.y * p.x + u_m.w * p.y) + u_t;
  vec2 ndc = q / u_size * 2.0 - 1.0;
  return vec4(ndc.x, -ndc.y, 0.0, 1.0);
}
vec4 unpack4x8unorm(uint c) {
  return vec4(uvec4(c, c >> 8u, c >> 16u, c >> 24u) & 255u) / 255.0;
}
`;

const QUAD_VS = `${COMMON}
layout(location = 0) in vec4 rect;      // top-left x, y and size w, h before rotation
layout(location = 1) in vec4 src;       // source rect in texels
layout(location = 2) in float rotation; // radians about the rect's centre
layout(location = 3) in uint color;
layout(location = 4) in uint flags;     // bit 0 flip x, bit 1 flip y, bits 8-15 shape
layout(location = 5) in float thickness;
out vec2 v_uv;
out vec4 v_color;
out vec2 v_local;
flat out vec2 v_half;
flat out uint v_shape;
flat out float v_thickness;
flat out float v_aa;
void main() {
  uint vi = uint(gl_VertexID);
  vec2 corner = vec2(float(vi & 1u), float(vi >> 1u));
  vec2 local = (corner - 0.5) * rect.zw;
  float c = cos(rotation);
  float s = sin(rotation);
  vec2 centre = rect.xy + rect.zw * 0.5;
  gl_Position = to_clip(centre + vec2(c * local.x - s * local.y, s * local.x + c * local.y));
  vec2 t = corner;
  if ((flags & 1u) != 0u) t.x = 1.0 - t.x;
  if ((flags & 2u) != 0u) t.y = 1.0 - t.y;
  v_uv = (src.xy + t * src.zw) / vec2(textureSize(u_tex, 0));
  v_color = unpack4x8unorm(color);
  v_local = local;
  v_half = abs(rect.zw) * 0.5;
  v_shape = (flags >> 8u) & 255u;
  v_thickness = thickness;
  v_aa = 1.0 / max(sqrt(abs(u_m.x * u_m.w - u_m.y * u_m.z)), 1e-6);
}`;

const QUAD_FS = `${COMMON}
in vec2 v_uv;
in vec4 v_color;
in vec2 v_local;
flat in vec2 v_half;
flat in uint v_shape;
flat in float v_thickness;
flat in float v_aa;
out vec4 out_color;
float coverage(float d, float aa) { return clamp(0.5 - d / aa, 0.0, 1.0); }
void main() {
  vec4 texel = textureLod(u_tex, v_uv, 0.0);
  vec2 h = v_half;
  float alpha = 1.0;
  if (v_shape == 1u) {
    alpha = coverage(length(v_local) - h.x, v_aa);
  } else if (v_shape == 2u) {
    float r = length(v_local);
    alpha = coverage(max(r - h.x, h.x - v_thickness - r), v_aa);
  } else if (v_shape == 3u) {
    vec2 q = abs(v_local);
    float outer = max(q.x - h.x, q.y - h.y);
    float inner = max(q.x - (h.x - v_thickness), q.y - (h.y - v_thickness));
    alpha = coverage(max(outer, -inner), v_aa);
  }
  vec4 color = texel * v_color;
  out_color = vec4(color.rgb, color.a * alpha);
}`;

const TRIANGLE_VS = `${COMMON}
layout(location = 0) in vec2 pos;
layout(location = 1) in vec2 uv;
layout(location = 2) in uint color;
out vec2 v_uv;
out vec4 v_color;
void main() {
  gl_Position = to_clip(pos);
  v_uv = uv;
  v_color = unpack4x8unorm(color);
}`;

const TRIANGLE_FS = `${COMMON}
in vec2 v_uv;
in vec4 v_color;
out vec4 out_color;
void main() { out_color = textureLod(u_tex, v_uv, 0.0) * v_color; }`;

export class WebGL2Renderer {
  static async create(canvas, { width, height, filter = "nearest", fontUrl = "/font.png" }) {
    const gl = canvas.getContext("webgl2", {
      alpha: false, antialias: false, depth: false, stencil: false, premultipliedAlpha: false,
      preserveDrawingBuffer: false, powerPreference: "high-performance",
    });
    if (!gl) throw new RenderError("this browser offers no WebGL2 context (is hardware acceleration off?)");
    const renderer = new WebGL2Renderer(gl, width, height, filter);
    renderer.upload(FONT_TEXTURE, await loadImage(fontUrl));
    canvas.addEventListener("webglcontextlost", (event) => {
      event.preventDefault(); // asks the browser to restore it
      renderer.contextLost();
    });
    canvas.addEventListener("webglcontextrestored", () => renderer.contextRestored());
    return renderer;
  }

  constructor(gl, width, height, filter = "nearest") {
    this.name = "webgl2";
    /** @type {(() => Uint8Array) | null} the renderer interface's (renderer.js): a fresh frame once a lost context is back */
    this.onGpuLost = null;
    this.gl = gl;
    this.width = width;
    this.height = height;
    this.filter = filter === "linear" ? gl.LINEAR : gl.NEAREST;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    this.glRenderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    this.frame = new Frame();
    this.textures = new Map();
    /** @type {Map<number, any>} each texture's image, to upload again into a restored context */
    this.images = new Map();
    this.lost = false;
    /** the interface DeviceRecovery offers (device-recovery.js): a lost context's counts */
    this.recovery = { stats: { losses: 0, recoveries: 0, fellBack: false, failure: null } };
    this.build();
  }

  /** Make the programs, buffers and render target (at creation, and again in a restored context). */
  build() {
    const { gl, width, height } = this;
    this.trianglesBound = false;
    this.quadProgram = this.program(QUAD_VS, QUAD_FS);
    this.triangleProgram = this.program(TRIANGLE_VS, TRIANGLE_FS);
    this.instanceBuffer = gl.createBuffer();
    this.vertexBuffer = gl.createBuffer();
    this.quadVao = gl.createVertexArray();
    this.triangleVao = gl.createVertexArray();
    this.target = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.target);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, width, height);
    this.fbo = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.target, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) {
      throw new RenderError("WebGL2 cannot render into an RGBA8 target here");
    }
    this.upload(0, { width: 1, height: 1, pixels: new Uint8Array([255, 255, 255, 255]) });
  }

  /** The context is gone: every GL object with it. Frames are skipped (the game keeps ticking) until it is back. */
  contextLost() {
    this.lost = true;
    this.recovery.stats.losses += 1;
    this.textures.clear();
    console.warn("[webgl2] the WebGL2 context was lost: frames are skipped until the browser restores it");
  }

  /** The context is back, empty: make everything again, upload every texture and draw a fresh frame. */
  contextRestored() {
    this.lost = false;
    this.build(); // its white texture too
    for (const [handle, image] of this.images) if (handle !== 0) this.upload(handle, image);
    this.recovery.stats.recoveries += 1;
    const commands = this.onGpuLost ? this.onGpuLost() : null;
    if (commands) this.draw(commands);
  }

  program(vsText, fsText) {
    const gl = this.gl;
    const shader = (type, text) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, text);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new RenderError(`GLSL compile failed: ${gl.getShaderInfoLog(s)}`);
      return s;
    };
    const p = gl.createProgram();
    gl.attachShader(p, shader(gl.VERTEX_SHADER, vsText));
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fsText));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new RenderError(`GLSL link failed: ${gl.getProgramInfoLog(p)}`);
    const u = (name) => gl.getUniformLocation(p, name);
    return { program: p, m: u("u_m"), t: u("u_t"), size: u("u_size"), tex: u("u_tex") };
  }

  /** Upload an ImageBitmap (or {width, height, pixels}) as texture `handle`. */
  upload(handle, image) {
    const gl = this.gl;
    this.images.set(handle, image);
    if (this.lost) return; // uploaded when the context is back
    const old = this.textures.get(handle);
    if (old) gl.deleteTexture(old);
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    if (image.pixels) {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, image.width, image.height, 0, gl.RGBA, gl.UNSIGNED_BYTE, image.pixels);
    } else {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, image);
    }
    const filter = handle === FONT_TEXTURE ? gl.NEAREST : this.filter; // the bitmap font stays crisp
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, filter);
    for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, p, gl.CLAMP_TO_EDGE);
    this.textures.set(handle, tex);
  }

  setTexture(handle, image) {
    if (handle <= 0) throw new RenderError(`texture handle ${handle} is reserved; games' handles are > 0`);
    this.upload(handle, image);
  }

  draw(commands) {
    if (this.lost) return; // skipped: the game keeps ticking, and the restored context draws a fresh frame
    const frame = this.frame.parse(commands);
    if (frame.gpu.length) { // the GPU API is WebGPU's: WebGL2 cannot run it (2D games run here as ever)
      throw new RenderError("this game draws with the GPU API, which needs WebGPU, and this browser gives the page no "
        + "WebGPU adapter (WebGL2 runs only 2D games): open it in a browser with WebGPU turned on (Chrome, Edge, "
        + "Safari 26, Firefox 141 or later)");
    }
    this.render(frame);
  }

  render(frame) {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.viewport(0, 0, this.width, this.height);
    gl.disable(gl.SCISSOR_TEST);
    const clear = frame.clear !== null ? frame.clear : 0xFF000000;
    gl.clearColor((clear & 255) / 255, ((clear >>> 8) & 255) / 255, ((clear >>> 16) & 255) / 255, (clear >>> 24) / 255);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.enable(gl.SCISSOR_TEST);
    if (frame.quadCount) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.instanceBuffer);
      gl.bufferData(gl.ARRAY_BUFFER, frame.instances.subarray(0, frame.quadCount * INSTANCE_WORDS), gl.STREAM_DRAW);
    }
    if (frame.vertexCount) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.vertexBuffer);
      gl.bufferData(gl.ARRAY_BUFFER, frame.vertices.subarray(0, frame.vertexCount * VERTEX_WORDS), gl.STREAM_DRAW);
    }
    gl.activeTexture(gl.TEXTURE0);
    const b = frame.batches;
    for (let i = 0; i < frame.batchCount; i++) {
      const o = i * BATCH_WORDS;
      const texture = this.textures.get(b[o + 1]);
      const rect = scissor(b[o + 3], b[o + 4], b[o + 5], b[o + 6], this.width, this.height);
      if (!texture || !rect) continue;
      gl.scissor(rect[0], this.height - rect[1] - rect[3], rect[2], rect[3]);
      const quads = b[o] === Pipeline.QUADS;
      const p = quads ? this.quadProgram : this.triangleProgram;
      gl.useProgram(p.program);
      const t = b[o + 2] * TRANSFORM_WORDS;
      const m = frame.transforms;
      gl.uniform4f(p.m, m[t], m[t + 1], m[t + 2], m[t + 3]);
      gl.uniform2f(p.t, m[t + 4], m[t + 5]);
      gl.uniform2f(p.size, this.width, this.height);
      gl.uniform1i(p.tex, 0);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      if (quads) {
        this.bindQuads(b[o + 7]);
        gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, b[o + 8]);
      } else {
        this.bindTriangles();
        gl.drawArrays(gl.TRIANGLES, b[o + 7], b[o + 8]);
      }
    }
    gl.bindVertexArray(null);
    gl.disable(gl.SCISSOR_TEST);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, this.fbo);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
    gl.blitFramebuffer(0, 0, this.width, this.height, 0, 0, this.width, this.height, gl.COLOR_BUFFER_BIT, gl.NEAREST);
  }

  /** Point the instance attributes at instance `first` (WebGL2 has no base instance). */
  bindQuads(first) {
    const gl = this.gl;
    gl.bindVertexArray(this.quadVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.instanceBuffer);
    const stride = INSTANCE_WORDS * 4;
    const base = first * stride;
    const floats = [[0, 4, 0], [1, 4, 16], [2, 1, 32], [5, 1, 44]];
    for (const [loc, n, off] of floats) {
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, n, gl.FLOAT, false, stride, base + off);
      gl.vertexAttribDivisor(loc, 1);
    }
    for (const [loc, off] of [[3, 36], [4, 40]]) {
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribIPointer(loc, 1, gl.UNSIGNED_INT, stride, base + off);
      gl.vertexAttribDivisor(loc, 1);
    }
  }

  bindTriangles() {
    const gl = this.gl;
    gl.bindVertexArray(this.triangleVao);
    if (this.trianglesBound) return;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.vertexBuffer);
    const stride = VERTEX_WORDS * 4;
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, stride, 0);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribPointer(1, 2, gl.FLOAT, false, stride, 8);
    gl.enableVertexAttribArray(2);
    gl.vertexAttribIPointer(2, 1, gl.UNSIGNED_INT, stride, 16);
    this.trianglesBound = true;
  }

  async readPixels() {
    const gl = this.gl;
    if (this.lost) throw new RenderError("the WebGL2 context is lost: no frame to read until the browser restores it");
    const w = this.width;
    const h = this.height;
    const pixels = new Uint8Array(w * h * 4);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, this.fbo);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    const out = new Uint8Array(pixels.length); // GL rows run bottom-up
    for (let y = 0; y < h; y++) out.set(pixels.subarray((h - 1 - y) * w * 4, (h - y) * w * 4), y * w * 4);
    return out;
  }

  close() {
    const gl = this.gl;
    for (const tex of this.textures.values()) gl.deleteTexture(tex);
    this.textures.clear();
    gl.deleteTexture(this.target);
    gl.deleteFramebuffer(this.fbo);
    gl.deleteBuffer(this.instanceBuffer);
    gl.deleteBuffer(this.vertexBuffer);
  }
}
