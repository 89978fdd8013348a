/* Physics plugin (C): straight-line motion with elastic walls, no gravity. */
#include "layerw_physics.h"

void lw_plugin_step(lw_body *b, uint32_t n, float width, float height, float dt) {
    for (uint32_t i = 0; i < n; i++) {
        b[i].x += b[i].vx * dt;
        b[i].y += b[i].vy * dt;
        if (b[i].x < b[i].radius) { b[i].x = b[i].radius; b[i].vx = -b[i].vx; }
        if (b[i].x > width - b[i].radius) { b[i].x = width - b[i].radius; b[i].vx = -b[i].vx; }
        if (b[i].y < b[i].radius) { b[i].y = b[i].radius; b[i].vy = -b[i].vy; }
        if (b[i].y > height - b[i].radius) { b[i].y = height - b[i].radius; b[i].vy = -b[i].vy; }
    }
}
