#pragma once
// GET one path on a fresh connection, as a load balancer's probe does.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tandem::bench {

// done(status, error, body_bytes): status 0 when the request failed (error says why) or
// timed out. Bodies up to 64 MB are read.
void http_get(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& server,
              std::string path, std::chrono::milliseconds timeout,
              std::function<void(int status, std::string_view error, std::size_t body_bytes)> done);

}  // namespace tandem::bench
