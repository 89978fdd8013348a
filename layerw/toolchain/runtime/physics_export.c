/* Plugin-side glue for layerw:physics/step@1.0.0: linked into C plugins that export it. The
   host's list is allocated with the plugin's malloc, stepped in place, returned, and freed after
   the host has copied it (cabi_post_*). */
#include <stdlib.h>
#include "layerw_physics.h"

static uint32_t ret[2];

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    (void)old_size; (void)align;  /* malloc aligns to 16 */
    void *p = realloc(old, new_size);
    if (!p && new_size) __builtin_trap();
    return p;
}

__attribute__((export_name("layerw:physics/step@1.0.0#step")))
uint32_t *lw__export_step(lw_body *bodies, uint32_t n, float width, float height, float dt) {
    lw_plugin_step(bodies, n, width, height, dt);
    ret[0] = (uint32_t)(uintptr_t)bodies;
    ret[1] = n;
    return ret;
}

__attribute__((export_name("cabi_post_layerw:physics/step@1.0.0#step")))
void lw__post_step(uint32_t *result) {
    free((void *)(uintptr_t)result[0]);
}
