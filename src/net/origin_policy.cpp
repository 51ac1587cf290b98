#include "net/origin_policy.hpp"

#include "net/address_set.hpp"

#include <boost/algorithm/string/case_conv.hpp>

#include <algorithm>
#include <cctype>

namespace tandem::net {

namespace {

std::string lower(std::string_view text) {
  return boost::algorithm::to_lower_copy(std::string(text));
}

bool is_scheme_char(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

bool is_authority_char(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == ':' ||
         c == '[' || c == ']' || c == '_';
}

// Why `origin` (lower-cased, trailing slash dropped) is not `scheme://authority`, or "".
std::string_view origin_problem(std::string_view origin) {
  const std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return "not scheme://host[:port]";
  const std::string_view scheme = origin.substr(0, sep);
  if (std::isalpha(static_cast<unsigned char>(scheme.front())) == 0 ||
      !std::all_of(scheme.begin(), scheme.end(), is_scheme_char)) {
    return "not a URL scheme";
  }
  const std::string_view authority = origin.substr(sep + 3);
  if (authority.empty() || authority.front() == ':') return "no host";
  if (!std::all_of(authority.begin(), authority.end(), is_authority_char)) {
    return "an origin has no path, query or user info";
  }
  return {};
}

}  // namespace

std::optional<OriginPolicy> OriginPolicy::parse(std::string_view text, std::string* why) {
  OriginPolicy policy;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view raw = trim_ows(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    std::string item = lower(raw);
    if (item.size() > 1 && item.back() == '/') item.pop_back();
    if (item == "*") {
      policy.any_ = true;
      continue;
    }
    const std::string_view problem = item.empty() ? "empty item" : origin_problem(item);
    if (!problem.empty()) {
      if (why != nullptr) {
        why->assign(1, '"');
        why->append(raw);
        why->append("\": ");
        why->append(problem);
      }
      return std::nullopt;
    }
    policy.origins_.push_back(std::move(item));
  }
  return policy;
}

OriginPolicy::Verdict OriginPolicy::check(std::string_view origin,
                                          std::string_view own_origin) const {
  if (origin.empty()) return Verdict::absent;
  const std::string key = lower(origin);
  if (any_ || key == lower(own_origin) ||
      std::find(origins_.begin(), origins_.end(), key) != origins_.end()) {
    return Verdict::allowed;
  }
  return configured() ? Verdict::refused : Verdict::unlisted;
}

}  // namespace tandem::net
