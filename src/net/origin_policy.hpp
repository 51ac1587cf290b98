#pragma once
// Which web origins may open a WebSocket (ALLOWED_ORIGINS; docs/SECURITY.md, "Origin
// policy"). Pure: parsing and matching, no IO.
//
// A browser sends the Origin of the page that opens a WebSocket and the page cannot change
// it, so the list stops other sites from using this server through their visitors'
// browsers. A program other than a browser can send any Origin, or none: an absent Origin
// is always let in (refusing it would stop no attacker, only command-line clients).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::net {

class OriginPolicy {
 public:
  // The bounded label set of tandem_ws_origins_total{verdict}.
  enum class Verdict {
    allowed,   // listed, `*`, or the server's own origin (PUBLIC_URL)
    absent,    // no Origin header: not a browser
    unlisted,  // not listed, let in because no list is configured (counted and logged)
    refused,   // not listed: 403
  };
  static constexpr const char* kVerdictLabels[] = {"allowed", "absent", "unlisted", "refused"};
  static const char* label(Verdict verdict) noexcept {
    return kVerdictLabels[static_cast<int>(verdict)];
  }

  OriginPolicy() = default;  // no list: every origin let in

  // Comma-separated origins, white space around items ignored: `scheme://host[:port]`
  // (`https://tandem.watch`, `chrome-extension://<id>`, `http://[::1]:4001`), or `*`
  // (any origin, explicitly). Empty = no list. Compared case-insensitively; a trailing
  // slash is dropped. A path, query, user info or an empty host is refused: an origin has
  // none. On error: nullopt, and *why names the bad item.
  static std::optional<OriginPolicy> parse(std::string_view text, std::string* why = nullptr);

  // `origin`: the request's Origin header ("" when absent). `own_origin`: the server's own
  // (PUBLIC_URL's), whose pages (/demo) are always allowed.
  Verdict check(std::string_view origin, std::string_view own_origin) const;

  bool configured() const noexcept { return any_ || !origins_.empty(); }

 private:
  bool any_ = false;
  std::vector<std::string> origins_;  // lower-cased
};

}  // namespace tandem::net
