// GameBackend: what a GameHost backend implements, and the shapes a game host exchanges with its
// sources and backends (JSDoc types only: this module holds no code, and browsers never load it).
//
// A backend is a subclass of GameHost (game-host.js) that declares `@implements {GameBackend}`: a
// static `load(source)` that fetches and compiles its code (GameHost.create calls it while the
// preloaded assets load), and the instance hooks below. Every hook that enters guest code goes
// through GameHost.call (the failure latch); GameHost does everything else. The backends: Game
// (game.js, a core module) and ComponentGame (component-game.js, a component transpiled by jco).

/** @typedef {import("./host.js").Host} Host */

/**
 * The instance hooks of a GameHost backend.
 * @typedef {object} GameBackend
 * @property {(host: Host) => Promise<void>} instantiateGuest a fresh instance of the game's code with
 *   `host`'s imports (start, and restore), each module through GameHost.instantiateModule (the call
 *   deadline's span); sets GameHost.memory where the host can see it
 * @property {(seed: bigint) => IoBlock} initGuest initialise the guest with `seed`; its lw_io block
 *   (GameHost.checkIo checks it)
 * @property {(input: Uint8Array) => TickSound} tickGuest advance the guest one tick with one lw_input's
 *   bytes; the sound block the tick wrote
 * @property {() => number} renderGuest render into the command buffer; the command list's length in
 *   bytes (GameHost checks it against the buffer)
 * @property {(size: number) => Frame} frame the command list renderGuest wrote, `size` bytes
 * @property {() => number} pages the guest's linear memory size in 64 KiB pages
 * @property {(delta: number) => number} grow grow the guest's memory by `delta` pages; the old size
 *   in pages, or -1
 * @property {(begin: number, end: number, into: Uint8Array, at: number) => void} read copy guest
 *   memory [begin, end) into `into` at `at`
 * @property {(at: number, data: Uint8Array) => void} write copy `data` into guest memory at `at`
 * @property {() => void} release drop the instance (GameHost.close)
 */

/**
 * A game's config as a source hands it over (source.js; the fields of layerw.toml).
 * @typedef {object} GameConfig
 * @property {string} name
 * @property {number} tick_rate
 * @property {number} [width] the screen in game pixels
 * @property {number} [height]
 * @property {number} [tick_ms] the CPU deadline of one call into the game, in ms (default 100)
 * @property {string} [filter] "nearest" (default) or "linear"
 * @property {number} [memory_mb] the memory cap in MiB (default 64)
 * @property {string[]} [assets] every asset name the game may request
 * @property {string[]} [preload] the assets ready before the first tick
 * @property {string[]} [stream] the sounds played while they arrive (sound-stream.js)
 * @property {boolean} [component] a component build (ComponentGame) rather than a core module (Game)
 * @property {unknown[]} [plugins] a component's plugin slots (browsers do not link them yet)
 * @property {{module: {sha256: string}}} [manifest] the store's manifest, where the game came from a store
 */

/**
 * Where a game's code and assets come from (source.js): a core module, or a transpiled component.
 * @typedef {object} GameSource
 * @property {GameConfig} config
 * @property {ModuleLike | Promise<ModuleLike> | null} [module] the core module
 * @property {ComponentSource | null} [component] the jco-transpiled component
 * @property {(name: string) => Promise<ArrayBuffer>} readAsset
 * @property {(name: string, sink: import("./sound-stream.js").SoundStream) => Promise<void>} [readStream] a streamed
 *   sound's bytes as they arrive (a source without it hands them over at once)
 * @property {() => Promise<{twin: Uint8Array, map: import("./replay.js").ReplayMap} | null>} [readReplayTwin] the build's
 *   replay twin (replay.js: a game worker's timed-out call is replayed on it), where the source serves one
 * @property {boolean} [replayTwinListed] the source has a twin for certain (a published version's): it is read on a timeout only
 */

/** @typedef {Response | ArrayBuffer | Uint8Array | WebAssembly.Module} ModuleLike */

/**
 * A component build's browser form: jco's ES module of glue and its core modules by file name.
 * @typedef {object} ComponentSource
 * @property {Promise<any>} glue
 * @property {() => Promise<Uint8Array>} [glueBytes] the glue's source text (a game worker imports it itself)
 * @property {(name: string) => Promise<ModuleLike>} coreModule
 */

/** @typedef {(level: string, text: string) => void} LogFn */

/**
 * @typedef {object} GameOptions
 * @property {number | bigint} [seed] 64 bits (default 0)
 * @property {LogFn} [log] where the game's log lines go (default the console)
 * @property {(name: string, bytes: number) => void} [onAsset] called as each preloaded asset arrives
 * @property {import("./saves.js").SaveStore | null} [saves] the game's save slots (none: LW_SAVE_UNAVAILABLE)
 * @property {CallWatch | null} [watch] told of each call into the guest before it starts (a game worker's
 *   CallBeat, game-worker.js)
 */

/**
 * What a GameHost tells of its calls into the guest (GameHost.watch): `enter` before and `leave` after
 * each synchronous call (only the guest's own time counts against its deadline, as natively: not the
 * renderer's), `begin`/`end` around instantiating each of the guest's compiled modules
 * (GameHost.instantiateModule), whose wasm start function runs in a later task (not around compiling
 * or the host's making of the imports).
 * @typedef {object} CallWatch
 * @property {(call: string, tick: number) => void} enter
 * @property {() => void} leave
 * @property {(call: string, tick: number) => void} begin
 * @property {() => void} end
 */

/**
 * The lw_io block a guest returns from its init: where its blocks live in its memory (abi lw_io;
 * a component returns it as the world's `io` record, which jco names in camelCase).
 * @typedef {object} IoBlock
 * @property {number} magic
 * @property {number} abiVersion
 * @property {number} inputPtr
 * @property {number} inputSize
 * @property {number} cmdPtr
 * @property {number} cmdCapacity
 * @property {number} stateBegin
 * @property {number} [sndPtr] the sound block (0 or absent: the game makes no sound)
 * @property {number} [sndCapacity]
 */

/**
 * What one tick left in the sound block: its commands and how many did not fit.
 * @typedef {object} TickSound
 * @property {Uint8Array} block
 * @property {number} dropped
 */

/**
 * One frame's command list and how many records did not fit in the command buffer.
 * @typedef {object} Frame
 * @property {Uint8Array} commands
 * @property {number} dropped
 */

/**
 * What restore reads of a Snapshot (snapshot.js): the state at a tick boundary.
 * @typedef {object} SnapshotFields
 * @property {string | null} moduleSha256
 * @property {number} tick
 * @property {number} pages
 * @property {number} stateBegin
 * @property {number} holeAt
 * @property {number} holeSize
 * @property {Uint8Array} memory memory [stateBegin, pages * 64 KiB) minus the hole [holeAt, holeAt + holeSize)
 * @property {{rng: bigint, assets: unknown, audio?: unknown}} host the random stream's state, the asset table's
 *   and the mixer's (absent in a snapshot without sound)
 */

/**
 * The fixed tick's input: packs the lw_input bytes of a tick with its events (input.js).
 * @typedef {{pack(tick: number, events: number[][]): Uint8Array}} Inputs
 */

export {};
