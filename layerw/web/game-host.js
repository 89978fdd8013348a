// GameHost: one running game in the browser, whatever runs its code (mirrors layerw/runtime/game.py
// and component_game.py). Everything that is not backend-specific lives here, once: the lw_io
// checks, the failure latch and memory cap, tick and render, the asset table and new textures,
// snapshots, restore, the state hash, the game's Audio (each tick's sound block mixed), close. A backend is a subclass that implements only the
// GameBackend hooks (game-backend.js: how to load and instantiate the code, call its exports, read
// and write its memory): `Game` (game.js) runs a core module, `ComponentGame` (component-game.js) a
// component transpiled by jco. Callers pick one, once, from the config (main.js `openGame`).
//
// Per frame the host makes at most two calls into the guest: tick (the tick's packed input) and
// render (the command list). Traps become typed errors carrying the game's name, tick and trap code.

import { ABI_VERSION, COMMAND_SCRATCH, IO_MAGIC, SOUND_CAPACITY, STRUCTS } from "./abi.js";
import { Mixer } from "./mixer.js";
import { AssetTable } from "./assets.js";
import { patch } from "./blocks.js";
import { DevChecks } from "./devchecks.js";
import { Audio } from "./audio.js";
import { GameCrashed, GameError, GameExited, GameOutOfMemory, InvalidModule, LayerWError, ProtocolError } from "./errors.js";
import { Host, SplitMix64 } from "./host.js";
import { PAGE, Snapshot } from "./snapshot.js";

/** @typedef {import("./game-backend.js").GameBackend} GameBackend */
/** @typedef {import("./game-backend.js").GameConfig} GameConfig */
/** @typedef {import("./game-backend.js").GameOptions} GameOptions */
/** @typedef {import("./game-backend.js").GameSource} GameSource */
/** @typedef {import("./game-backend.js").Inputs} Inputs */
/** @typedef {import("./game-backend.js").IoBlock} IoBlock */
/** @typedef {import("./game-backend.js").LogFn} LogFn */
/** @typedef {import("./game-backend.js").SnapshotFields} SnapshotFields */

const MB = 1024 * 1024;
const EMPTY = new Uint8Array(0);
const INPUT_SIZE = STRUCTS.lw_input.size;

// V8's trap messages -> wasmtime's trap codes (lower case), so both hosts name a trap alike.
const TRAP_CODES = [
  [/unreachable/i, "unreachable"],
  [/memory access out of bounds/i, "memory_out_of_bounds"],
  [/(divide|remainder) by zero/i, "integer_division_by_zero"],
  [/(integer overflow|divide result unrepresentable)/i, "integer_overflow"],
  [/float unrepresentable/i, "bad_conversion_to_integer"],
  [/table index is out of bounds/i, "table_out_of_bounds"],
  [/null function|signature mismatch/i, "bad_signature"],
  [/call stack size/i, "stack_overflow"],
];

/**
 * The default log: the console method of the line's level.
 * @param {string} level "debug" | "info" | "warn" | "error"
 * @param {string} text
 */
export function consoleLog(level, text) {
  const write = /** @type {Record<string, ((text: string) => void) | undefined>} */ (/** @type {unknown} */ (console))[level];
  (write || console.log)(text);
}

/**
 * A trap (a RuntimeError from V8) as the GameCrashed both hosts raise, trap code included.
 * @param {Error} error
 * @param {string} game
 * @param {number} tick
 * @param {string} call the export that trapped, as the backend names it
 * @returns {GameCrashed}
 */
export function crashOf(error, game, tick, call) {
  const text = String(error.message || error).split("\n")[0];
  const found = TRAP_CODES.find(([re]) => /** @type {RegExp} */ (re).test(text));
  const trapCode = found ? /** @type {string} */ (found[1]) : "unknown";
  return new GameCrashed(`${game} at tick ${tick} in ${call}: trapped: ${text}`, { game, tick, trapCode, cause: error });
}

export class GameHost {
  /**
   * Start a game from a source: the backend loads its code (`load`) while the preloaded assets are
   * fetched and decoded, then the guest is instantiated and initialised.
   * @template {GameHost} G
   * @this {{load(source: GameSource): Promise<unknown>, new (config: GameConfig, assets: AssetTable, seed: bigint, log: LogFn, code: any): G}}
   * @param {GameSource} source
   * @param {GameOptions} [options]
   * @returns {Promise<G>}
   */
  static async create(source, { seed = 0, log = consoleLog, onAsset, saves = null, watch = null } = {}) {
    const { config } = source;
    const assets = new AssetTable(config.assets || [], config.preload || [], (n) => source.readAsset(n), config.stream || [],
      source.readStream ? (n, sink) => /** @type {any} */ (source).readStream(n, sink) : null);
    const [code, mixer] = await Promise.all([this.load(source), Mixer.compile(), assets.preloadAll(onAsset)]);
    const game = new this(config, assets, BigInt.asUintN(64, BigInt(seed)), log, code);
    game.saves = saves;
    game.watch = watch;
    game.audio = new Audio(game.name, mixer, game.tickRate, log);
    await game.start();
    return game;
  }

  /**
   * @param {GameConfig} config
   * @param {AssetTable} assets
   * @param {bigint} seed
   * @param {LogFn} log
   */
  constructor(config, assets, seed, log) {
    this.config = config;
    this.name = config.name;
    this.tickRate = config.tick_rate;
    this.memoryCap = (config.memory_mb || 64) * MB;
    this.assets = assets;
    this.seed = seed;
    this.log = log;
    this.tickCount = 0;
    /** @type {GameError | null} the error the game failed with; every later call refuses */
    this.failure = null;
    this.closed = false;
    this.droppedReported = false;
    this.rng = new SplitMix64(seed);
    this.moduleSha256 = config.manifest ? config.manifest.module.sha256 : null;
    /** @type {Uint8Array | null} the last tick's input bytes */
    this.lastInput = null;
    // lw_io, checked at start (checkIo)
    this.inputPtr = 0;
    this.cmdPtr = 0;
    /** @type {DevChecks | null} the dev checks, when the page asks for them (?dev=1) */
    this.checks = null;
    this.cmdCapacity = 0;
    this.stateBegin = 0;
    this.sndPtr = 0; // the sound block; 0 when the game makes no sound
    this.sndCapacity = 0;
    this.oversizedReported = false;
    /** @type {Audio | null} set by create() */
    this.audio = null;
    this.soundMs = 0; // milliseconds spent mixing sound so far
    /** @type {WebAssembly.Memory | null} the guest's linear memory where the host sees it (the memory cap) */
    this.memory = null;
    /** @type {import("./saves.js").SaveStore | null} the game's save slots (null in a room); not game state */
    this.saves = null;
    /** @type {Uint8Array | null} a fresh instance's memory below state_begin (in-place restores) */
    this.freshStack = null;
    /** @type {import("./game-backend.js").CallWatch | null} told of each call into the guest before it starts
     *  (a game worker's CallBeat, game-worker.js: the page's Watchdog keeps the deadline) */
    this.watch = null;
  }

  // --- the instance -------------------------------------------------------------------------------

  /**
   * This game's backend hooks: its subclass's methods (see game-backend.js).
   * @returns {GameBackend}
   */
  get backend() {
    return /** @type {GameBackend} */ (/** @type {unknown} */ (this));
  }

  /**
   * The bytes of guest memory the host sees, for the memory cap (0 where it sees none).
   * @returns {number}
   */
  memoryBytes() {
    return this.memory ? this.memory.buffer.byteLength : 0;
  }

  /** Refuse to touch a closed game. */
  assertOpen() {
    if (this.closed) throw new GameError(`${this.name} is closed: start it again`, { game: this.name, tick: this.tickCount });
  }

  /**
   * `part` of the instance (its exports, its memory), once the game is open and instantiated.
   * @template T
   * @param {T | null} part
   * @returns {T}
   */
  live(part) {
    this.assertOpen();
    if (part === null) throw new TypeError(`${this.name} has no instance yet`);
    return part;
  }

  async start() {
    await this.instantiate(this.rng);
    const fresh = this.liveMemory(); // before the guest's first call uses its stack
    const before = fresh ? fresh.slice() : null;
    this.checkIo(this.backend.initGuest(this.seed));
    this.freshStack = before ? before.slice(0, this.stateBegin) : null;
  }

  /**
   * A fresh instance whose random stream is `rng` (start, and restore); a component game's world has
   * no WASI, so there `rng` is kept for snapshots' host state only.
   * @param {SplitMix64} rng
   */
  async instantiate(rng) {
    this.rng = rng;
    const host = new Host({
      game: this.name,
      assets: this.assets,
      rng,
      tick: () => this.tickCount,
      clockNs: () => (BigInt(this.tickCount) * 1000000000n) / BigInt(this.tickRate),
      memory: () => this.memory,
      log: this.log,
      saves: this.saves,
      refused: (func, reason) => { if (this.checks) this.checks.hostCall(func, reason); },
    });
    try {
      await this.backend.instantiateGuest(host);
    } catch (e) {
      if (e instanceof LayerWError) throw e;
      if (e instanceof WebAssembly.RuntimeError) throw crashOf(e, this.name, this.tickCount, "instantiate");
      const plugins = this.config.plugins && this.config.plugins.length ? " (browsers do not link plugins yet)" : "";
      throw new InvalidModule(`${this.name} cannot be instantiated: ${e.message || e}${plugins}`);
    }
    if (this.memoryBytes() > this.memoryCap) {
      throw new GameOutOfMemory(`${this.name} needs more initial memory than its cap of ${this.memoryCap / MB} MiB; `
        + "raise [limits] memory_mb", { game: this.name, tick: this.tickCount });
    }
  }

  /**
   * An instance of `module`, one of the guest's own compiled modules (a backend's instantiateGuest
   * makes each through here): only this counts against the call deadline, since a wasm start function
   * runs in it, as natively, where the deadline is armed over the instantiation alone. The host's work
   * around it (compiling, making the imports: a cart's drawing module) is not the guest's time.
   * @param {WebAssembly.Module | Promise<WebAssembly.Module>} module
   * @param {WebAssembly.Imports} imports
   * @returns {Promise<WebAssembly.Instance>}
   */
  async instantiateModule(module, imports) {
    const compiled = await module;
    if (!(compiled instanceof WebAssembly.Module)) {
      throw new TypeError(`${this.name}: the guest's code is compiled before it is instantiated, not ${typeof compiled}`);
    }
    if (this.watch) this.watch.begin("instantiate", this.tickCount);
    try {
      return await WebAssembly.instantiate(compiled, imports);
    } finally {
      if (this.watch) this.watch.end();
    }
  }

  /**
   * Check the guest's lw_io block (like Game._read_io natively) and keep where its blocks live.
   * @param {IoBlock} io
   */
  checkIo(io) {
    if (io.magic !== IO_MAGIC || io.abiVersion !== ABI_VERSION) {
      throw new InvalidModule(`${this.name} speaks ABI ${io.abiVersion} (magic 0x${(io.magic >>> 0).toString(16)}); `
        + `this host speaks ABI ${ABI_VERSION}: rebuild the game`);
    }
    if (io.inputSize !== INPUT_SIZE) {
      throw new InvalidModule(`${this.name}: input block is ${io.inputSize} bytes, expected ${INPUT_SIZE}`);
    }
    const size = this.backend.pages() * PAGE;
    const { inputPtr, cmdPtr, cmdCapacity, stateBegin } = io;
    if (inputPtr + INPUT_SIZE > size || cmdPtr + cmdCapacity > size || cmdCapacity < COMMAND_SCRATCH || stateBegin > cmdPtr) {
      throw new InvalidModule(`${this.name}: lw_io describes blocks outside memory or out of order (input ${inputPtr}, `
        + `commands ${cmdPtr}+${cmdCapacity}, state from ${stateBegin}; memory ${size} bytes)`);
    }
    const sndPtr = io.sndPtr || 0;
    const sndCapacity = sndPtr ? io.sndCapacity || 0 : 0;
    if (sndPtr && (sndCapacity > SOUND_CAPACITY || sndPtr + sndCapacity > size || sndPtr < stateBegin)) {
      throw new InvalidModule(`${this.name}: lw_io describes a sound block outside memory or above ${SOUND_CAPACITY} `
        + `bytes (${sndPtr}+${sndCapacity}; memory ${size} bytes)`);
    }
    Object.assign(this, { inputPtr, cmdPtr, cmdCapacity, stateBegin, sndPtr, sndCapacity });
  }

  /**
   * Run `fn`, one call into the guest named `name` in errors, behind the failure latch: a game that
   * failed refuses every later call until a restore, and a trap, proc_exit or memory past the cap
   * fails it.
   * @template T
   * @param {string} name
   * @param {() => T} fn
   * @returns {T}
   */
  call(name, fn) {
    this.assertOpen();
    if (this.failure) {
      throw new GameError(`${this.name} already failed at tick ${this.failure.tick} (${this.failure.message}); `
        + "reload the page to start it again", { game: this.name, tick: this.tickCount });
    }
    let result;
    if (this.watch) this.watch.enter(name, this.tickCount);
    try {
      result = fn();
      if (this.watch) this.watch.leave();
    } catch (e) {
      if (this.watch) this.watch.leave();
      if (e instanceof GameExited) {
        e.tick = this.tickCount;
        this.failure = e;
      } else if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        this.failure = crashOf(e, this.name, this.tickCount, name);
      }
      throw this.failure || e;
    }
    const bytes = this.memoryBytes();
    if (bytes > this.memoryCap) {
      this.failure = new GameOutOfMemory(`${this.name} at tick ${this.tickCount} in ${name}: grew its memory to `
        + `${bytes / MB} MiB, past its cap of ${this.memoryCap / MB} MiB ([limits] memory_mb)`,
      { game: this.name, tick: this.tickCount });
      throw this.failure;
    }
    return result;
  }

  // --- the frame path -----------------------------------------------------------------------------

  /**
   * True while the next tick waits for a streamed asset's fetch (see AssetTable.blocked).
   * @returns {boolean}
   */
  blocked() {
    return this.assets.blocked(this.tickCount)
      || (this.audio !== null && this.audio.starved(this.assets.dueStreams(this.tickCount)));
  }

  /**
   * Advance one fixed tick with `inputs` (an InputState), the host's asset events due now, then
   * `events` ([kind, player, a, b], e.g. players joining, stamped by a room).
   * @param {Inputs} inputs
   * @param {number[][]} [events]
   */
  tick(inputs, events = []) {
    const data = inputs.pack(this.tickCount, [...this.assets.due(this.tickCount), ...events]);
    this.lastInput = data;
    const { block, dropped } = this.backend.tickGuest(data);
    this.tickCount += 1;
    this.tickSound(this.sndPtr ? block : EMPTY, dropped);
    if (this.checks) this.checks.afterCall("lw_tick");
  }

  /**
   * After a tick: its sound block (bounded by the block's capacity) and the sounds that became
   * ready, mixed by the game's Audio.
   * @param {Uint8Array} block
   * @param {number} dropped
   */
  tickSound(block, dropped) {
    if (block.length > this.sndCapacity) {
      if (!this.oversizedReported) {
        this.log("warn", `[${this.name}] lw_tick reported ${block.length} bytes of sound commands, its block holds `
          + `${this.sndCapacity}: the excess is ignored`);
        this.oversizedReported = true;
      }
      block = block.subarray(0, this.sndCapacity);
    }
    const audio = this.live(this.audio);
    const started = performance.now();
    audio.register(this.assets.takeReadySounds());
    audio.mix(block, dropped);
    this.soundMs += performance.now() - started; // the timing overlay's `sound` (timing.js)
  }

  /**
   * The sound mixed since the last call: interleaved stereo s16 frames at abi SAMPLE_RATE, exactly
   * SAMPLE_RATE / tick_rate a tick (at most two seconds are kept).
   * @returns {Int16Array}
   */
  takeSamples() {
    return this.live(this.audio).takeSamples();
  }

  /** Drop the sound mixed so far, unheard (counted): a room's fast-forward, whose sounds are past.
   *  Given `heard` (a heal: what takeSamples gave before the restore) that is kept, and the next
   *  samples fade in from what was playing before the restore (Audio.skip).
   *  @param {Int16Array | null} [heard] */
  skipSamples(heard = null) {
    this.live(this.audio).skip(heard);
  }

  /**
   * SHA-256 (hex) of every sample mixed since the game started or was restored: the native host's
   * `audio-hash` for the same build, seed and inputs.
   * @returns {string}
   */
  audioHash() {
    return hex(this.live(this.audio).digest());
  }

  /**
   * This frame's command list (a core module's is a view of guest memory, valid until the next call).
   * @returns {Uint8Array}
   */
  render() {
    return this.checks ? this.checks.render(() => this.renderFrame()) : this.renderFrame();
  }

  /**
   * Check the contract as the game runs from now on (?dev=1; devchecks.js).
   * @param {(p: import("./devchecks.js").Problem) => void} report
   */
  enableChecks(report) {
    this.checks = new DevChecks(this, report);
    return this.checks;
  }

  /** @returns {Uint8Array} */
  renderFrame() {
    const size = this.backend.renderGuest();
    if (!(size >= 0 && size <= this.cmdCapacity - COMMAND_SCRATCH)) {
      this.failure = new GameCrashed(`${this.name}: render returned ${size} bytes, buffer holds ${this.cmdCapacity}`,
        { game: this.name, tick: this.tickCount, trapCode: "bad_render_length" });
      throw this.failure;
    }
    const { commands, dropped } = this.backend.frame(size);
    if (dropped && !this.droppedReported) {
      this.log("warn", `[${this.name}] command buffer full: ${dropped} records dropped this frame`);
      this.droppedReported = true;
    }
    return commands;
  }

  /**
   * Images that became ready since the last call, as [handle, ImageBitmap].
   * @returns {Array<[number, ImageBitmap]>}
   */
  takeNewTextures() {
    return /** @type {Array<[number, ImageBitmap]>} */ (this.assets.takeNewTextures());
  }

  /** Whether the page may show its on-screen gamepad (devices.js): a Layer-W game always lets it. */
  gamepadOverlay() { return true; }

  /**
   * This game is a room's copy shown to the player in `seat` (null: a spectator's): what it shows may
   * depend on it, its state never (gamehost.py play_as). A Layer-W game reads every player's input and
   * has no local player, so nothing changes; a WASM-4 cart's NETPLAY does (cart-game.js).
   * @param {number | null} seat
   */
  playAs(seat) { void seat; }

  // --- state: hash, snapshots (the same state as layerw/runtime/game.py's) ------------------------

  /**
   * The game state: memory from state_begin to the end of memory, minus the command buffer.
   * @param {number} pages the memory's size in pages
   * @param {Uint8Array<ArrayBuffer> | null} [into] a buffer to fill, used when it has the state's size (a
   *   rollback's spare: a fresh megabyte costs its page faults on every copy)
   * @returns {Uint8Array<ArrayBuffer>}
   */
  stateBytes(pages, into = null) {
    const cmdEnd = this.cmdPtr + this.cmdCapacity;
    const head = this.cmdPtr - this.stateBegin;
    const size = head + pages * PAGE - cmdEnd;
    const state = into && into.length === size ? into : new Uint8Array(size);
    this.backend.read(this.stateBegin, this.cmdPtr, state, 0);
    this.backend.read(cmdEnd, pages * PAGE, state, head);
    return state;
  }

  /**
   * SHA-256 (hex) of the game state (stateBytes). The state is copied before the first await, so a
   * tick that runs meanwhile does not change the result.
   * @returns {Promise<string>}
   */
  async stateHash() {
    if (!(globalThis.crypto && crypto.subtle)) {
      throw new GameError(`${this.name}: stateHash needs WebCrypto, which browsers offer only in secure contexts `
        + "(https or localhost)", { game: this.name, tick: this.tickCount });
    }
    this.assertOpen();
    const state = this.stateBytes(this.backend.pages());
    return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", state)));
  }

  /**
   * The game state now, with the host's (the random stream and the asset table).
   * @param {Uint8Array<ArrayBuffer> | null} [into] memory to reuse for it (see stateBytes)
   * @returns {Snapshot}
   */
  snapshot(into = null) {
    this.assertOpen();
    const pages = this.backend.pages();
    return new Snapshot({
      moduleSha256: this.moduleSha256, tick: this.tickCount, pages, stateBegin: this.stateBegin,
      memory: this.stateBytes(pages, into),
      host: { rng: this.rng.state, assets: this.assets.state(), audio: this.live(this.audio).state() },
      holeAt: this.cmdPtr, holeSize: this.cmdCapacity,
    });
  }

  /**
   * All of linear memory as a writable view (valid until it grows), for restores in place; null
   * where the backend cannot lend one (each restore then starts a fresh instance). A backend that
   * can overrides it (Game).
   * @returns {Uint8Array | null}
   */
  liveMemory() {
    return null;
  }

  /**
   * Continue from `snap`: in place when it can (restoreInPlace), else in a fresh instance (also
   * after a crash): memory from state_begin (minus the command buffer), the random stream's state
   * and the asset table (whose bytes load first).
   * `allowOtherBuild` is hot reload's path (`layerw dev --serve`, dev-reload.js), as natively: a
   * snapshot of another build passes when the state layout fits (where state begins, the command buffer).
   * @param {SnapshotFields} snap a Snapshot (snapshot.js)
   * @param {{allowOtherBuild?: boolean}} [options]
   */
  async restore(snap, { allowOtherBuild = false } = {}) {
    if (allowOtherBuild) {
      if (snap.stateBegin !== this.stateBegin || snap.holeAt !== this.cmdPtr || snap.holeSize !== this.cmdCapacity) {
        throw new ProtocolError(`the snapshot's state layout (state from ${snap.stateBegin}, commands at ${snap.holeAt}+${snap.holeSize}) `
          + `is not ${this.name}'s (state from ${this.stateBegin}, commands at ${this.cmdPtr}+${this.cmdCapacity})`);
      }
    } else if ((this.moduleSha256 && snap.moduleSha256 !== this.moduleSha256) || snap.stateBegin !== this.stateBegin
        || snap.holeAt !== this.cmdPtr || snap.holeSize !== this.cmdCapacity) {
      throw new ProtocolError(`the snapshot is of another module than ${this.name}'s (${String(snap.moduleSha256).slice(0, 12)}): reload the page`);
    }
    if (snap.pages * PAGE > this.memoryCap) {
      throw new ProtocolError(`the snapshot holds ${snap.pages * PAGE} bytes, above ${this.name}'s memory cap`);
    }
    this.assertOpen();
    if (snap.memory.length !== snap.pages * PAGE - snap.stateBegin - snap.holeSize) {
      throw new ProtocolError(`the snapshot's memory holds ${snap.memory.length} bytes, its pages and layout say otherwise`);
    }
    if (this.failure === null && this.freshStack && snap.pages >= this.backend.pages() && this.liveMemory()) {
      await this.restoreInPlace(snap);
    } else {
      await this.assets.restore(snap.host.assets);
      this.live(this.audio).restore(snap.host.audio, this.assets.takeReadySounds());
      this.failure = null;
      await this.instantiate(new SplitMix64(snap.host.rng));
      const grow = snap.pages - this.backend.pages();
      if (grow < 0) throw new ProtocolError(`the snapshot has ${snap.pages} pages, fewer than the module's initial memory`);
      if (grow && this.backend.grow(grow) < 0) throw new ProtocolError(`${this.name} cannot grow to the snapshot's ${snap.pages} pages`);
      const split = this.cmdPtr - this.stateBegin;
      this.backend.write(this.stateBegin, snap.memory.subarray(0, split));
      this.backend.write(this.cmdPtr + this.cmdCapacity, snap.memory.subarray(split));
    }
    this.tickCount = snap.tick;
  }

  /**
   * Rewrite the live instance as a fresh one restored from `snap` would be (layerw/runtime/memoryhost.py
   * `_restore_in_place`): only for a memory no larger than the snapshot's and an instance that has not
   * failed. Between calls the only mutable global, the stack pointer, is back at its initial value, so
   * memory and host state are the whole difference. Host state first: the random stream, the asset
   * table (reloaded only when it differs) and the mixer's voices. Memory, block by block where it
   * differs: below state_begin a fresh instance's (the dead stack), the state from `snap`, and the
   * command buffer's scratch tail zeroed (so the next frame declares its GPU resources again,
   * lw_gpu_fresh); the rest of the command buffer is each frame's output, rewritten before it is read.
   * A failure part way latches the game (restore another snapshot: it starts a fresh instance).
   * @param {SnapshotFields} snap
   */
  async restoreInPlace(snap) {
    const audio = this.live(this.audio);
    try {
      this.rng.state = BigInt.asUintN(64, BigInt(snap.host.rng));
      if (JSON.stringify(this.assets.state()) !== JSON.stringify(snap.host.assets)
          || snap.host.audio === undefined || snap.host.audio === null) {
        await this.assets.restore(snap.host.assets);
        audio.restore(snap.host.audio, this.assets.takeReadySounds());
      } else {
        audio.rewind(snap.host.audio); // the mixer keeps the sounds it was given: the same assets are ready
      }
      const grow = snap.pages - this.backend.pages();
      if (grow && this.backend.grow(grow) < 0) throw new ProtocolError(`${this.name} cannot grow to the snapshot's ${snap.pages} pages`);
      const live = /** @type {Uint8Array} */ (this.liveMemory());
      const stack = /** @type {Uint8Array} */ (this.freshStack);
      const cmdEnd = this.cmdPtr + this.cmdCapacity;
      const split = this.cmdPtr - this.stateBegin;
      patch(live.subarray(0, this.stateBegin), stack);
      patch(live.subarray(this.stateBegin, this.cmdPtr), snap.memory.subarray(0, split));
      patch(live.subarray(cmdEnd), snap.memory.subarray(split));
      live.fill(0, cmdEnd - COMMAND_SCRATCH, cmdEnd);
    } catch (e) {
      this.failure = new GameError(`${this.name}: restoring the snapshot of tick ${snap.tick} failed (${e.message || e}); `
        + "restore another snapshot", { game: this.name, tick: this.tickCount });
      throw e;
    }
  }

  /**
   * The renderer holds none of the game's GPU resources any more (a lost WebGPU device,
   * device-recovery.js): zero the command buffer's scratch tail, as a restore does natively, so the
   * game's next frame is fresh (lw_gpu_fresh) and declares them again.
   */
  forgetGpu() {
    this.assertOpen();
    const end = this.cmdPtr + this.cmdCapacity;
    this.backend.write(end - COMMAND_SCRATCH, new Uint8Array(COMMAND_SCRATCH));
  }

  /** Drop the instance (its memory goes with it); every later call refuses. Closing twice is fine. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.backend.release();
    this.memory = null;
  }
}

/**
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
