/* Layer-W physics plugin interface (wit/deps/physics/physics.wit, layerw:physics/step@1.0.0).
   Games built with `layerw build --component` and a [plugins.*] table naming this interface call
   lw_physics_step; C plugins implement lw_plugin_step. lw_body is the WIT record `body`. */
#ifndef LAYERW_PHYSICS_H
#define LAYERW_PHYSICS_H
#include <stdint.h>

typedef struct lw_body { float x, y, vx, vy, radius, mass; uint32_t tag; } lw_body;
_Static_assert(sizeof(lw_body) == 28, "lw_body is the canonical layout of the WIT record body");

/* Game side: advance n bodies in place (during lw_game_tick); returns how many came back. */
uint32_t lw_physics_step(lw_body *bodies, uint32_t n, float width, float height, float dt);

/* Plugin side: advance n bodies in place. */
void lw_plugin_step(lw_body *bodies, uint32_t n, float width, float height, float dt);

#endif
