// Disk: a WASM-4 cart's 1024 bytes of disk (mirrors layerw/runtime/wasm4/disk.py): diskw replaces
// its contents, kept in the save slot "disk" when the game has saves (playing alone; a room's game
// has none), loaded from it at start; a snapshot sets it without saving (the slot is the present).

export const DISK_SIZE = 1024;
const DISK_SLOT = new TextEncoder().encode("disk");
const DISK_VERSION = 0;

export class Disk {
  /** @param {import("./saves.js").SaveStore | null} saves */
  constructor(saves) {
    this.saves = saves;
    const slot = saves ? saves.slot(DISK_SLOT) : null;
    /** @type {Uint8Array} */
    this.data = slot && typeof slot !== "number" ? slot.data.slice(0, DISK_SIZE) : new Uint8Array(0);
  }

  /** Replace the contents with `bytes` (at most DISK_SIZE kept) and save them; the count kept. @param {Uint8Array} bytes */
  write(bytes) {
    this.data = bytes.slice(0, DISK_SIZE);
    if (this.saves) this.saves.write(DISK_SLOT, this.data, DISK_VERSION);
    return this.data.length;
  }

  /** Set the contents from a snapshot (not saved). @param {Uint8Array} bytes */
  restore(bytes) {
    this.data = bytes.slice(0, DISK_SIZE);
  }
}
