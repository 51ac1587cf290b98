// Names of message types, commands and events: all read from kMessageTypes.
#include "protocol/message_types.hpp"

#include "protocol/command.hpp"
#include "protocol/event.hpp"

#include <boost/json/value.hpp>

#include <type_traits>
#include <utility>
#include <variant>

namespace tandem::protocol {
namespace {

// std::visit for a visitor returning string_view, minus the bad_variant_access path, so the
// *_type() functions can be noexcept: a valueless variant (possible only after a throwing
// assignment) simply has no name.
template <class Variant, class Visitor, std::size_t... I>
std::string_view visit_name(const Variant& variant, const Visitor& visitor,
                            std::index_sequence<I...> /*unused*/) noexcept {
  std::string_view name;
  (void)((variant.index() == I && (name = visitor(*std::get_if<I>(&variant)), true)) || ...);
  return name;
}

template <class Variant, class Visitor>
std::string_view visit_name(const Variant& variant, const Visitor& visitor) noexcept {
  return visit_name(variant, visitor, std::make_index_sequence<std::variant_size_v<Variant>>{});
}

std::vector<std::string> names_sent_by(Sender sender) {
  std::vector<std::string> names;
  for (const MessageTypeInfo& row : kMessageTypes) {
    if (row.sender == sender || row.sender == Sender::both) names.emplace_back(row.name);
  }
  return names;
}

}  // namespace

std::optional<MessageType> find_message_type(std::string_view name) noexcept {
  for (const MessageTypeInfo& row : kMessageTypes) {
    if (row.name == name) return row.type;
  }
  return std::nullopt;
}

std::vector<std::string> inbound_type_names() { return names_sent_by(Sender::client); }

std::vector<std::string> outbound_type_names() { return names_sent_by(Sender::server); }

std::string_view command_type(const Command& command) noexcept {
  return visit_name(command, [](const auto& cmd) noexcept -> std::string_view {
    using T = std::decay_t<decltype(cmd)>;
    if constexpr (std::is_same_v<T, Relay>) {
      return wire_name(cmd.kind);
    } else if constexpr (std::is_same_v<T, Fallback>) {
      return cmd.type;
    } else {
      return wire_name(T::kType);
    }
  });
}

std::string_view event_type(const Event& event) noexcept {
  return visit_name(event, [](const auto& e) noexcept -> std::string_view {
    using T = std::decay_t<decltype(e)>;
    if constexpr (std::is_same_v<T, PassThroughEvent>) {
      const boost::json::value* type = e.message.if_contains("type");
      if (type != nullptr && type->is_string()) return type->get_string();
      return {};
    } else {
      return wire_name(T::kType);
    }
  });
}

}  // namespace tandem::protocol
