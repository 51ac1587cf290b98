#pragma once
// Which address a request comes from (docs/SECURITY.md, "Client addresses"). Pure: no IO.
//
// The TCP peer is the client unless it is a trusted proxy (TRUSTED_PROXIES). Behind trusted
// proxies, X-Forwarded-For lists the hops, each proxy appending the address it received the
// request from; the client is the right-most address that is not itself a trusted proxy.
// Everything left of it was written by the client or an untrusted hop and may be forged,
// so it is never read. From an untrusted peer the header is ignored altogether.
#include "net/address_set.hpp"

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string_view>

namespace tandem::net {

// One X-Forwarded-For element: "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]"
// or "[2001:db8::1]:443" (white space around it ignored). nullopt for anything else
// ("unknown", obfuscated identifiers, garbage).
std::optional<boost::asio::ip::address> parse_forwarded_element(std::string_view text);

// `forwarded_for`: every X-Forwarded-For value of the request joined with commas, in the
// order received (empty when there is none). When the right-most untrusted element is not
// an address, the nearest trusted hop is the answer: a proxy that writes garbage is a
// misconfiguration, and its own address is the most that can be said. When every element
// is a trusted proxy, the left-most one is the answer.
boost::asio::ip::address resolve_client_address(const boost::asio::ip::address& peer,
                                                std::string_view forwarded_for,
                                                const AddressSet& trusted_proxies);

}  // namespace tandem::net
