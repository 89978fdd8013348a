"""GpuTable: the GPU resources a game has declared, as the checker sees them (descriptions, no wgpu).

Handles are the game's own small integers, one namespace per kind (``abi.GPU_KINDS``). The table
bounds what one game may hold: ``abi.GPU_MAX_RESOURCES`` resources and ``abi.GPU_MAX_MEMORY_BYTES``
of buffers and textures. A frame is checked against a copy (``GpuTable.copy``), which replaces the
table only when the whole frame passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from layerw import abi
from layerw.errors import GpuStreamError

KIND_NAMES = {v: k.lower().replace("_", " ") for k, v in abi.GPU_KINDS.items()}
BUFFER, TEXTURE, SAMPLER, SHADER, LAYOUT, BIND_GROUP, PIPELINE = (
    abi.GPU_KINDS[k] for k in ("BUFFER", "TEXTURE", "SAMPLER", "SHADER", "LAYOUT", "BIND_GROUP", "PIPELINE"))
FRAME_FORMAT = "rgba8unorm"  # the frame's colour target (LW_GPU_FRAME)


@dataclass(frozen=True, slots=True)
class Buffer:
    size: int
    usage: int

    @property
    def memory(self) -> int:
        return self.size


@dataclass(frozen=True, slots=True)
class Texture:
    width: int
    height: int
    format: str
    usage: int
    mip_levels: int = 1

    @property
    def depth(self) -> bool:
        return abi.GPU_TEXTURE_FORMATS[self.format] == 0

    def level_size(self, level: int) -> tuple[int, int]:
        """Width and height of mip level ``level``."""
        return max(1, self.width >> level), max(1, self.height >> level)

    @property
    def memory(self) -> int:
        texels = sum(w * h for w, h in map(self.level_size, range(self.mip_levels)))
        return texels * max(4, abi.GPU_TEXTURE_FORMATS[self.format])


@dataclass(frozen=True, slots=True)
class Sampler:
    comparison: bool
    memory: int = 0


@dataclass(frozen=True, slots=True)
class Shader:
    memory: int = 0


@dataclass(frozen=True, slots=True)
class Layout:
    types: dict[int, str]  # binding -> abi.GPU_BINDING_TYPES name
    memory: int = 0


@dataclass(frozen=True, slots=True)
class VertexSlot:
    stride: int
    step: str  # "vertex" | "instance"
    extent: int  # bytes the last element reads: max(attribute offset + size)


@dataclass(frozen=True, slots=True)
class Pipeline:
    layouts: tuple[int, ...]  # bind group layout handles; empty: auto
    colors: tuple[str, ...]
    depth: str | None
    slots: tuple[VertexSlot, ...]
    memory: int = 0
    compute: bool = False  # a compute pipeline (no colours, depth or slots)

    @property
    def auto(self) -> bool:
        return not self.layouts


@dataclass(frozen=True, slots=True)
class BindGroup:
    layout: int  # 0: auto
    pipeline: int  # auto: the pipeline whose layout it uses
    group: int
    uses: frozenset[tuple[int, int]]  # (kind, handle) of every resource it binds
    memory: int = 0


Resource = Buffer | Texture | Sampler | Shader | Layout | Pipeline | BindGroup


@dataclass
class GpuTable:
    """(kind, handle) -> resource, with the memory they hold."""

    resources: dict[tuple[int, int], Resource] = field(default_factory=dict)
    memory: int = 0

    def copy(self) -> GpuTable:
        return GpuTable(dict(self.resources), self.memory)

    def get(self, kind: int, handle: int, what: str) -> Resource:
        found = self.resources.get((kind, handle))
        if found is None:
            raise GpuStreamError(f"{what}: no {KIND_NAMES[kind]} {handle} (create it first, or after a "
                                 "restore declare it again when lw_gpu_fresh is true)")
        return found

    def add(self, kind: int, handle: int, resource: Resource, what: str) -> None:
        if not 0 < handle < abi.GPU_MAX_HANDLE:
            raise GpuStreamError(f"{what}: handle {handle} is outside 1 .. {abi.GPU_MAX_HANDLE - 1}")
        if (kind, handle) in self.resources:
            raise GpuStreamError(f"{what}: {KIND_NAMES[kind]} {handle} exists already; destroy it first")
        if len(self.resources) >= abi.GPU_MAX_RESOURCES:
            raise GpuStreamError(f"{what}: over the limit of {abi.GPU_MAX_RESOURCES} GPU resources")
        if self.memory + resource.memory > abi.GPU_MAX_MEMORY_BYTES:
            raise GpuStreamError(f"{what}: {resource.memory} more bytes would put the game's GPU memory over "
                                 f"{abi.GPU_MAX_MEMORY_BYTES}")
        self.resources[(kind, handle)] = resource
        self.memory += resource.memory

    def remove(self, kind: int, handle: int, what: str) -> None:
        resource = self.get(kind, handle, what)
        users = [h for (k, h), r in self.resources.items()
                 if k == BIND_GROUP and isinstance(r, BindGroup) and (kind, handle) in r.uses]
        if users:
            raise GpuStreamError(f"{what}: bind group {users[0]} still uses {KIND_NAMES[kind]} {handle}; "
                                 "destroy it first")
        del self.resources[(kind, handle)]
        self.memory -= resource.memory

    def clear(self) -> None:
        self.resources.clear()
        self.memory = 0
