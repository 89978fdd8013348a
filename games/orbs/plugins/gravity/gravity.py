"""Physics plugin (Python, built with componentize-py): gravity and a floor that loses energy."""

from wit_world import exports
from wit_world.exports.step import Body

GRAVITY = 300.0
RESTITUTION = 0.8


class Step(exports.Step):
    def step(self, bodies: list[Body], width: float, height: float, dt: float) -> list[Body]:
        out = []
        for b in bodies:
            vx, vy = b.vx, b.vy + GRAVITY * dt
            x, y = b.x + vx * dt, b.y + vy * dt
            if x < b.radius or x > width - b.radius:
                x, vx = min(max(x, b.radius), width - b.radius), -vx
            if y > height - b.radius:
                y, vy = height - b.radius, -vy * RESTITUTION
            out.append(Body(x, y, vx, vy, b.radius, b.mass, b.tag))
        return out
