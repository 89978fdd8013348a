"""play: the native front-ends — a game alone (``play``) or in a room (``join``), headless or in a window.

The top of the stack beside the CLI: it wires the runtime, the renderer and (for rooms) the online
client together, so ``layerw run`` and ``layerw join`` only parse arguments and call one function.
"""
