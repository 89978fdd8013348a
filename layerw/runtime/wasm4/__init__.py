"""The WASM-4 profile: run unmodified WASM-4 carts as Layer-W games (``CartGame``).

``memorymap`` (registers and flags), ``framebuffer`` (the drawing functions), ``font`` (the 8x8
glyphs), ``tone`` (tone events for a synth), ``disk`` (1 KiB storage), ``trace`` (strings and
tracef), ``controls`` (input as GAMEPADS and MOUSE), ``cartimports`` (the ``env`` functions) and
``cartgame`` (the ``GameHost`` backend). ``layerw.cart`` tells a cart by its imports.
"""
