"""Hostile input: modules, command lists, recordings, snapshots, messages, manifests, chunks, URLs.

Every case must end in a typed ``LayerWError`` (or a clean refusal at build time, or a harmless
success), with the host process up and a healthy game beside it still ticking on time (the
``pacer`` fixture). The modules are built here: WAT text (``modules.py``), C through the project's
toolchain (``c/``) and ``wasm-tools smith`` with fixed seeds. Parsers get hypothesis property tests
with bounded examples; ``python -m bench.fuzz`` runs the same properties and more seeds for longer.
"""
