/* Game-side glue for layerw:physics/step@1.0.0: linked into component builds of games that
   import it. The returned list lands in the command buffer (cabi_realloc; not state during a
   tick) and is copied back over the caller's bodies, never past them. */
#include "layerw.h"
#include "layerw_physics.h"

uint32_t *lw__ret_area(void);

__attribute__((import_module("layerw:physics/step@1.0.0"), import_name("step")))
void lw__physics_step(const lw_body *bodies, uint32_t n, float width, float height, float dt, uint32_t *ret);

uint32_t lw_physics_step(lw_body *bodies, uint32_t n, float width, float height, float dt) {
    uint32_t *ret = lw__ret_area();  /* list<body>: ptr, len */
    lw__physics_step(bodies, n, width, height, dt, ret);
    uint32_t got = ret[1] < n ? ret[1] : n;
    __builtin_memmove(bodies, (const void *)(uintptr_t)ret[0], got * sizeof(lw_body));
    return got;
}
