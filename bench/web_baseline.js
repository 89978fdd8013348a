// The raw browser baselines for bench/web_frames.py (run by page.evaluate, so one expression): the
// least a hand-written page must do to draw the sprites game's frame, as bench/baseline.py does for
// wgpu. One pipeline (bench/baseline.wgsl for WebGPU, the same maths in GLSL for WebGL2), one
// instance buffer holding the frame's lw_sprite_rec records as they are, one texture, one pass with
// one instanced draw, on a canvas of its own at the game's size. No parsing, batching or cameras.
//
// window.rawBaselines[kind] = {frame(i) -> [submitted s, done s], readPixels(i) -> base64 RGBA, top row first}
async ({ kind, wgsl, lists, texture, clear, width, height }) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const sprites = lists.map(bytes);
  const pixels = bytes(texture.rgba);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = `raw-${kind}`;
  document.body.append(canvas);
  const base64 = (data) => {
    let text = "";
    for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return btoa(text);
  };
  const capacity = Math.max(...sprites.map((s) => s.length));
  let baseline;
  if (kind === "webgpu") {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter.requestDevice();
    const context = canvas.getContext("webgpu");
    const U = GPUTextureUsage;
    context.configure({ device, format: "rgba8unorm", alphaMode: "opaque", usage: U.RENDER_ATTACHMENT | U.COPY_SRC });
    const instances = device.createBuffer({ size: capacity, usage: GPUBufferUsage.VERTEX | GPUBufferUsage.COPY_DST });
    const uniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(uniform, 0, new Float32Array([width, height, texture.width, texture.height]));
    const tex = device.createTexture({ size: [texture.width, texture.height], format: "rgba8unorm", usage: U.TEXTURE_BINDING | U.COPY_DST });
    device.queue.writeTexture({ texture: tex }, pixels, { bytesPerRow: texture.width * 4, rowsPerImage: texture.height },
      [texture.width, texture.height]);
    const shader = device.createShaderModule({ code: wgsl });
    const blend = { color: { srcFactor: "src-alpha", dstFactor: "one-minus-src-alpha" },
      alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha" } };
    const pipeline = device.createRenderPipeline({
      layout: "auto",
      vertex: { module: shader, entryPoint: "vs", buffers: [{ arrayStride: 48, stepMode: "instance", attributes: [
        { shaderLocation: 0, offset: 0, format: "float32x4" }, { shaderLocation: 1, offset: 16, format: "float32x4" },
        { shaderLocation: 2, offset: 32, format: "float32" }, { shaderLocation: 3, offset: 36, format: "uint32" },
        { shaderLocation: 4, offset: 40, format: "uint32" }] }] },
      primitive: { topology: "triangle-strip", cullMode: "none" },
      fragment: { module: shader, entryPoint: "fs", targets: [{ format: "rgba8unorm", blend }] },
    });
    const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [
      { binding: 0, resource: { buffer: uniform } }, { binding: 1, resource: tex.createView() },
      { binding: 2, resource: device.createSampler({ magFilter: "nearest", minFilter: "nearest" }) }] });
    const encode = (i) => {
      device.queue.writeBuffer(instances, 0, sprites[i]);
      const target = context.getCurrentTexture();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginRenderPass({ colorAttachments: [{ view: target.createView(), loadOp: "clear", storeOp: "store",
        clearValue: clear }] });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.setVertexBuffer(0, instances);
      pass.draw(4, sprites[i].length / 48);
      pass.end();
      return { encoder, target };
    };
    baseline = {
      async frame(i) {
        const t0 = performance.now();
        const { encoder } = encode(i);
        device.queue.submit([encoder.finish()]);
        const t1 = performance.now();
        await device.queue.onSubmittedWorkDone();
        return [(t1 - t0) / 1000, (performance.now() - t0) / 1000];
      },
      async readPixels(i) {
        const row = Math.ceil((width * 4) / 256) * 256;
        const buffer = device.createBuffer({ size: row * height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
        const { encoder, target } = encode(i);
        encoder.copyTextureToBuffer({ texture: target }, { buffer, bytesPerRow: row, rowsPerImage: height }, [width, height]);
        device.queue.submit([encoder.finish()]);
        await buffer.mapAsync(GPUMapMode.READ);
        const padded = new Uint8Array(buffer.getMappedRange());
        const out = new Uint8Array(width * height * 4);
        for (let y = 0; y < height; y++) out.set(padded.subarray(y * row, y * row + width * 4), y * width * 4);
        buffer.destroy();
        return base64(out);
      },
    };
  } else {
    const gl = canvas.getContext("webgl2", { alpha: false, antialias: false, depth: false, stencil: false,
      premultipliedAlpha: false, preserveDrawingBuffer: false });
    const compile = (type, source) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, source);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
      return s;
    };
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl.VERTEX_SHADER, `#version 300 es
      precision highp float;
      uniform vec4 u_screen; // target size, texture size
      layout(location = 0) in vec4 a_rect;
      layout(location = 1) in vec4 a_src;
      layout(location = 2) in float a_rotation;
      layout(location = 3) in uint a_tint;
      layout(location = 4) in uint a_flags;
      out vec2 v_uv;
      out vec4 v_color;
      void main() {
        vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
        vec2 local = (corner - 0.5) * a_rect.zw;
        float c = cos(a_rotation), n = sin(a_rotation);
        vec2 p = a_rect.xy + a_rect.zw * 0.5 + vec2(c * local.x - n * local.y, n * local.x + c * local.y);
        vec2 ndc = p / u_screen.xy * 2.0 - 1.0;
        vec2 t = corner;
        if ((a_flags & 1u) != 0u) t.x = 1.0 - t.x;
        if ((a_flags & 2u) != 0u) t.y = 1.0 - t.y;
        gl_Position = vec4(ndc.x, -ndc.y, 0.0, 1.0);
        v_uv = (a_src.xy + t * a_src.zw) / u_screen.zw;
        v_color = vec4(float(a_tint & 255u), float((a_tint >> 8) & 255u), float((a_tint >> 16) & 255u), float(a_tint >> 24)) / 255.0;
      }`));
    gl.attachShader(program, compile(gl.FRAGMENT_SHADER, `#version 300 es
      precision highp float;
      uniform sampler2D u_tex;
      in vec2 v_uv;
      in vec4 v_color;
      out vec4 color;
      void main() { color = textureLod(u_tex, v_uv, 0.0) * v_color; }`));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    gl.useProgram(program);
    gl.uniform4f(gl.getUniformLocation(program, "u_screen"), width, height, texture.width, texture.height);
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, texture.width, texture.height, 0, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.NEAREST], [gl.TEXTURE_MAG_FILTER, gl.NEAREST],
      [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]]) gl.texParameteri(gl.TEXTURE_2D, k, v);
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, capacity, gl.DYNAMIC_DRAW);
    gl.enableVertexAttribArray(0); gl.vertexAttribPointer(0, 4, gl.FLOAT, false, 48, 0); gl.vertexAttribDivisor(0, 1);
    gl.enableVertexAttribArray(1); gl.vertexAttribPointer(1, 4, gl.FLOAT, false, 48, 16); gl.vertexAttribDivisor(1, 1);
    gl.enableVertexAttribArray(2); gl.vertexAttribPointer(2, 1, gl.FLOAT, false, 48, 32); gl.vertexAttribDivisor(2, 1);
    gl.enableVertexAttribArray(3); gl.vertexAttribIPointer(3, 1, gl.UNSIGNED_INT, 48, 36); gl.vertexAttribDivisor(3, 1);
    gl.enableVertexAttribArray(4); gl.vertexAttribIPointer(4, 1, gl.UNSIGNED_INT, 48, 40); gl.vertexAttribDivisor(4, 1);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.viewport(0, 0, width, height);
    gl.clearColor(...clear);
    const draw = (i) => {
      gl.bufferSubData(gl.ARRAY_BUFFER, 0, sprites[i]);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, sprites[i].length / 48);
    };
    baseline = {
      async frame(i) {
        const t0 = performance.now();
        draw(i);
        const t1 = performance.now();
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4)); // waits for the draw
        return [(t1 - t0) / 1000, (performance.now() - t0) / 1000];
      },
      async readPixels(i) {
        draw(i);
        const flipped = new Uint8Array(width * height * 4);
        gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, flipped);
        const out = new Uint8Array(flipped.length);
        for (let y = 0; y < height; y++) out.set(flipped.subarray(y * width * 4, (y + 1) * width * 4), (height - 1 - y) * width * 4);
        return base64(out);
      },
    };
  }
  window.rawBaselines = { ...(window.rawBaselines || {}), [kind]: baseline };
  return kind;
}
