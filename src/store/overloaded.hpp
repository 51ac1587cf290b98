#pragma once
// std::visit over a JournalEntry with one lambda per alternative.

namespace tandem::store {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace tandem::store
