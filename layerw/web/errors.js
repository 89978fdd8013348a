// Every error the browser client raises, in one tree (mirrors layerw/errors.py):
//
//   LayerWError
//   ├── InvalidModule         bytes that are not a wasm module, or a module that breaks the contract
//   ├── AssetError            an asset is missing or cannot be decoded
//   ├── LoadError             the store could not deliver a manifest or chunk (network, HTTP status)
//   │   └── IntegrityError    bytes that do not hash to their chunk id (never handed to the game)
//   ├── SessionError          a room connection failed or was closed by the server
//   │   └── ProtocolError     a malformed or unexpected message, a snapshot that does not fit
//   ├── GameError             the game failed while running; carries game and tick
//   │   ├── GameCrashed       the guest trapped (trapCode attached)
//   │   ├── GameOutOfMemory   the guest grew past its memory cap
//   │   └── GameExited        the guest called proc_exit
//   ├── InputError            an input recording is malformed
//   ├── CommandListError      a frame's command list is malformed (bad op, overrun)
//   └── RenderError           the GPU backend failed or is missing
//
// Messages say what happened and what to do about it.

export class LayerWError extends Error {
  get name() { return this.constructor.name; }
}

export class InvalidModule extends LayerWError {}
export class AssetError extends LayerWError {}
export class LoadError extends LayerWError {}
export class IntegrityError extends LoadError {}
export class SessionError extends LayerWError {}
export class ProtocolError extends SessionError {}
export class InputError extends LayerWError {}
export class CommandListError extends LayerWError {}
export class RenderError extends LayerWError {}

export class GameError extends LayerWError {
  constructor(message, { game = "", tick = 0, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.game = game;
    this.tick = tick;
  }
}

export class GameCrashed extends GameError {
  constructor(message, { trapCode = "unknown", ...rest } = {}) {
    super(message, rest);
    this.trapCode = trapCode;
  }
}

export class GameOutOfMemory extends GameError {}

export class GameExited extends GameError {
  constructor(message, { code = 0, ...rest } = {}) {
    super(message, rest);
    this.code = code;
  }
}
