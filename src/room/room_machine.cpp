#include "room/room_machine.hpp"

#include "protocol/text.hpp"
#include "room/pass_through.hpp"
#include "room/sync_spread.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <utility>
#include <variant>

namespace tandem::room {

namespace pr = protocol;
namespace json = boost::json;

namespace {

constexpr std::string_view kPinFailedMessage = "Invalid or missing PIN";
constexpr std::string_view kControlForbidden = "Only the host can control playback";
constexpr std::string_view kReplacedReason = "replaced by a newer connection";
using protocol::kServerUserId;

json::value optional_string(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

std::string_view control_name(pr::Control control) noexcept {
  return control == pr::Control::play ? "play" : "pause";
}

// max(1, ceil(fraction * expected)). The small epsilon keeps a product that lands a hair
// above an integer (0.28 * 25 = 7.000000000000001) from demanding one READY too many.
std::size_t quorum_for(double fraction, std::size_t expected) {
  const double needed = std::ceil(fraction * static_cast<double>(expected) - 1e-9);
  return needed < 1.0 ? std::size_t{1} : static_cast<std::size_t>(needed);
}

// One call into the machine: the state it mutates, the clock, and the effects it
// accumulates. finish() bumps the version once per call however many changes were made,
// so the cluster's compare-and-set sees one step per call.
class Step {
 public:
  Step(const RoomConfig& config, const PinHasher& hasher, RoomState& state, Millis now)
      : config_(config), hasher_(hasher), state_(state), now_(now) {}

  Effects finish() {
    if (fx_.changed) {
      ++state_.version;
      state_.updated_at = now_;
    }
    return std::move(fx_);
  }

  void apply(const Actor& actor, const pr::Command& command) {
    if (const auto* join = std::get_if<pr::Join>(&command)) {
      on_join(actor, *join);
      return;
    }
    // Only the member's current, live connection speaks for it. A connection that a
    // newer JOIN replaced (its close is on the way) must not, e.g., LEAVE on behalf of
    // the new one; the caller should not even pass a non-member, but we stay safe.
    Member* member = state_.find_member(actor.user_id);
    if (member == nullptr || member->peer_id != actor.peer_id || !member->connected) return;
    std::visit([&](const auto& cmd) { on(actor, *member, cmd); }, command);
  }

  void disconnect(std::string_view user_id, std::string_view peer_id) {
    Member* member = state_.find_member(user_id);
    // A close of a connection that is no longer the member's (it re-joined on another
    // one) or a second close report changes nothing.
    if (member == nullptr || member->peer_id != peer_id || !member->connected) return;
    if (config_.reconnect_grace <= 0) {
      fx_.left = remove(user_id, LeaveReason::grace_expired);
      return;
    }
    member->connected = false;
    member->disconnected_at = now_;
    // The disconnect time is the epoch of this absence: a resume followed by another
    // disconnect gets a new token, so the first absence's timer cannot remove the member.
    fx_.timers.push_back(TimerRequest{TimerKind::grace, static_cast<std::uint64_t>(now_),
                                      std::string(user_id), now_ + config_.reconnect_grace});
    fx_.changed = true;
  }

  bool remove(std::string_view user_id, LeaveReason reason) {
    const auto it = std::find_if(state_.members.begin(), state_.members.end(),
                                 [&](const Member& m) { return m.user_id == user_id; });
    if (it == state_.members.end()) return false;
    const Member gone = std::move(*it);
    state_.members.erase(it);
    fx_.changed = true;

    if (gone.user_id == state_.host_user_id && !state_.members.empty()) {
      const Member& next = successor();
      state_.host_user_id = next.user_id;
      send(Audience::all, pr::HostChangedEvent{next.user_id});
      record("HOST_CHANGED", gone.user_id,
             {{"from", gone.user_id}, {"to", next.user_id}, {"reason", to_string(reason)}});
    }
    // Nobody is left to tell when the last member goes.
    if (!state_.members.empty()) {
      send(Audience::all, pr::UserLeftEvent{gone.user_id, gone.peer_id});
    }
    record("LEAVE", gone.user_id, {{"reason", to_string(reason)}});
    // The emptied room is handed back for archiving as it is (host, url, an open gate):
    // the caller decides what to persist; a later JOIN into it starts a fresh room.
    if (state_.members.empty()) fx_.archived = true;
    return true;
  }

  void on_timer(TimerKind kind, std::uint64_t token, std::string_view user_id) {
    if (kind == TimerKind::gate) {
      // Trust the token rather than the deadline: a timer may fire a millisecond early
      // relative to the wall clock, and the id already says which gate it was armed for.
      if (state_.gate && state_.gate->id == token) fire_gate(GateOutcome::timeout);
      return;
    }
    const Member* member = state_.find_member(user_id);
    if (member != nullptr && !member->connected &&
        static_cast<std::uint64_t>(member->disconnected_at) == token) {
      remove(user_id, LeaveReason::grace_expired);
    }
  }

  void sweep() {
    if (state_.gate && state_.gate->deadline <= now_) fire_gate(GateOutcome::timeout);
    std::vector<std::string> expired;
    for (const Member& m : state_.members) {
      if (!m.connected && m.disconnected_at + config_.reconnect_grace <= now_) {
        expired.push_back(m.user_id);
      }
    }
    for (const std::string& user_id : expired) remove(user_id, LeaveReason::grace_expired);
  }

  Effects& effects() noexcept { return fx_; }

 private:
  // ---- helpers -------------------------------------------------------------------

  void send(Audience audience, pr::Event event, std::string user_id = {}) {
    fx_.deliveries.push_back(Delivery{audience, std::move(user_id), std::move(event)});
  }

  void reply(pr::Event event) { send(Audience::sender, std::move(event)); }

  void error(pr::ErrorCode code, std::string_view message) {
    reply(pr::ErrorEvent{code, std::string(message)});
  }

  void record(std::string_view type, std::string_view user_id, json::object data = {}) {
    fx_.records.push_back(Record{std::string(type), std::string(user_id), std::move(data)});
  }

  // Event timestamps are ms since the epoch carried as JSON numbers.
  double now_stamp() const noexcept { return static_cast<double>(now_); }

  bool is_host(const Member& member) const noexcept {
    return member.user_id == state_.host_user_id;
  }

  // Guest control (defence in depth): playback commands from a guest are refused while
  // the host has not handed control to the room.
  bool may_control(const Member& member) {
    if (is_host(member) || state_.guest_control_enabled) return true;
    error(pr::ErrorCode::forbidden, kControlForbidden);
    return false;
  }

  // The host successor: the earliest joiner still connected; only if nobody is connected
  // (everyone inside a grace period) the earliest joiner at all, so the room keeps a host.
  const Member& successor() const {
    const Member* best = nullptr;
    for (const Member& m : state_.members) {
      if (!m.connected) continue;
      if (best == nullptr || m.join_seq < best->join_seq) best = &m;
    }
    if (best != nullptr) return *best;
    return *std::min_element(
        state_.members.begin(), state_.members.end(),
        [](const Member& a, const Member& b) { return a.join_seq < b.join_seq; });
  }

  // Ends a gate without firing it (a newer SEEK, or an explicit PLAY_PAUSE/URL_CHANGE).
  void drop_gate(GateOutcome outcome) {
    if (!state_.gate) return;
    state_.gate.reset();
    fx_.gate_outcome = outcome;
    fx_.changed = true;
  }

  // Closes the open gate by quorum or timeout. Resetting the gate is what makes it fire
  // exactly once: a late READY or timer finds no gate (or another id) and does nothing.
  void fire_gate(GateOutcome outcome) {
    const Gate gate = std::move(*state_.gate);
    state_.gate.reset();
    fx_.gate_outcome = outcome;
    fx_.changed = true;
    if (!gate.desired_play) return;  // the SEEK left the room paused at the target
    state_.is_playing = true;
    state_.current_time = gate.target;
    state_.position_at = now_ + choose_lead(state_, config_.sync);
    // eventTimestamp is the closing time (fix): clients add now - eventTimestamp to the
    // target, and the opening time made them skip ahead by the whole wait.
    send(Audience::all, pr::PlayPauseEvent{std::string(kServerUserId), pr::Control::play,
                                           gate.target, now_stamp(), timeline_of(state_)});
  }

  static bool follows_timeline(const Member& member) noexcept {
    return (member.capabilities & pr::kScheduledPlayback) != 0;
  }

  // ---- JOIN ----------------------------------------------------------------------

  void create_room(const Actor& actor, const pr::Join& join) {
    // A state without members is a room being created. Whatever an archived room left
    // behind is dropped; id, version and next_seq carry on so versions only grow and a
    // stale gate timer of the old room can never match a new gate.
    RoomState fresh;
    fresh.id = state_.id.empty() ? join.room_id : state_.id;
    fresh.version = state_.version;
    fresh.next_seq = state_.next_seq;
    fresh.host_user_id = std::string(actor.user_id);
    fresh.created_at = now_;
    fresh.position_at = now_;
    if (join.pin) fresh.pin_hash = hasher_.hash(*join.pin);
    state_ = std::move(fresh);
    fx_.changed = true;
    record("ROOM_CREATED", actor.user_id, {{"pinProtected", !state_.pin_hash.empty()}});
  }

  void on_join(const Actor& actor, const pr::Join& join) {
    if (state_.members.empty()) {
      create_room(actor, join);
    } else if (!state_.pin_hash.empty() &&
               (!join.pin || !hasher_.verify(*join.pin, state_.pin_hash))) {
      // Every JOIN into a PIN room needs the PIN, a resuming member's too: userIds are
      // visible in /status, so knowing one must not be enough to get in.
      error(pr::ErrorCode::pin_required, kPinFailedMessage);
      record("PIN_FAILED", actor.user_id,
             {{"pinProvided", join.pin.has_value()}, {"address", actor.address}});
      return;
    }
    // (A pin sent to a room without one is ignored: the room stays open.)

    Member* member = state_.find_member(actor.user_id);
    const bool resumed = member != nullptr;
    if (resumed) {
      // Reconnect, or a JOIN repeated on the same connection: the member keeps its place
      // in the join order and its host status, only its connection moves.
      if (member->connected && member->peer_id != actor.peer_id) {
        fx_.closes.push_back(CloseRequest{member->peer_id, 1000, std::string(kReplacedReason)});
      }
      member->peer_id = std::string(actor.peer_id);
      member->node_id = std::string(actor.node_id);
      member->connected = true;
      member->disconnected_at = 0;
      member->last_heartbeat = now_;  // a JOIN is a message: it proves liveness
      if (join.username) member->username = join.username;
      // The new connection's own word (a reloaded page may be a newer client); a round
      // trip not measured yet keeps the old one, a better guess for the lead than none.
      member->capabilities = join.capabilities & ~pr::kAnnounced;
      if (join.server_rtt_ms) member->rtt_ms = *join.server_rtt_ms;
      if (!state_.pin_hash.empty()) member->address = std::string(actor.address);
    } else {
      Member fresh;
      fresh.user_id = std::string(actor.user_id);
      fresh.username = join.username;
      fresh.join_seq = state_.next_seq++;
      fresh.peer_id = std::string(actor.peer_id);
      fresh.node_id = std::string(actor.node_id);
      fresh.connected = true;
      fresh.joined_at = now_;
      fresh.last_heartbeat = now_;
      fresh.capabilities = join.capabilities & ~pr::kAnnounced;
      fresh.rtt_ms = join.server_rtt_ms.value_or(0);
      // Only where a lockout can apply: an open room has no use for members' addresses.
      if (!state_.pin_hash.empty()) fresh.address = std::string(actor.address);
      state_.members.push_back(std::move(fresh));
      member = &state_.members.back();
    }
    fx_.changed = true;
    fx_.joined = true;

    pr::RoomStateEvent room_state;
    room_state.room_id = state_.id;
    room_state.url = state_.url;
    room_state.current_time = state_.position(now_);
    room_state.is_playing = state_.is_playing;
    room_state.host_user_id = state_.host_user_id;
    room_state.guest_control_enabled = state_.guest_control_enabled;
    room_state.users.reserve(state_.members.size());
    for (const Member& m : state_.members) room_state.users.push_back({m.user_id, m.username});
    room_state.answer_capabilities = (join.capabilities & pr::kAnnounced) != 0;
    if (follows_timeline(*member)) room_state.timeline = timeline_of(state_);
    reply(std::move(room_state));

    // Also on a resume: the others never saw USER_LEFT, and USER_JOINED is their cue to
    // keep or rebuild the peer connection.
    if (state_.members.size() > 1) {
      send(Audience::all_except,
           pr::UserJoinedEvent{member->user_id, std::string(actor.peer_id), member->username},
           member->user_id);
    }
    record("JOIN", actor.user_id,
           {{"username", optional_string(member->username)}, {"resumed", resumed}});
  }

  // ---- commands from a member ----------------------------------------------------

  void on(const Actor&, Member&, const pr::Join&) {}  // handled before dispatch

  void on(const Actor& actor, Member&, const pr::Leave&) {
    fx_.left = remove(actor.user_id, LeaveReason::left);
  }

  void on(const Actor&, Member& member, const pr::Ping&) {
    member.last_heartbeat = now_;
    fx_.changed = true;
    fx_.coalesce = true;
    reply(pr::PongEvent{});
  }

  void on(const Actor&, Member& member, const pr::UpdateUsername& cmd) {
    member.username = cmd.username;
    fx_.changed = true;
    send(Audience::all, pr::UsernameUpdatedEvent{member.user_id, member.username});
    record("USERNAME_CHANGED", member.user_id, {{"username", optional_string(member.username)}});
  }

  void on(const Actor&, Member& member, const pr::ToggleGuestControl& cmd) {
    if (!is_host(member)) {
      error(pr::ErrorCode::forbidden, "Only the host can change guest control");
      return;
    }
    state_.guest_control_enabled = cmd.enabled;
    fx_.changed = true;
    send(Audience::all, pr::GuestControlEvent{cmd.enabled});
    record("GUEST_CONTROL", member.user_id, {{"enabled", cmd.enabled}});
  }

  void on(const Actor&, Member& member, const pr::TransferHost& cmd) {
    if (!is_host(member)) {
      error(pr::ErrorCode::forbidden, "Only the host can transfer host");
      return;
    }
    if (state_.find_member(cmd.target_user_id) == nullptr) {
      error(pr::ErrorCode::bad_request, "targetUserId is not in the room");
      return;
    }
    const std::string from = state_.host_user_id;
    state_.host_user_id = cmd.target_user_id;
    fx_.changed = true;
    // Announced even when the target already is host: the request is confirmed to all.
    send(Audience::all, pr::HostChangedEvent{cmd.target_user_id});
    record("HOST_CHANGED", member.user_id,
           {{"from", from}, {"to", cmd.target_user_id}, {"reason", "transfer"}});
  }

  void on(const Actor&, Member& member, const pr::PlayPause& cmd) {
    if (!may_control(member)) return;
    // Without a position the room freezes (pause) or resumes (play) where it is now. A play
    // is scheduled `lead` ahead for members that follow the timeline (docs/SYNC.md); a pause
    // is where everyone stops.
    state_.current_time = cmd.current_time.value_or(state_.position(now_));
    state_.is_playing = cmd.control == pr::Control::play;
    state_.position_at = now_ + (state_.is_playing ? choose_lead(state_, config_.sync) : 0);
    fx_.changed = true;
    // The latest explicit intent wins over a pending SEEK's planned resume.
    drop_gate(GateOutcome::cancelled);
    send(Audience::all, pr::PlayPauseEvent{member.user_id, cmd.control, cmd.current_time,
                                           cmd.event_timestamp, timeline_of(state_)});
    record("PLAY_PAUSE", member.user_id,
           {{"control", control_name(cmd.control)}, {"currentTime", state_.current_time}});
  }

  void on(const Actor&, Member& member, const pr::Seek& cmd) {
    if (!may_control(member)) return;
    state_.current_time = cmd.current_time;
    state_.is_playing = false;
    state_.position_at = now_;
    fx_.changed = true;
    send(Audience::all, pr::SeekPauseEvent{member.user_id, cmd.current_time,
                                           cmd.event_timestamp.value_or(now_stamp())});
    drop_gate(GateOutcome::replaced);

    Gate gate;
    gate.id = state_.next_seq++;
    gate.opened_by = member.user_id;
    gate.expected = state_.connected_count();
    gate.quorum = quorum_for(config_.gate_quorum, gate.expected);
    gate.target = cmd.current_time;
    gate.desired_play = cmd.is_playing;
    gate.opened_at = now_;
    gate.deadline = now_ + config_.gate_timeout;
    fx_.timers.push_back(TimerRequest{TimerKind::gate, gate.id, {}, gate.deadline});
    state_.gate = std::move(gate);
    record("SEEK", member.user_id,
           {{"currentTime", cmd.current_time}, {"isPlaying", cmd.is_playing}});
  }

  void on(const Actor&, Member& member, const pr::Ready&) {
    if (!state_.gate) return;
    Gate& gate = *state_.gate;
    // Distinct members count once: a repeated READY changes nothing.
    if (std::find(gate.ready.begin(), gate.ready.end(), member.user_id) != gate.ready.end()) {
      return;
    }
    gate.ready.push_back(member.user_id);
    fx_.changed = true;
    if (gate.ready.size() >= gate.quorum) fire_gate(GateOutcome::quorum);
  }

  void on(const Actor&, Member& member, const pr::HostHeartbeat& cmd) {
    if (!is_host(member)) return;  // a guest's heartbeat is not authoritative: ignored
    // A host that follows the timeline reports where it is on it, not where the room is:
    // only an old client's heartbeat moves the room (and its untimed position is its own).
    if (!follows_timeline(member)) {
      state_.current_time = cmd.current_time;
      state_.is_playing = cmd.is_playing;
      state_.position_at = now_;
      member.current_time = cmd.current_time;
      member.is_playing = cmd.is_playing;
      member.position_sampled_at = 0;
    }
    member.last_heartbeat = now_;
    fx_.changed = true;
    fx_.coalesce = true;
    send(Audience::all, pr::HostHeartbeatEvent{member.user_id, cmd.current_time, cmd.is_playing,
                                               cmd.event_timestamp.value_or(now_stamp()),
                                               timeline_of(state_)});
  }

  void on(const Actor&, Member& member, const pr::PositionUpdate& cmd) {
    // The old server ignored position 0 (a player still loading reports 0); so do we,
    // heartbeat included, to keep the same liveness behaviour.
    if (cmd.current_time == 0) return;
    member.current_time = cmd.current_time;
    member.is_playing = cmd.is_playing;
    member.last_heartbeat = now_;
    member.position_sampled_at = timed(cmd.sampled_at);
    if (is_host(member) && !follows_timeline(member)) {
      state_.current_time = cmd.current_time;
      state_.is_playing = cmd.is_playing;
      state_.position_at = now_;
    }
    fx_.changed = true;
    fx_.coalesce = true;
    // Each usable timed report measures the playing room once (with the others' latest).
    const Millis fresh = config_.sync.report_fresh_for;
    if (state_.is_playing && timeline_offset(state_, member, now_, fresh)) {
      fx_.sync_spread = sync_spread(state_, now_, fresh);
    }
  }

  // A report's sampledAt as kept (ms), or 0 (untimed) when it cannot be right: the client's
  // estimate of server time may be a little ahead, never seconds, and an old sample says
  // nothing fresh.
  Millis timed(std::optional<double> sampled_at) const noexcept {
    constexpr double kAheadAllowed = 1000;
    if (!sampled_at || *sampled_at > static_cast<double>(now_) + kAheadAllowed ||
        *sampled_at < static_cast<double>(now_ - config_.sync.report_fresh_for)) {
      return 0;
    }
    return static_cast<Millis>(std::llround(*sampled_at));
  }

  void on(const Actor&, Member& member, const pr::UrlChange& cmd) {
    if (!may_control(member)) return;
    state_.url = cmd.url;
    state_.current_time = cmd.current_time.value_or(0);
    state_.position_at = now_;
    fx_.changed = true;
    drop_gate(GateOutcome::cancelled);  // a seek in the old video means nothing now
    send(Audience::all, pr::UrlChangeEvent{member.user_id, cmd.url, state_.current_time});
    record("URL_CHANGE", member.user_id, {{"url", cmd.url}, {"currentTime", state_.current_time}});
  }

  void on(const Actor&, Member& member, const pr::RequestSync&) {
    pr::SyncResponseEvent response{state_.position(now_), state_.is_playing, state_.url};
    if (follows_timeline(member)) response.timeline = timeline_of(state_);
    reply(std::move(response));
  }

  // The connection answers CLOCK_REQUEST itself with a sub-millisecond clock (net/); should
  // one reach the room anyway, it is still answered, with the room's millisecond clock.
  void on(const Actor&, Member&, const pr::ClockRequest& cmd) {
    reply(pr::ClockReplyEvent{cmd.seq, cmd.client_time, now_stamp(), now_stamp()});
  }

  // A CLOCK_ACK reaches the room only when the connection's round-trip estimate moved:
  // the lead of scheduled starts (choose_lead) reads it from here, on any node.
  void on(const Actor&, Member& member, const pr::ClockAck& cmd) {
    member.last_heartbeat = now_;
    if (cmd.server_rtt_ms) member.rtt_ms = *cmd.server_rtt_ms;
    fx_.changed = true;
    fx_.coalesce = true;
  }

  void on(const Actor&, Member& member, const pr::Relay& cmd) {
    const Member* target = state_.find_member(cmd.to);
    if (target == nullptr || !target->connected) {
      fx_.relay_dropped = true;
      return;
    }
    json::object message = cmd.message;
    // The real sender overrides whatever the client wrote (fix): clients read userId.
    set_reserved_fields(message, PassThroughKind::relay, member.user_id, now_);
    send(Audience::user, pr::PassThroughEvent{std::move(message), false}, target->user_id);
  }

  void on(const Actor&, Member& member, const pr::Fallback& cmd) {
    // A SYNC_RESPONSE from a guest would seek everyone as surely as its SEEK would.
    if (steers_playback(cmd.type) && !may_control(member)) return;
    json::object message = cmd.message;
    set_reserved_fields(message, PassThroughKind::broadcast, member.user_id, now_);
    send(Audience::all, pr::PassThroughEvent{std::move(message), true});
  }

  const RoomConfig& config_;
  const PinHasher& hasher_;
  RoomState& state_;
  Millis now_;
  Effects fx_;
};

}  // namespace

Effects RoomMachine::apply(RoomState& state, const Actor& actor, const pr::Command& command,
                           Millis now) const {
  Step step(config_, hasher_, state, now);
  step.apply(actor, command);
  return step.finish();
}

Effects RoomMachine::disconnect(RoomState& state, std::string_view user_id,
                                std::string_view peer_id, Millis now) const {
  Step step(config_, hasher_, state, now);
  step.disconnect(user_id, peer_id);
  return step.finish();
}

Effects RoomMachine::remove_member(RoomState& state, std::string_view user_id, LeaveReason reason,
                                   Millis now) const {
  Step step(config_, hasher_, state, now);
  // `left` tells the caller to unbind the member's connection, if it still holds one.
  step.effects().left = step.remove(user_id, reason);
  return step.finish();
}

Effects RoomMachine::on_timer(RoomState& state, TimerKind kind, std::uint64_t token,
                              std::string_view user_id, Millis now) const {
  Step step(config_, hasher_, state, now);
  step.on_timer(kind, token, user_id);
  return step.finish();
}

Effects RoomMachine::sweep(RoomState& state, Millis now) const {
  Step step(config_, hasher_, state, now);
  step.sweep();
  return step.finish();
}

std::string_view to_string(LeaveReason reason) noexcept {
  switch (reason) {
    case LeaveReason::left:
      return "left";
    case LeaveReason::grace_expired:
      return "grace_expired";
    case LeaveReason::stale:
      return "stale";
    case LeaveReason::node_dead:
      return "node_dead";
  }
  return "left";
}

}  // namespace tandem::room
