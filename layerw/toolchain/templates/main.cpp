// A new Layer-W game in C++: steer the ship with the arrow keys, WASD, a gamepad's left stick or by
// holding the mouse button, and catch the stars; the best score is saved.
// The contract: lw_game_tick changes state, lw_game_render only draws it (the same inputs give the
// same state on every host). Render must not allocate either: a std::string or std::vector built in
// render moves the heap, which is game state (`layerw dev` reports it as render-state).
// C++ exceptions and RTTI are off unless [build] exceptions / rtti in layerw.toml turn them on.
#include <algorithm>
#include <array>
#include <cstdio>

#include "layerw.h"

namespace {

struct Vec2 {
    float x, y;
    Vec2 operator+(Vec2 o) const { return {x + o.x, y + o.y}; }
    Vec2 operator*(float k) const { return {x * k, y * k}; }
};

constexpr float kShip = 20, kStar = 10;

class Game {
public:
    void init(uint64_t seed) {
        color_ = LW_RGB(64 + (seed & 127), 200, 255);
        lw_rng_seed(&rng_, seed, 0);
        place_star();
        ship_ = lw_asset("ship.png");  // not preloaded: it becomes ready at a tick, the same on every host
        // Saves outlive the process (a room has none: lw_load then returns an LW_SAVE_* error).
        if (lw_load("best", &best_, sizeof best_) != static_cast<int32_t>(sizeof best_)) best_ = 0;
    }

    void tick(const lw_input &in) {
        for (uint32_t i = 0; i < in.event_count; i++) {
            const lw_event &e = in.events[i];
            if (e.kind == LW_EVENT_ASSET_READY && static_cast<int32_t>(e.a) == ship_) ship_ready_ = true;
        }
        const lw_player &p = in.players[0];
        Vec2 push{axis(p, LW_KEY_ARROWRIGHT, LW_KEY_KEYD, LW_KEY_ARROWLEFT, LW_KEY_KEYA) + p.gamepads[0].axes[0],
                  axis(p, LW_KEY_ARROWDOWN, LW_KEY_KEYS, LW_KEY_ARROWUP, LW_KEY_KEYW) + p.gamepads[0].axes[1]};
        if (p.pointer.buttons & LW_BUTTON_LEFT)  // the mouse (or a touch) pulls the ship towards it
            push = push + Vec2{p.pointer.x - pos_.x - kShip / 2, p.pointer.y - pos_.y - kShip / 2} * 0.02f;
        vel_ = vel_ * 0.85f + push * 0.6f;
        pos_ = pos_ + vel_;
        const Vec2 limit{lw_screen_width() - kShip, lw_screen_height() - kShip};
        const Vec2 clamped{std::clamp(pos_.x, 0.0f, limit.x), std::clamp(pos_.y, 0.0f, limit.y)};
        const bool bumped = clamped.x != pos_.x || clamped.y != pos_.y;
        pos_ = clamped;
        if (bumped && vel_.x * vel_.x + vel_.y * vel_.y > 1.0f) {
            blip(660, 330);
            vel_ = {0, 0};
        }
        if (pos_.x < star_.x + kStar && star_.x < pos_.x + kShip && pos_.y < star_.y + kStar && star_.y < pos_.y + kShip) {
            score_++;
            blip(880, 1320);
            place_star();
            if (score_ > best_) {  // a new best: save it (LW_SAVE_OK, or an error the game may ignore)
                best_ = score_;
                lw_save("best", &best_, sizeof best_, 1);
            }
        }
    }

    void render(lw_frame *f) const {
        lw_clear(f, LW_RGB(16, 18, 32));
        lw_circle(f, star_.x + kStar / 2, star_.y + kStar / 2, kStar / 2, 0, LW_RGB(255, 220, 80));
        if (ship_ready_)  // source rect: the whole 16x16 image; white texels take the tint
            lw_sprite(f, static_cast<uint32_t>(ship_), pos_.x, pos_.y, kShip, kShip, 0, 0, 16, 16, vel_.x * 0.05f, color_, 0);
        else
            lw_rect(f, pos_.x, pos_.y, kShip, kShip, 0, 0, color_);
        lw_text(f, 8, 8, 12, LW_RGB(255, 255, 255), "Hello, Layer-W! Arrows move.");
        std::array<char, 32> line{};  // on the stack: render allocates nothing
        std::snprintf(line.data(), line.size(), "score %04d  best %04d", static_cast<int>(score_), static_cast<int>(best_));
        const float w = lw_text_width(line.data(), 12);  // measured, so it sits against the right edge
        lw_text(f, lw_screen_width() - w - 8, lw_screen_height() - 20.0f, 12, LW_RGB(200, 200, 220), line.data());
    }

private:
    static float axis(const lw_player &p, int plus, int plus2, int minus, int minus2) {
        return static_cast<float>(lw_key_down(&p, plus) || lw_key_down(&p, plus2))
             - static_cast<float>(lw_key_down(&p, minus) || lw_key_down(&p, minus2));
    }

    // Sound is a tick's business: a short square-wave blip from `from` to `to` Hz, panned to the ship.
    void blip(float from, float to) const {
        lw_tone_rec tone = {LW_WAVE_PULSE, LW_Q16_ONE / 2, lw_hz(from), lw_hz(to), lw_frames(0.005f),
                            lw_frames(0.05f), 0, lw_frames(0.08f), lw_q16(0.4f, 0, 4), lw_q16(0.2f, 0, 4),
                            lw_q16(pos_.x / 150.0f - 1.0f, -1, 1)};
        lw_sound_tone(LW_VOICE_ANY, &tone);
    }

    void place_star() {
        star_ = {static_cast<float>(lw_rng_range(&rng_, 10, lw_screen_width() - 30)),
                 static_cast<float>(lw_rng_range(&rng_, 24, lw_screen_height() - 30))};
    }

    Vec2 pos_{150, 80}, vel_{0, 0}, star_{0, 0};
    uint32_t color_ = 0;
    lw_rng rng_{};  // randomness only from the seed (a room picks one per room)
    int32_t score_ = 0, best_ = 0, ship_ = -1;
    bool ship_ready_ = false;
};

Game game;  // a global: its state lives in linear memory, which the host snapshots

}  // namespace

extern "C" void lw_game_init(uint64_t seed) { game.init(seed); }
extern "C" void lw_game_tick(const lw_input *in) { game.tick(*in); }
extern "C" void lw_game_render(lw_frame *f) { game.render(f); }
