"""Layer-W benchmarks (`make bench`, or `python -m bench`).

    cpu.py       guest CPU speed vs native: one C source, zig to x86-64 and to wasm, per CPU limit
    host.py      host cost per frame at 10k sprites: guest calls, tick, render, command-list parse
    render.py    WgpuRenderer vs a minimal wgpu instanced-quad baseline (baseline.py)
    start.py     start-up from a warm compiled-module cache vs a cold one (Cranelift)

Every section interleaves what it compares, takes medians and reports ratios measured in the same
run, so a busy machine slows both sides alike. Numbers go to the terminal (rich) and to
``out/bench.json``; nothing asserts on times.
"""
